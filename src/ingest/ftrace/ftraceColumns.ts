/**
 * The record of an ftrace event line from the columns the WebAssembly skimmer found on its
 * bytes (wasm/ftraceSkim.ts, `skipLine`, which checks them as the string grammar does):
 *
 *   qemu-system-aar-4711 [003] d..1. 1520.114223: upd: (kvm_arm_vmid_update+0x0/0x1d0) ...
 *         vmchurn-188     (    188) [000] d....     4.278438: init_vm: ...     (record-tgid)
 *         bash-1234  [001]  1520.114223: ...                                  (irq-info off)
 *
 * The line is decoded once, for its text, and its fields are slices of that text at the
 * columns' positions; numbers are read on the bytes. It is the record `parseFtraceLine` makes
 * of the line (a property test holds the two to it), so which path read a line never shows.
 *
 * All delimiters are ASCII, and no byte of a multi-byte UTF-8 character is ASCII, so the
 * columns are at the same places in the bytes as in the text whenever every byte decoded to
 * one character; where one did not, the string grammar reads the line.
 */
import { char0, char9, charDot, charOpenParen, charSpace, charTab } from '../charCodes.js';
import { utf8Text } from '../bufferText.js';
import type { SkimmedColumns } from '../lines/lineRecords.js';
import type { EventRecord, SourceSpan } from '../records.js';
import { nsPerFractionUnit } from './ftraceLine.js';

export function isDigitByte(code: number): boolean {
  return code >= char0 && code <= char9;
}

/** The value of the digits in `[start, end)` (checked to be digits already). */
function digitsValue(buf: Uint8Array, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 10 + ((buf[i] as number) - char0);
  return value;
}

/** The blanks String.prototype.trim() drops, in ASCII: TAB to CR, and space. */
function isTrimmedByte(code: number): boolean {
  return code === charSpace || (code >= charTab && code <= 0x0d);
}

/**
 * One line's column positions (byte offsets into the buffer it was found in; -1 where an
 * optional column is absent), as `load` took them from the skimmer.
 */
export class FtraceColumns implements SkimmedColumns {
  /** The first byte that is not a blank: where the task name starts. */
  first = 0;
  /** The `[` and `]` of the CPU column. */
  open = 0;
  close = 0;
  /** The `-` before the PID, and where the PID ends. */
  dash = 0;
  pidEnd = 0;
  /** The `(` and `)` of a record-tgid column; -1 without one. */
  tgidOpen = -1;
  tgidClose = -1;
  /** The flags column (`d..1.`); -1 without one. */
  flagsStart = -1;
  flagsEnd = -1;
  /** `SECS.FRAC`, without its colon. */
  stampStart = 0;
  stampEnd = 0;
  /** The event name, up to the `: ` before the body. */
  nameStart = 0;
  nameEnd = 0;
  opensWithLocation = false;
  /** The timestamp `record` read: whole microseconds, and nanoseconds past them. */
  us = 0;
  ns = 0;

  /**
   * Takes the columns the skimmer found for the line `buf[start, end)`: `handedColumnCount`
   * offsets from `from[at]` on, relative to the line's start. False when it found none (-1
   * first).
   */
  load(buf: Buffer, start: number, end: number, from: Int32Array, at: number): boolean {
    const first = from[at] as number;
    if (first < 0) return false;
    this.first = first + start;
    this.open = (from[at + 1] as number) + start;
    this.close = (from[at + 2] as number) + start;
    this.dash = (from[at + 3] as number) + start;
    this.pidEnd = (from[at + 4] as number) + start;
    const tgidOpen = from[at + 5] as number;
    this.tgidOpen = tgidOpen < 0 ? -1 : tgidOpen + start;
    this.tgidClose = tgidOpen < 0 ? -1 : (from[at + 6] as number) + start;
    const flagsStart = from[at + 7] as number;
    this.flagsStart = flagsStart < 0 ? -1 : flagsStart + start;
    this.flagsEnd = flagsStart < 0 ? -1 : (from[at + 8] as number) + start;
    this.stampStart = (from[at + 9] as number) + start;
    this.stampEnd = (from[at + 10] as number) + start;
    this.nameStart = (from[at + 11] as number) + start;
    this.nameEnd = (from[at + 12] as number) + start;
    const bodyStart = this.nameEnd + 2;
    this.opensWithLocation = bodyStart < end && buf[bodyStart] === charOpenParen;
    return true;
  }

  /** SkimmedColumns.record: the string grammar's record of the line last loaded. */
  record(buf: Buffer, start: number, end: number, span: SourceSpan, name: string): EventRecord | undefined {
    // Always a timestamp: the skimmer hands over the columns of no line whose stamp must be computed to be known good.
    if (!readTimestampBytes(buf, this.stampStart, this.stampEnd, this)) return undefined;
    const text = utf8Text(buf, start, end);
    if (text.length !== end - start) return undefined;
    const task = text.slice(this.first - start, this.dash - start);
    const flags = this.flagsStart < 0 ? undefined : text.slice(this.flagsStart - start, this.flagsEnd - start);
    const body = text.slice(this.nameEnd + 2 - start);
    const pid = digitsValue(buf, this.dash + 1, this.pidEnd);
    const cpu = digitsValue(buf, this.open + 1, this.close);
    const tgid = this.tgidOpen < 0 ? undefined : tgidBetween(buf, this.tgidOpen + 1, this.tgidClose);
    // Same fields, same order as parseFtraceLine's record: one object shape for both paths.
    return { type: 'event', span, text, task, pid, tgid, cpu, flags, tsUs: this.us, tsNs: this.ns, name, body };
  }
}

/** The TGID inside `(...)`, blanks around it allowed; null when it is not a number (`-----`). */
function tgidBetween(buf: Uint8Array, start: number, end: number): number | null {
  while (start < end && isTrimmedByte(buf[start] as number)) start++;
  while (end > start && isTrimmedByte(buf[end - 1] as number)) end--;
  if (end === start) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const code = buf[i] as number;
    if (!isDigitByte(code)) return null;
    value = value * 10 + (code - char0);
  }
  return value;
}

/**
 * Reads the timestamp that is all of `[start, end)`, `SECS.FRAC` or a bare counter, into
 * `into.us`/`into.ns`, with the string grammar's rules (parseTimestamp): 1 to 9 fraction
 * digits, safe integers only; false where those rules give no timestamp (`into` is then left
 * as it was). The record makers of both line grammars read their time column with it.
 */
export function readTimestampBytes(buf: Uint8Array, start: number, end: number, into: { us: number; ns: number }): boolean {
  let secs = 0;
  let i = start;
  while (i < end && isDigitByte(buf[i] as number)) secs = secs * 10 + ((buf[i++] as number) - char0);
  if (i === end) {
    if (i === start || !Number.isSafeInteger(secs)) return false;
    into.us = secs;
    into.ns = 0;
    return true;
  }
  if (i === start || buf[i] !== charDot) return false;
  const fracStart = ++i;
  let frac = 0;
  while (i < end && isDigitByte(buf[i] as number)) frac = frac * 10 + ((buf[i++] as number) - char0);
  const fracDigits = i - fracStart;
  if (i !== end || fracDigits < 1 || fracDigits > 9) return false;
  const fracNs = frac * (nsPerFractionUnit[fracDigits] ?? 0);
  const subUs = fracNs % 1000;
  const us = secs * 1_000_000 + (fracNs - subUs) / 1000;
  if (!Number.isSafeInteger(us)) return false;
  into.us = us;
  into.ns = subUs;
  return true;
}
