/**
 * The ftrace line grammar's fast path, on the line's bytes: the shape nearly every line of a
 * real trace has,
 *
 *   qemu-system-aar-4711 [003] d..1. 1520.114223: upd: (kvm_arm_vmid_update+0x0/0x1d0) ...
 *         bash-1234  [001]  1520.114223: ...                             (irq-info off)
 *
 * is read without decoding the line into a string first, and a line whose event the consumer
 * has no use for (`ReadOptions.wantEvent`) is never decoded at all: a sparse trace is mostly
 * such lines. Anything else (headers, lost-event markers, a byte above 0x7f
 * before the body, any line the string grammar would call malformed) is declined with
 * `undefined`, and the caller parses the decoded text with `parseFtraceLine`. For every line
 * the fast path accepts, it returns the record `parseFtraceLine` would (a property test holds
 * the two to it), so which path read a line never shows.
 *
 * Up to the body every byte is ASCII (checked while scanning), so byte offsets there are
 * also string indices into the decoded line: one UTF-8 decode per line, then slices.
 */

import type { EventFilter } from './importer.js';
import type { ReadRecord, SourceSpan } from './records.js';
import { char0, char9, charCloseBracket, charColon, charDash, charDot, charSpace, charTab } from './charCodes.js';

const charOpenBracket = 0x5b;
const charOpenParen = 0x28;
const charCloseParen = 0x29;
const charHash = 0x23;
const charEquals = 0x3d;
const charGreater = 0x3e;
const asciiLimit = 0x80;

/** Nanoseconds in one unit of a fraction with that many digits. */
const nsPerFractionUnit = [0, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

function isBlankByte(code: number): boolean {
  return code === charSpace || code === charTab;
}

function isDigitByte(code: number): boolean {
  return code >= char0 && code <= char9;
}

/** One parser per input: it keeps the timestamp it read between calls, so nothing is allocated for it. */
export class FtraceByteParser {
  private us = 0;
  private ns = 0;

  constructor(private readonly wantEvent: EventFilter | undefined) {}

  /** The record for the line `buf[start, end)` (no newline), or undefined to leave it to the string grammar. */
  parse(buf: Buffer, start: number, end: number, span: SourceSpan): ReadRecord | undefined {
    let first = start;
    while (first < end && isBlankByte(buf[first] as number)) first++;
    if (first === end) return undefined;
    const firstCode = buf[first] as number;
    // `#` headers, `CPU:2 [LOST ...]`, ` => stack` lines: the string grammar's business.
    if (firstCode === charHash || (firstCode === charEquals && buf[first + 1] === charGreater)) return undefined;
    if (firstCode === 0x43 /* C */ && buf[first + 1] === 0x50 && buf[first + 2] === 0x55 && buf[first + 3] === charColon) return undefined;

    const open = this.findCpuColumn(buf, first, end);
    if (open < 0) return undefined;
    let close = open + 1;
    let cpu = 0;
    while (close < end && isDigitByte(buf[close] as number)) cpu = cpu * 10 + ((buf[close++] as number) - char0);

    let left = open;
    while (left > first && isBlankByte(buf[left - 1] as number)) left--;
    // `TASK-PID (TGID)` with the record-tgid option; `(-----)` when the TGID is unknown.
    let tgid: number | null | undefined;
    if (left > first && buf[left - 1] === charCloseParen) {
      let paren = left - 2;
      while (paren >= first && buf[paren] !== charOpenParen) paren--;
      if (paren < first) return undefined;
      tgid = this.tgidBetween(buf, paren + 1, left - 1);
      left = paren;
      while (left > first && isBlankByte(buf[left - 1] as number)) left--;
    }
    let dash = left - 1;
    while (dash >= first && buf[dash] !== charDash) dash--;
    if (dash < first || dash + 1 >= left) return undefined;
    let pid = 0;
    for (let i = dash + 1; i < left; i++) {
      const code = buf[i] as number;
      if (!isDigitByte(code)) return undefined;
      pid = pid * 10 + (code - char0);
    }

    // Optional flags, then `SECS.FRAC:`.
    let tokenStart = close + 1;
    while (tokenStart < end && isBlankByte(buf[tokenStart] as number)) tokenStart++;
    let tokenEnd = this.tokenEnd(buf, tokenStart, end);
    if (tokenEnd < 0) return undefined;
    let flagsStart = -1;
    let flagsEnd = -1;
    if (!(tokenEnd > tokenStart && buf[tokenEnd - 1] === charColon && this.readTimestamp(buf, tokenStart, tokenEnd - 1))) {
      flagsStart = tokenStart;
      flagsEnd = tokenEnd;
      tokenStart = tokenEnd;
      while (tokenStart < end && isBlankByte(buf[tokenStart] as number)) tokenStart++;
      tokenEnd = this.tokenEnd(buf, tokenStart, end);
      if (tokenEnd <= tokenStart || buf[tokenEnd - 1] !== charColon || !this.readTimestamp(buf, tokenStart, tokenEnd - 1)) return undefined;
    }

    // `NAME: BODY`: the name ends at the first `: `.
    let nameStart = tokenEnd;
    while (nameStart < end && isBlankByte(buf[nameStart] as number)) nameStart++;
    let sep = nameStart;
    for (;;) {
      if (sep + 1 >= end) return undefined; // no `: ` (an event without a body): rare, left to the string grammar
      const code = buf[sep] as number;
      if (code >= asciiLimit) return undefined;
      if (code === charColon && buf[sep + 1] === charSpace) break;
      sep++;
    }
    if (sep === nameStart) return undefined;
    const bodyStart = sep + 2;

    if (this.wantEvent !== undefined) {
      const name = buf.toString('latin1', nameStart, sep);
      if (!this.wantEvent(name, bodyStart < end && buf[bodyStart] === charOpenParen)) return { type: 'unused-event', span, cpu, tsUs: this.us, tsNs: this.ns, name };
    }
    const text = buf.toString('utf8', start, end);
    const task = text.slice(first - start, dash - start);
    const flags = flagsStart < 0 ? undefined : text.slice(flagsStart - start, flagsEnd - start);
    const name = text.slice(nameStart - start, sep - start);
    const body = text.slice(bodyStart - start);
    // Same fields, same order as parseFtraceLine's record: one object shape for both paths.
    return { type: 'event', span, text, task, pid, tgid, cpu, flags, tsUs: this.us, tsNs: this.ns, name, body };
  }

  /** The first `[digits]` followed by a blank or the end, from `first`; -1 if none or a non-ASCII byte comes first. */
  private findCpuColumn(buf: Buffer, first: number, end: number): number {
    for (let i = first; i < end; i++) {
      const code = buf[i] as number;
      if (code >= asciiLimit) return -1;
      if (code !== charOpenBracket) continue;
      let j = i + 1;
      while (j < end && isDigitByte(buf[j] as number)) j++;
      if (j > i + 1 && j < end && buf[j] === charCloseBracket && (j + 1 === end || isBlankByte(buf[j + 1] as number))) return i;
    }
    return -1;
  }

  /** The TGID inside `(...)`, blanks around it allowed; null when it is not a number (`-----`). */
  private tgidBetween(buf: Buffer, start: number, end: number): number | null {
    // The blanks String.prototype.trim() drops, in ASCII: TAB to CR, and space.
    while (start < end && ((buf[start] as number) === charSpace || ((buf[start] as number) >= charTab && (buf[start] as number) <= 0x0d))) start++;
    while (end > start && ((buf[end - 1] as number) === charSpace || ((buf[end - 1] as number) >= charTab && (buf[end - 1] as number) <= 0x0d))) end--;
    if (end === start) return null;
    let value = 0;
    for (let i = start; i < end; i++) {
      const code = buf[i] as number;
      if (!isDigitByte(code)) return null;
      value = value * 10 + (code - char0);
    }
    return value;
  }

  /** Where the token at `i` ends (the next blank or the end); -1 at a non-ASCII byte. */
  private tokenEnd(buf: Buffer, i: number, end: number): number {
    while (i < end) {
      const code = buf[i] as number;
      if (isBlankByte(code)) return i;
      if (code >= asciiLimit) return -1;
      i++;
    }
    return i;
  }

  /**
   * Reads `SECS.FRAC` or a bare counter in `[start, end)` into `us`/`ns`, with the string
   * grammar's rules (parseTimestamp): 1 to 9 fraction digits, safe integers only.
   */
  private readTimestamp(buf: Buffer, start: number, end: number): boolean {
    if (end <= start) return false;
    let secs = 0;
    let i = start;
    while (i < end && isDigitByte(buf[i] as number)) secs = secs * 10 + ((buf[i++] as number) - char0);
    if (i === end) {
      if (!Number.isSafeInteger(secs)) return false;
      this.us = secs;
      this.ns = 0;
      return true;
    }
    if (i === start || buf[i] !== charDot) return false;
    const fracStart = ++i;
    let frac = 0;
    while (i < end && isDigitByte(buf[i] as number)) frac = frac * 10 + ((buf[i++] as number) - char0);
    const fracDigits = end - fracStart;
    if (i !== end || fracDigits < 1 || fracDigits > 9) return false;
    const fracNs = frac * (nsPerFractionUnit[fracDigits] ?? 0);
    const subUs = fracNs % 1000;
    const us = secs * 1_000_000 + (fracNs - subUs) / 1000;
    if (!Number.isSafeInteger(us)) return false;
    this.us = us;
    this.ns = subUs;
    return true;
  }
}
