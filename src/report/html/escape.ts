/** Every string from a trace reaches the HTML report through one of these. */

const htmlEntities: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (char) => htmlEntities[char] as string);
}

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` as `\u` escapes, so
 * no string in it can close the element (`</script>`) or open a comment (`<!--`); U+2028 and
 * U+2029 too, which older parsers took for line ends.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A trace time as the trace prints it, `secs.usecs`. */
export function traceTime(tsUs: number): string {
  const seconds = Math.floor(tsUs / 1e6);
  return `${seconds}.${String(tsUs - seconds * 1e6).padStart(6, '0')}`;
}
