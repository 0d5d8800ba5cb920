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

  /** Feeds one chunk; calls `emit` for every line it completes. */
  push(chunk: Uint8Array, emit: (line: RawLine) => void): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(newline, start);
      if (nl === -1) {
        this.hold(buf.subarray(start));
        return;
      }
      if (this.pendingBytes === 0 && !this.skippingOverlong) this.finishWholeLine(buf, start, nl, emit);
      else this.finishLine(buf.subarray(start, nl), nl - start + 1, emit);
      start = nl + 1;
    }
  }

  /** Emits the last line when the input did not end with a newline. */
  end(emit: (line: RawLine) => void): void {
    if (this.pendingBytes > 0 || this.skippingOverlong) this.finishLine(Buffer.alloc(0), 0, emit);
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
   * The common case, a line wholly inside one chunk: decoded straight from the chunk, with no
   * Buffer view or concatenation per line (the same result as finishLine with nothing pending).
   */
  private finishWholeLine(buf: Buffer, start: number, nl: number, emit: (line: RawLine) => void): void {
    this.lineNumber += 1;
    let end = nl;
    if (end > start && buf[end - 1] === carriageReturn) end -= 1;
    let truncated = false;
    if (end - start > this.maxLineBytes) {
      end = start + this.maxLineBytes;
      truncated = true;
    }
    emit({ text: buf.toString('utf8', start, end), line: this.lineNumber, offset: this.lineOffset, truncated });
    this.lineOffset += nl - start + 1;
  }

  private finishLine(tail: Buffer, tailBytesWithNewline: number, emit: (line: RawLine) => void): void {
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
    emit({ text: bytes.toString('utf8', 0, end), line: this.lineNumber, offset: this.lineOffset, truncated });
    this.lineOffset += totalBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.skippingOverlong = false;
  }
}
