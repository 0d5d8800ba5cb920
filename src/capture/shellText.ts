/**
 * Writing shell source inside TypeScript. `sh` is a tagged template that keeps backslashes
 * as written (like `String.raw`, so `printf '%s\n'` stays `\n`) and turns `\${` into `${`, so
 * shell parameter expansions are written `\${VAR%%.*}` while `${expr}` still interpolates a
 * TypeScript value.
 */
export function sh(strings: TemplateStringsArray, ...values: readonly (string | number)[]): string {
  let out = '';
  strings.raw.forEach((raw, i) => {
    out += raw.replaceAll('\\${', '${');
    if (i < values.length) out += String(values[i]);
  });
  return out;
}

/** A single-quoted shell word: `it's` becomes `'it'\''s'`. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** `6.6.59` as a shell-function suffix: `6_6_59`. */
export function shellId(text: string): string {
  return text.replaceAll(/[^A-Za-z0-9]/g, '_');
}
