/**
 * The record of a `trace-cmd report` event line from the columns the WebAssembly skimmer found
 * on its bytes (wasm/ftraceSkim.ts, `skipTraceCmdLine`, which takes the steps of the string
 * grammar, traceCmdLine.ts): the line is decoded once, for its text, and its fields are
 * slices of that text at the columns' positions; numbers are read on the bytes. It is the
 * record `parseTraceCmdLine` makes of the line (a property test holds the two to it).
 *
 * All delimiters the grammar tests are ASCII, and no byte of a multi-byte UTF-8 character
 * (nor U+FFFD, for an invalid byte) is one, so the columns are at the same places in the
 * bytes as in the text whenever every byte decoded to one character; where one did not, the
 * string grammar reads the line.
 */
import { char0, charOpenParen } from '../charCodes.js';
import { utf8Text } from '../bufferText.js';
import { isDigitByte, readTimestampBytes } from '../ftrace/ftraceColumns.js';
import type { SkimmedColumns } from '../lines/lineRecords.js';
import type { EventRecord, SourceSpan } from '../records.js';
import { latencyTaskWidth, taskOf, taskWidth } from './traceCmdLine.js';

/** `parseDigits` then `Number.isSafeInteger`, as the grammar takes a PID or CPU; -1 if not. */
function countIn(buf: Buffer, start: number, end: number): number {
  if (end <= start) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const code = buf[i] as number;
    if (!isDigitByte(code)) return -1;
    value = value * 10 + (code - char0);
  }
  return Number.isSafeInteger(value) ? value : -1;
}

/** One line's columns as `load` took them from the skimmer (byte offsets into its buffer), and the numbers read there. */
export class TraceCmdColumns implements SkimmedColumns {
  /** The first byte that is not a blank: where the task column starts. */
  first = 0;
  /** The `-` before the PID. */
  dash = 0;
  pid = 0;
  cpu = 0;
  /** The -l shape's flags, `[flagsStart, flagsEnd)`; flagsStart -1 in the default shape. */
  flagsStart = -1;
  flagsEnd = -1;
  /** The comm column's width in this shape (`taskOf`). */
  width = 0;
  nameStart = 0;
  nameEnd = 0;
  /** Where the body starts, past the name's padding; `end` for none. */
  bodyStart = 0;
  opensWithLocation = false;
  /** The timestamp read: whole microseconds, and nanoseconds past them. */
  us = 0;
  ns = 0;

  /**
   * Takes the columns the skimmer found for `buf[start, end)` (offsets from `start` at
   * `columns[at...]`, in the order of wasm/ftraceSkim.ts's `traceCmd...` slots: first, dash,
   * PID end, CPU start and end, flags start and end, time column start and end, name start
   * and end, body start); false where it found none, or where the numbers it leaves to
   * computing (PID, CPU, the stamp read to exactly its column) are none the grammar takes.
   */
  load(buf: Buffer, start: number, end: number, columns: Int32Array, at: number): boolean {
    const first = columns[at] as number;
    if (first < 0) return false;
    const dash = start + (columns[at + 1] as number);
    const pid = countIn(buf, dash + 1, start + (columns[at + 2] as number));
    const cpu = countIn(buf, start + (columns[at + 3] as number), start + (columns[at + 4] as number));
    if (pid < 0 || cpu < 0) return false;
    if (!readTimestampBytes(buf, start + (columns[at + 7] as number), start + (columns[at + 8] as number), this)) return false;
    const flagsStart = columns[at + 5] as number;
    this.dash = dash;
    this.pid = pid;
    this.cpu = cpu;
    this.flagsStart = flagsStart < 0 ? -1 : start + flagsStart;
    this.flagsEnd = flagsStart < 0 ? -1 : start + (columns[at + 6] as number);
    this.width = flagsStart < 0 ? taskWidth : latencyTaskWidth;
    this.first = start + first;
    this.nameStart = start + (columns[at + 9] as number);
    this.nameEnd = start + (columns[at + 10] as number);
    const bodyStart = start + (columns[at + 11] as number);
    this.bodyStart = bodyStart;
    this.opensWithLocation = bodyStart < end && buf[bodyStart] === charOpenParen;
    return true;
  }

  /** SkimmedColumns.record: the string grammar's record of the line last loaded. */
  record(buf: Buffer, start: number, end: number, span: SourceSpan, name: string): EventRecord | undefined {
    const text = utf8Text(buf, start, end);
    if (text.length !== end - start) return undefined;
    const task = taskOf(text, this.first - start, this.dash - start, this.width);
    const flags = this.flagsStart < 0 ? undefined : text.slice(this.flagsStart - start, this.flagsEnd - start);
    const body = this.bodyStart < end ? text.slice(this.bodyStart - start) : '';
    // The fields of parseTraceCmdLine's record, in its order.
    return { type: 'event', span, text, task, pid: this.pid, tgid: undefined, cpu: this.cpu, flags, tsUs: this.us, tsNs: this.ns, name, body };
  }
}
