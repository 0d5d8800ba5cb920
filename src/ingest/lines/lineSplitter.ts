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
 * only during the call (the chunk may be reused). A line a `WholeLinesReader` handed on may
 * come with the positions of its columns, found on the way: `columns[columnsAt...]`
 * (FtraceColumns.load), valid only during the call too.
 */
export type LineSink = (bytes: Buffer, start: number, end: number, line: number, offset: number, truncated: boolean, columns?: Int32Array, columnsAt?: number) => void;

/**
 * Reads the whole lines in `buf[start, end)` (`end` is just past a newline; the first of them is
 * line `firstLine`, at byte `firstOffset`) in bulk, passing to `sinkLine` the start, newline,
 * number and offset of each line it leaves to the `LineSink`, with its columns where it found
 * them; returns how many lines there were.
 */
export type WholeLinesReader = (
  buf: Buffer,
  start: number,
  end: number,
  firstLine: number,
  firstOffset: number,
  sinkLine: (lineStart: number, newline: number, line: number, offset: number, columns?: Int32Array, columnsAt?: number) => void,
) => number;

export const defaultMaxLineBytes = 1 << 20;

/** A line's start in the input: its 1-based number and byte offset. */
export interface InputPosition {
  readonly line: number;
  readonly offset: number;
}

const newline = 0x0a;
const carriageReturn = 0x0d;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lineNumber: number;
  private lineOffset: number;
  private skippingOverlong = false;

  /** `start`: where the bytes begin in the input (a line's start), when not at its beginning. */
  constructor(
    private readonly maxLineBytes = defaultMaxLineBytes,
    start: InputPosition = { line: 1, offset: 0 },
  ) {
    this.lineNumber = start.line - 1;
    this.lineOffset = start.offset;
  }

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
   * With `wholeLines`, the lines wholly inside the chunk go to it first, and to `sink` only
   * those it hands back.
   */
  pushBytes(chunk: Uint8Array, sink: LineSink, wholeLines?: WholeLinesReader): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    if (wholeLines !== undefined) start = this.pushWholeLines(buf, sink, wholeLines);
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

  /** Completes the line under way, then gives `wholeLines` every line wholly inside `buf`; returns where the rest starts. */
  private pushWholeLines(buf: Buffer, sink: LineSink, wholeLines: WholeLinesReader): number {
    let start = 0;
    if (this.pendingBytes > 0 || this.skippingOverlong) {
      const nl = buf.indexOf(newline);
      if (nl === -1) return 0;
      this.finishLine(buf.subarray(0, nl), nl + 1, sink);
      start = nl + 1;
    }
    const last = buf.lastIndexOf(newline);
    if (last < start) return start;
    const lines = wholeLines(buf, start, last + 1, this.lineNumber + 1, this.lineOffset, (lineStart, nl, line, offset, columns, columnsAt) =>
      this.sendWholeLine(buf, lineStart, nl, line, offset, sink, columns, columnsAt),
    );
    this.lineNumber += lines;
    this.lineOffset += last + 1 - start;
    return last + 1;
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
    this.sendWholeLine(buf, start, nl, this.lineNumber, this.lineOffset, sink);
    this.lineOffset += nl - start + 1;
  }

  /** The line `buf[start, nl)`, numbered `line` at byte `offset`, without its ending, cut at the limit. */
  private sendWholeLine(buf: Buffer, start: number, nl: number, line: number, offset: number, sink: LineSink, columns?: Int32Array, columnsAt?: number): void {
    let end = nl;
    if (end > start && buf[end - 1] === carriageReturn) end -= 1;
    let truncated = false;
    if (end - start > this.maxLineBytes) {
      end = start + this.maxLineBytes;
      truncated = true;
    }
    sink(buf, start, end, line, offset, truncated, columns, columnsAt);
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
