/**
 * Splits a stream of byte chunks into lines with their 1-based number and byte offset,
 * whatever the chunk boundaries (a line may span many chunks, a chunk many lines).
 * Memory stays bounded: a line longer than `maxLineBytes` (not counting its LF or CRLF ending)
 * is cut there and flagged, and the rest of it is skipped up to the next newline.
 */

export interface RawLine {
  readonly text: string;
  readonly line: number;
  readonly offset: number;
  /** True when the line was longer than the limit and only its head is in `text`. */
  readonly truncated: boolean;
}

/**
 * Receives one line as `bytes[start, end)`, without its LF or CRLF ending; the bytes are valid
 * only during the call (the chunk may be reused).
 */
export type LineSink = (bytes: Buffer, start: number, end: number, line: number, offset: number, truncated: boolean) => void;

export const defaultMaxLineBytes = 1 << 20;

const newline = 0x0a;
const carriageReturn = 0x0d;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lineNumber = 0;
  private lineOffset = 0;
  private skippingOverlong = false;

  constructor(private readonly maxLineBytes = defaultMaxLineBytes) {}

  /** Feeds one chunk; calls `emit` for every line it completes, decoded as UTF-8. */
  push(chunk: Uint8Array, emit: (line: RawLine) => void): void {
    this.pushBytes(chunk, (bytes, start, end, line, offset, truncated) => emit({ text: bytes.toString('utf8', start, end), line, offset, truncated }));
  }

  /** Emits the last line when the input did not end with a newline. */
  end(emit: (line: RawLine) => void): void {
    this.endBytes((bytes, start, end, line, offset, truncated) => emit({ text: bytes.toString('utf8', start, end), line, offset, truncated }));
  }

  /**
   * Feeds one chunk; calls `sink` with the bytes of every line it completes, undecoded (a line
   * wholly inside the chunk is a range of the chunk itself: nothing is copied or allocated).
   */
  pushBytes(chunk: Uint8Array, sink: LineSink): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(newline, start);
      if (nl === -1) {
        this.hold(buf.subarray(start));
        return;
      }
      if (this.pendingBytes === 0 && !this.skippingOverlong) this.finishWholeLine(buf, start, nl, sink);
      else this.finishLine(buf.subarray(start, nl), nl - start + 1, sink);
      start = nl + 1;
    }
  }

  /** `end` for `pushBytes`. */
  endBytes(sink: LineSink): void {
    if (this.pendingBytes > 0 || this.skippingOverlong) this.finishLine(Buffer.alloc(0), 0, sink);
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    if (this.skippingOverlong) {
      this.pendingBytes += part.length;
      return;
    }
    // One byte beyond the limit is kept: it may be the CR of a CRLF ending, not content.
    const room = this.maxLineBytes + 1 - this.pendingBytes;
    if (part.length > room) {
      this.pending.push(Buffer.from(part.subarray(0, room)));
      this.pendingBytes += part.length;
      this.skippingOverlong = true;
      return;
    }
    // Copy: the caller may reuse its chunk buffer.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  /**
   * The common case, a line wholly inside one chunk: handed on as a range of the chunk, with no
   * Buffer view or concatenation per line (the same result as finishLine with nothing pending).
   */
  private finishWholeLine(buf: Buffer, start: number, nl: number, sink: LineSink): void {
    this.lineNumber += 1;
    let end = nl;
    if (end > start && buf[end - 1] === carriageReturn) end -= 1;
    let truncated = false;
    if (end - start > this.maxLineBytes) {
      end = start + this.maxLineBytes;
      truncated = true;
    }
    sink(buf, start, end, this.lineNumber, this.lineOffset, truncated);
    this.lineOffset += nl - start + 1;
  }

  private finishLine(tail: Buffer, tailBytesWithNewline: number, sink: LineSink): void {
    this.lineNumber += 1;
    let bytes: Buffer;
    let truncated = this.skippingOverlong;
    if (this.pending.length === 0) {
      bytes = tail;
    } else if (truncated) {
      bytes = Buffer.concat(this.pending);
    } else {
      this.pending.push(tail);
      bytes = Buffer.concat(this.pending);
    }
    let end = bytes.length;
    // The limit applies to the line's content: a CRLF ending does not count against it.
    if (!truncated && end > 0 && bytes[end - 1] === carriageReturn) end -= 1;
    if (truncated || end > this.maxLineBytes) {
      end = this.maxLineBytes;
      truncated = true;
    }
    const totalBytes = this.pendingBytes + tailBytesWithNewline;
    sink(bytes, 0, end, this.lineNumber, this.lineOffset, truncated);
    this.lineOffset += totalBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.skippingOverlong = false;
  }
}
