/**
 * Where the columns of an ftrace line are, found on its bytes: the first half of
 * FtraceByteParser.parse (ftraceBytes.ts), apart so that the WebAssembly skimmer, which finds
 * the same columns for its own checks, can hand them over for the lines it does not skip
 * (`load`): the parser then only makes the record. Checks are the string grammar's
 * (ftraceLine.ts); a line they do not pass is declined, and read by that grammar instead.
 *
 *   qemu-system-aar-4711 [003] d..1. 1520.114223: upd: (kvm_arm_vmid_update+0x0/0x1d0) ...
 *         vmchurn-188     (    188) [000] d....     4.278438: init_vm: ...     (record-tgid)
 *         bash-1234  [001]  1520.114223: ...                                  (irq-info off)
 */
import { nsPerFractionUnit } from './ftraceLine.js';
import * as codes from '../charCodes.js';

// Module-local copies of the character codes and of the two tests: imported bindings are
// read through the module's cells on every use, which costs these loops about 10 % (measured
// on the bench's sparse trace).
const char0 = codes.char0;
const char9 = codes.char9;
const charCloseBracket = codes.charCloseBracket;
const charCloseParen = codes.charCloseParen;
const charColon = codes.charColon;
const charDash = codes.charDash;
const charDot = codes.charDot;
const charEquals = codes.charEquals;
const charGreater = codes.charGreater;
const charHash = codes.charHash;
const charOpenBracket = codes.charOpenBracket;
const charOpenParen = codes.charOpenParen;
const charSpace = codes.charSpace;
const charTab = codes.charTab;
const asciiLimit = 0x80;

export function isBlankByte(code: number): boolean {
  return code === charSpace || code === charTab;
}

export function isDigitByte(code: number): boolean {
  return code >= char0 && code <= char9;
}

/** Where the token at `i` ends: the next blank, or the end. */
function tokenEndAt(buf: Uint8Array, i: number, end: number): number {
  while (i < end && !isBlankByte(buf[i] as number)) i++;
  return i;
}

/** How many numbers the skimmer hands over per line (wasm/ftraceSkim.ts, `storeColumns`), in the order `load` reads them. */
export const handedColumnCount = 13;

/**
 * One line's column positions (byte offsets into the buffer it was found in; -1 where an
 * optional column is absent), filled by `find` or `load`, and the timestamp `readTimestamp`
 * read last.
 */
export class FtraceColumns {
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
  /** What `readTimestamp` read: whole microseconds, and nanoseconds past them. */
  us = 0;
  ns = 0;

  /**
   * Finds the columns of `buf[start, end)` (no newline); false for a line the string grammar
   * must read: a header, a lost-event marker, a stack line, or one whose columns break its rules.
   */
  find(buf: Uint8Array, start: number, end: number): boolean {
    let first = start;
    while (first < end && isBlankByte(buf[first] as number)) first++;
    if (first === end) return false;
    const firstCode = buf[first] as number;
    // `#` headers, `CPU:2 [LOST ...]`, ` => stack` lines: the string grammar's business.
    if (firstCode === charHash || (firstCode === charEquals && buf[first + 1] === charGreater)) return false;
    if (firstCode === 0x43 /* C */ && buf[first + 1] === 0x50 && buf[first + 2] === 0x55 && buf[first + 3] === charColon) return false;

    // Where the columns are, checked as the string grammar checks them; values come later, for kept lines only.
    const open = this.findCpuColumn(buf, first, end);
    if (open < 0) return false;
    let close = open + 1;
    while (isDigitByte(buf[close] as number)) close++;

    let left = open;
    while (left > first && isBlankByte(buf[left - 1] as number)) left--;
    // `TASK-PID (TGID)` with the record-tgid option; `(-----)` when the TGID is unknown.
    let tgidOpen = -1;
    let tgidClose = -1;
    if (left > first && buf[left - 1] === charCloseParen) {
      let paren = left - 2;
      while (paren >= first && buf[paren] !== charOpenParen) paren--;
      if (paren < first) return false;
      tgidOpen = paren;
      tgidClose = left - 1;
      left = paren;
      while (left > first && isBlankByte(buf[left - 1] as number)) left--;
    }
    let dash = left - 1;
    while (dash >= first && buf[dash] !== charDash) dash--;
    if (dash < first || dash + 1 >= left) return false;
    for (let i = dash + 1; i < left; i++) if (!isDigitByte(buf[i] as number)) return false;

    // Optional flags, then `SECS.FRAC:`.
    let tokenStart = close + 1;
    while (tokenStart < end && isBlankByte(buf[tokenStart] as number)) tokenStart++;
    let tokenEnd = tokenEndAt(buf, tokenStart, end);
    let flagsStart = -1;
    let flagsEnd = -1;
    if (!(tokenEnd > tokenStart && buf[tokenEnd - 1] === charColon && this.isTimestamp(buf, tokenStart, tokenEnd - 1))) {
      flagsStart = tokenStart;
      flagsEnd = tokenEnd;
      tokenStart = tokenEnd;
      while (tokenStart < end && isBlankByte(buf[tokenStart] as number)) tokenStart++;
      tokenEnd = tokenEndAt(buf, tokenStart, end);
      if (tokenEnd <= tokenStart || buf[tokenEnd - 1] !== charColon || !this.isTimestamp(buf, tokenStart, tokenEnd - 1)) return false;
    }

    // `NAME: BODY`: the name ends at the first `: `. An ASCII name reads the same as bytes and as UTF-8.
    let nameStart = tokenEnd;
    while (nameStart < end && isBlankByte(buf[nameStart] as number)) nameStart++;
    let sep = nameStart;
    for (;;) {
      if (sep + 1 >= end) return false; // no `: ` (an event without a body): rare, left to the string grammar
      const code = buf[sep] as number;
      if (code >= asciiLimit) return false;
      if (code === charColon && buf[sep + 1] === charSpace) break;
      sep++;
    }
    if (sep === nameStart) return false;

    this.first = first;
    this.open = open;
    this.close = close;
    this.dash = dash;
    this.pidEnd = left;
    this.tgidOpen = tgidOpen;
    this.tgidClose = tgidClose;
    this.flagsStart = flagsStart;
    this.flagsEnd = flagsEnd;
    this.stampStart = tokenStart;
    this.stampEnd = tokenEnd - 1;
    this.nameStart = nameStart;
    this.nameEnd = sep;
    return true;
  }

  /**
   * Takes the columns the skimmer found for a line it handed over: `handedColumnCount` offsets
   * from `from[at]` on, relative to the line's start, which is at `base` now. False when it
   * found none (-1 first): `find` decides then.
   */
  load(from: Int32Array, at: number, base: number): boolean {
    const first = from[at] as number;
    if (first < 0) return false;
    this.first = first + base;
    this.open = (from[at + 1] as number) + base;
    this.close = (from[at + 2] as number) + base;
    this.dash = (from[at + 3] as number) + base;
    this.pidEnd = (from[at + 4] as number) + base;
    const tgidOpen = from[at + 5] as number;
    this.tgidOpen = tgidOpen < 0 ? -1 : tgidOpen + base;
    this.tgidClose = tgidOpen < 0 ? -1 : (from[at + 6] as number) + base;
    const flagsStart = from[at + 7] as number;
    this.flagsStart = flagsStart < 0 ? -1 : flagsStart + base;
    this.flagsEnd = flagsStart < 0 ? -1 : (from[at + 8] as number) + base;
    this.stampStart = (from[at + 9] as number) + base;
    this.stampEnd = (from[at + 10] as number) + base;
    this.nameStart = (from[at + 11] as number) + base;
    this.nameEnd = (from[at + 12] as number) + base;
    return true;
  }

  /** The first `[digits]` followed by a blank or the end, from `first`; -1 if none. */
  private findCpuColumn(buf: Uint8Array, first: number, end: number): number {
    // A loop, not Buffer.indexOf: the bracket is a few bytes away, closer than a native call's cost.
    for (let i = first; i < end; i++) {
      if (buf[i] !== charOpenBracket) continue;
      let j = i + 1;
      while (j < end && isDigitByte(buf[j] as number)) j++;
      if (j > i + 1 && j < end && buf[j] === charCloseBracket && (j + 1 === end || isBlankByte(buf[j + 1] as number))) return i;
    }
    return -1;
  }

  /**
   * Whether `[start, end)` is a timestamp `readTimestamp` accepts, without computing it unless
   * it is long enough to overflow: a skipped line needs no value.
   */
  private isTimestamp(buf: Uint8Array, start: number, end: number): boolean {
    if (end <= start) return false;
    let i = start;
    while (i < end && isDigitByte(buf[i] as number)) i++;
    const secsDigits = i - start;
    // Below these digit counts the value is far below 2^53: a counter < 10^15, SECS < 10^9.
    if (i === end) return secsDigits < 16 || this.readTimestamp(buf, start, end);
    if (secsDigits === 0 || buf[i] !== charDot) return false;
    const fracStart = ++i;
    while (i < end && isDigitByte(buf[i] as number)) i++;
    const fracDigits = end - fracStart;
    if (i !== end || fracDigits < 1 || fracDigits > 9) return false;
    return secsDigits < 10 || this.readTimestamp(buf, start, end);
  }

  /** Reads the timestamp in `[start, end)` into `us`/`ns` (readTimestampBytes). */
  readTimestamp(buf: Uint8Array, start: number, end: number): boolean {
    return readTimestampBytes(buf, start, end, this);
  }
}

/** Reads the timestamp that is all of `[start, end)` into `into` (readTimestampAt); false where there is none. */
export function readTimestampBytes(buf: Uint8Array, start: number, end: number, into: { us: number; ns: number }): boolean {
  return readTimestampAt(buf, start, end, into) === end;
}

/**
 * Reads `SECS.FRAC` or a bare counter from `start` (before `limit`) into `into.us`/`into.ns`,
 * with the string grammar's rules (parseTimestamp): 1 to 9 fraction digits, safe integers
 * only. Returns where it stopped, or -1 where those rules give no timestamp; `into` is written
 * only then. Both byte-level line parsers read their time column with it (this one, and
 * traceCmdBytes.ts, whose column ends at the first byte not a digit or dot).
 */
export function readTimestampAt(buf: Uint8Array, start: number, limit: number, into: { us: number; ns: number }): number {
  let secs = 0;
  let i = start;
  while (i < limit && isDigitByte(buf[i] as number)) secs = secs * 10 + ((buf[i++] as number) - char0);
  if (i === limit || buf[i] !== charDot) {
    if (i === start || !Number.isSafeInteger(secs)) return -1;
    into.us = secs;
    into.ns = 0;
    return i;
  }
  if (i === start) return -1;
  const fracStart = ++i;
  let frac = 0;
  while (i < limit && isDigitByte(buf[i] as number)) frac = frac * 10 + ((buf[i++] as number) - char0);
  const fracDigits = i - fracStart;
  if (fracDigits < 1 || fracDigits > 9) return -1;
  const fracNs = frac * (nsPerFractionUnit[fracDigits] ?? 0);
  const subUs = fracNs % 1000;
  const us = secs * 1_000_000 + (fracNs - subUs) / 1000;
  if (!Number.isSafeInteger(us)) return -1;
  into.us = us;
  into.ns = subUs;
  return i;
}
