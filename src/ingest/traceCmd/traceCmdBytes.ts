/**
 * The `trace-cmd report` grammar's fast path, on the line's bytes: it finds what
 * `parseTraceCmdLine` would make of an event line. Where the filter refuses that event
 * (`ReadOptions.wantEvent`), the line is only counted under its name, never decoded; where it
 * is wanted, its record is made from the positions found, without the string grammar's scan.
 * Every other line (a header, a marker, anything odd) is declined with `undefined`, and the
 * string grammar reads it as before. A sparse report is mostly refused lines: read as
 * strings, they made it 2.8 times as slow as the same trace in ftrace text.
 *
 * The steps are those of traceCmdLine.ts, on bytes. All delimiters the grammar tests are
 * ASCII, and no byte of a multi-byte UTF-8 character (nor U+FFFD, for an invalid byte) is
 * one, so the tests come out the same on the bytes as on the decoded text; a name with a byte
 * above 0x7f is declined, since its padding is counted in characters, and a record is made
 * only of a line whose bytes became one character each. A property test holds the two to each
 * other (test/ingest/traceCmdBytes.test.ts).
 *
 * With a filter, the WebAssembly skimmer (wasm/ftraceSkim.ts, in its trace-cmd form) makes the
 * same tests on whole regions and skips the lines of the names this parser taught it, so most
 * lines of a sparse report never reach `parse` (NameSkippingParser); the event lines it hands
 * back come with the columns it found, which `parse` takes instead of looking for them.
 */
import { utf8Text } from '../bufferText.js';
import { NameSkippingParser } from '../lines/nameSkipping.js';
import { isBlankByte, isDigitByte, readTimestampAt, readTimestampBytes } from '../ftrace/ftraceColumns.js';
import type { ReadRecord } from '../records.js';
import { eventNameColumn, latencyTaskWidth, taskOf, taskWidth } from './traceCmdLine.js';
import { char0, charCloseBracket, charCloseParen, charColon, charDash, charDot, charEquals, charGreater, charHash, charOpenBracket, charOpenParen, charPlus, charSpace } from '../charCodes.js';

// The byte tests the ftrace columns use, under the names the steps below read best with.
const isBlank = isBlankByte;
const isDigit = isDigitByte;

/*
 * The steps below take the line as `buf[..end)`: no byte at or past `end` counts (the buffer
 * goes on with the next lines; only the native searches look there, and what they find there
 * is taken for nothing found). Free functions with the bounds as arguments, not methods on
 * fields: in this form V8 keeps the scans tight.
 */

function skipBlanks(buf: Buffer, i: number, end: number): number {
  while (i < end && isBlank(buf[i] as number)) i++;
  return i;
}

function digitsEnd(buf: Buffer, i: number, end: number): number {
  while (i < end && isDigit(buf[i] as number)) i++;
  return i;
}

function indexOfByte(buf: Buffer, code: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === code) return i;
  return -1;
}

/** Whether `buf[at..end)` starts with the ASCII `token`. */
function startsWith(buf: Buffer, at: number, end: number, token: string): boolean {
  if (at + token.length > end) return false;
  for (let i = 0; i < token.length; i++) if (buf[at + i] !== token.charCodeAt(i)) return false;
  return true;
}

/** `parseDigits` then `Number.isSafeInteger`, as `countIn` takes a pid, CPU or count; -1 if not. */
function countIn(buf: Buffer, start: number, end: number): number {
  if (end <= start) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const code = buf[i] as number;
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - char0);
  }
  return Number.isSafeInteger(value) ? value : -1;
}

/** `isHeaderAt`: `cpus=N`, `version = N`, `CPU N is empty`, `registering plugin: ...`. */
function isHeaderAt(buf: Buffer, at: number, end: number): boolean {
  const lead = buf[at];
  if (lead === 0x63 /* c */ && startsWith(buf, at, end, 'cpus=')) {
    const digits = digitsEnd(buf, at + 5, end);
    return digits > at + 5 && skipBlanks(buf, digits, end) === end;
  }
  if (lead === 0x76 /* v */ && startsWith(buf, at, end, 'version = ')) {
    const digits = digitsEnd(buf, at + 10, end);
    return digits > at + 10 && skipBlanks(buf, digits, end) === end;
  }
  if (lead === 0x43 /* C */ && startsWith(buf, at, end, 'CPU ')) {
    const digits = digitsEnd(buf, at + 4, end);
    return digits > at + 4 && startsWith(buf, digits, end, ' is empty') && skipBlanks(buf, digits + 9, end) === end;
  }
  return lead === 0x72 /* r */ && startsWith(buf, at, end, 'registering plugin: ');
}

/**
 * Whether `nonEventRecord` could find a header or a marker at `at`: a header exactly, a marker
 * by its first bytes (`[` or `CPU:`; such lines are rare, and declined).
 */
function mayBeNonEventAt(buf: Buffer, at: number, end: number): boolean {
  if (at < 0 || at >= end) return false;
  // By the first byte: most lines start with none of `c v C r [`, the first bytes of all these.
  const lead = buf[at];
  if (lead === charOpenBracket) return true;
  if (lead !== 0x63 && lead !== 0x76 && lead !== 0x43 && lead !== 0x72) return false;
  return isHeaderAt(buf, at, end) || startsWith(buf, at, end, 'CPU:');
}

/**
 * The next byte `code` at or after a position of one buffer, by the native search, which looks
 * past the line (up to the buffer's end). What it found holds for the lines after it until
 * they pass it, so a byte that lines lack (`[` in the -l shape, `:` in hostile input) is looked
 * for once per stretch, not once per line to the buffer's end. For one chunk only (`reset`): a
 * source may hand the next chunk in the same buffer.
 */
class NextByte {
  private buf: Buffer | undefined;
  private from = 0;
  private at = -1;

  constructor(private readonly code: number) {}

  reset(): void {
    this.buf = undefined;
  }

  /** The first `code` in `buf[from, end)`, or -1. */
  find(buf: Buffer, from: number, end: number): number {
    if (buf !== this.buf || from < this.from || (this.at !== -1 && this.at < from)) {
      this.buf = buf;
      this.from = from;
      this.at = buf.indexOf(this.code, from);
    }
    return this.at !== -1 && this.at < end ? this.at : -1;
  }
}

/** What the column steps found on a line, written in place (one per parser: nothing allocated per line). */
class Found {
  us = 0;
  ns = 0;
  dash = 0;
  pid = 0;
  cpu = 0;
  /** The -l shape's flags, `[flagsStart, flagsEnd)`; flagsStart -1 in the default shape. */
  flagsStart = -1;
  flagsEnd = -1;
  /** The comm column's width in this shape (`taskOf`). */
  width = 0;
}

/**
 * `timeColumnAt`: the index after the time column's `:`, or -1; the stamp in `found`. The
 * string grammar takes the run of digits and dots and parses it; read in one pass here, a
 * stamp that stops at a second dot is refused by the `:` test, as the run's parse refuses it.
 */
function timeColumnAt(buf: Buffer, i: number, lineEnd: number, found: Found): number {
  const end = readTimestampAt(buf, skipBlanks(buf, i, lineEnd), lineEnd, found);
  if (end < 0 || end >= lineEnd || buf[end] !== charColon) return -1;
  if (end + 1 < lineEnd && !isBlank(buf[end + 1] as number)) return -1;
  return end + 1;
}

/** `bracketColumns` from the `[` at `open` on: where its time column ends, or -1; the columns in `found`. */
function bracketColumnsEnd(buf: Buffer, first: number, open: number, end: number, found: Found): number {
  for (; open !== -1; open = indexOfByte(buf, charOpenBracket, open + 1, end)) {
    const close = digitsEnd(buf, open + 1, end);
    if (close === open + 1 || close >= end || buf[close] !== charCloseBracket) continue;
    const timeEnd = timeColumnAt(buf, close + 1, end, found);
    if (timeEnd === -1) continue;
    let left = open;
    while (left > first && isBlank(buf[left - 1] as number)) left--;
    let pidStart = left;
    while (pidStart > first && isDigit(buf[pidStart - 1] as number)) pidStart--;
    if (pidStart === left || pidStart <= first || buf[pidStart - 1] !== charDash) return -1;
    const pid = countIn(buf, pidStart, left);
    const cpu = countIn(buf, open + 1, close);
    if (pid < 0 || cpu < 0) return -1;
    found.dash = pidStart - 1;
    found.pid = pid;
    found.cpu = cpu;
    found.flagsStart = -1;
    found.width = taskWidth;
    return timeEnd;
  }
  return -1;
}

/** `latencyColumns`: where its time column ends, or -1; the columns in `found`. */
function latencyColumnsEnd(buf: Buffer, first: number, end: number, found: Found): number {
  for (let dash = indexOfByte(buf, charDash, first, end); dash !== -1; dash = indexOfByte(buf, charDash, dash + 1, end)) {
    const pidEnd = digitsEnd(buf, dash + 1, end);
    if (pidEnd === dash + 1 || pidEnd >= end || !isBlank(buf[pidEnd] as number)) continue;
    const cpuStart = skipBlanks(buf, pidEnd, end);
    const cpuEnd = digitsEnd(buf, cpuStart, end);
    if (cpuEnd === cpuStart) continue;
    let flagsEnd = cpuEnd;
    while (flagsEnd < end && !isBlank(buf[flagsEnd] as number)) flagsEnd++;
    if (flagsEnd === cpuEnd) continue;
    const timeEnd = timeColumnAt(buf, flagsEnd, end, found);
    if (timeEnd === -1) continue;
    const pid = countIn(buf, dash + 1, pidEnd);
    const cpu = countIn(buf, cpuStart, cpuEnd);
    if (pid < 0 || cpu < 0) return -1;
    found.dash = dash;
    found.pid = pid;
    found.cpu = cpu;
    found.flagsStart = cpuEnd;
    found.flagsEnd = flagsEnd;
    found.width = latencyTaskWidth;
    return timeEnd;
  }
  return -1;
}

/** `skipTsDiff`: past a `--ts-diff` column `(+12)`, if there is one. */
function skipTsDiff(buf: Buffer, i: number, end: number): number {
  const at = skipBlanks(buf, i, end);
  if (!(at + 1 < end && buf[at] === charOpenParen && buf[at + 1] === charPlus)) return at;
  let j = at + 2;
  if (j < end && buf[j] === charDash) j++;
  const digitsStart = j;
  while (j < end && (isDigit(buf[j] as number) || buf[j] === charDot)) j++;
  if (j === digitsStart || j >= end || buf[j] !== charCloseParen) return at;
  return skipBlanks(buf, j + 1, end);
}

/**
 * What `parseTraceCmdLine` makes of a line, on its bytes: whether it is an event line with an
 * ASCII name, and if so its columns, where its name is and where its body starts.
 */
class LineBytes {
  readonly found = new Found();
  first = 0;
  nameStart = 0;
  nameEnd = 0;
  /** Where the body starts; `end` for none. */
  bodyStart = 0;
  opensWithLocation = false;
  private readonly brackets = new NextByte(charOpenBracket);
  private readonly colons = new NextByte(charColon);

  startChunk(): void {
    this.brackets.reset();
    this.colons.reset();
  }

  /** The first `: ` in `buf[from, end)`, or -1. */
  private colonSpace(buf: Buffer, from: number, end: number): number {
    for (let colon = this.colons.find(buf, from, end); colon !== -1; colon = this.colons.find(buf, colon + 1, end)) {
      if (colon + 1 < end && buf[colon + 1] === charSpace) return colon;
    }
    return -1;
  }

  /** `afterPrefix`: after the first `: ` and the blanks that follow it, or -1. */
  private afterPrefix(buf: Buffer, first: number, end: number): number {
    const sep = this.colonSpace(buf, first, end);
    return sep === -1 ? -1 : skipBlanks(buf, sep + 2, end);
  }

  /**
   * `eventName` from the columns the WebAssembly skim found for the line by the same steps
   * (offsets from `start` at `columns[at...]`, in the order of wasm/ftraceSkim.ts's
   * `traceCmd...` slots: first, dash, PID end, CPU start and end, flags start and end, time
   * column start and end, name start and end, body start); false where it found none, or
   * where they do not read as `eventName` would read them (the numbers only computing them
   * tells about), which then looks for itself.
   */
  load(buf: Buffer, start: number, end: number, columns: Int32Array, at: number): boolean {
    const first = columns[at] as number;
    if (first < 0) return false;
    const dash = start + (columns[at + 1] as number);
    const pid = countIn(buf, dash + 1, start + (columns[at + 2] as number));
    const cpu = countIn(buf, start + (columns[at + 3] as number), start + (columns[at + 4] as number));
    if (pid < 0 || cpu < 0) return false;
    const found = this.found;
    if (!readTimestampBytes(buf, start + (columns[at + 7] as number), start + (columns[at + 8] as number), found)) return false;
    const flagsStart = columns[at + 5] as number;
    found.dash = dash;
    found.pid = pid;
    found.cpu = cpu;
    found.flagsStart = flagsStart < 0 ? -1 : start + flagsStart;
    found.flagsEnd = flagsStart < 0 ? -1 : start + (columns[at + 6] as number);
    found.width = flagsStart < 0 ? taskWidth : latencyTaskWidth;
    this.first = start + first;
    this.nameStart = start + (columns[at + 9] as number);
    this.nameEnd = start + (columns[at + 10] as number);
    const bodyStart = start + (columns[at + 11] as number);
    this.bodyStart = bodyStart;
    this.opensWithLocation = bodyStart < end && buf[bodyStart] === charOpenParen;
    return true;
  }

  /**
   * Whether `parseTraceCmdLine` reads `buf[start, end)` as an event line, its name ASCII; if
   * so the fields say where its parts are. False for anything else, and for what it cannot be
   * sure of.
   */
  eventName(buf: Buffer, start: number, end: number): boolean {
    const first = skipBlanks(buf, start, end);
    if (first === end) return false;
    const lead = buf[first];
    if (lead === charHash || (lead === charEquals && first + 1 < end && buf[first + 1] === charGreater)) return false;
    if (mayBeNonEventAt(buf, first, end) || mayBeNonEventAt(buf, this.afterPrefix(buf, first, end), end)) return false;
    let timeEnd = bracketColumnsEnd(buf, first, this.brackets.find(buf, first, end), end, this.found);
    if (timeEnd === -1) timeEnd = latencyColumnsEnd(buf, first, end, this.found);
    if (timeEnd === -1) return false;
    // splitNameAndBody, with trace-cmd's padding.
    const nameStart = skipTsDiff(buf, timeEnd, end);
    const sep = this.colonSpace(buf, nameStart, end);
    let nameEnd: number;
    let bodyStart = end;
    if (sep === -1) {
      nameEnd = buf[end - 1] === charColon ? end - 1 : end;
    } else {
      nameEnd = sep;
      bodyStart = sep + 2;
      const padEnd = Math.min(end, bodyStart + Math.max(0, eventNameColumn - (nameEnd - nameStart)));
      while (bodyStart < padEnd && buf[bodyStart] === charSpace) bodyStart++;
    }
    if (nameEnd <= nameStart) return false;
    for (let i = nameStart; i < nameEnd; i++) if ((buf[i] as number) > 0x7f) return false;
    this.first = first;
    this.nameStart = nameStart;
    this.nameEnd = nameEnd;
    this.bodyStart = bodyStart;
    this.opensWithLocation = bodyStart < end && buf[bodyStart] === charOpenParen;
    return true;
  }
}

/**
 * One parser per input: it skips the event lines the filter refuses (all are wanted without
 * one), and makes the record of a wanted one from the positions it found, when the line's
 * bytes are one character each.
 */
export class TraceCmdByteParser extends NameSkippingParser {
  private readonly line = new LineBytes();

  /** LineBytesParser.parse; `columns[columnsAt...]`, when given, are those the WebAssembly skim found for the line. */
  parse(buf: Buffer, start: number, end: number, line: number, offset: number, columns?: Int32Array, columnsAt = -1): ReadRecord | null | undefined {
    const bytes = this.line;
    const loaded = columns !== undefined && columnsAt >= 0 && bytes.load(buf, start, end, columns, columnsAt);
    if (!loaded && !bytes.eventName(buf, start, end)) return undefined;
    const known = this.names.lookup(buf, bytes.nameStart, bytes.nameEnd);
    if (!this.names.wanted(known, bytes.opensWithLocation)) {
      this.skipLine(known, bytes.opensWithLocation, line, offset);
      return null;
    }
    const text = utf8Text(buf, start, end);
    // Positions in the bytes are positions in the text only if every byte became one UTF-16
    // unit (ASCII, or a stray byte become U+FFFD): otherwise the string grammar reads it.
    if (text.length !== end - start) return undefined;
    const found = bytes.found;
    const task = taskOf(text, bytes.first - start, found.dash - start, found.width);
    const flags = found.flagsStart < 0 ? undefined : text.slice(found.flagsStart - start, found.flagsEnd - start);
    const body = bytes.bodyStart < end ? text.slice(bytes.bodyStart - start) : '';
    // The fields of parseTraceCmdLine's record, in its order.
    return { type: 'event', span: { file: this.file, line, offset }, text, task, pid: found.pid, tgid: undefined, cpu: found.cpu, flags, tsUs: found.us, tsNs: found.ns, name: known.name, body };
  }

  startChunk(): void {
    this.line.startChunk();
  }
}

/** For the tests: the byte-level reading of a line (name and body flavor), without a filter. */
export function traceCmdEventName(bytes: Buffer): { name: string; opensWithLocation: boolean } | undefined {
  const line = new LineBytes();
  if (!line.eventName(bytes, 0, bytes.length)) return undefined;
  return { name: bytes.toString('latin1', line.nameStart, line.nameEnd), opensWithLocation: line.opensWithLocation };
}
