/**
 * Whether a line that is no trace line holds binary data rather than text: a control
 * character other than a tab, or bytes that were not UTF-8 (read as U+FFFD). Random bytes,
 * a compressed file other than gzip or trace-cmd's binary `trace.dat` read as text give such
 * lines; a wrong format or a CSV of other columns gives text.
 */
export function isBinaryText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f || code === 0xfffd) return true;
  }
  return false;
}
