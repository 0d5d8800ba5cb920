/**
 * Text of a byte range, for the per-line hot paths. `buf.toString('utf8', start, end)` first
 * checks its arguments and picks the decoder in JavaScript (`slice` in node:buffer), which on
 * a line costs about as much as the decoding. Node's Buffer has the UTF-8 decoder itself as a
 * method, called here directly where it exists. Callers pass a range inside `buf`,
 * `start <= end`.
 */
interface Utf8Slicing {
  utf8Slice(start: number, end: number): string;
}

export const utf8Text: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Partial<Utf8Slicing>).utf8Slice === 'function'
    ? (buf, start, end) => (buf as unknown as Utf8Slicing).utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);
