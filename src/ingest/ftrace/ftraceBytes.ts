/**
 * The ftrace line grammar's fast path, on the line's bytes: the shape nearly every line of a
 * real trace has,
 *
 *   qemu-system-aar-4711 [003] d..1. 1520.114223: upd: (kvm_arm_vmid_update+0x0/0x1d0) ...
 *         vmchurn-188     (    188) [000] d....     4.278438: init_vm: ...     (record-tgid)
 *         bash-1234  [001]  1520.114223: ...                                  (irq-info off)
 *
 * is read without decoding the line into a string first, and a line whose event the consumer
 * has no use for (`ReadOptions.wantEvent`) is never decoded at all: a sparse trace is mostly
 * such lines. Anything else (headers, lost-event markers, an event name with a byte above
 * 0x7f, any line the string grammar would call malformed) is declined with `undefined`, and
 * the caller parses the decoded text with `parseFtraceLine`. For every line the fast path
 * accepts, it returns the record `parseFtraceLine` would (a property test holds the two to
 * it), so which path read a line never shows.
 *
 * All delimiters are ASCII, and no byte of a multi-byte UTF-8 character is ASCII, so the
 * columns are found at the same places in the bytes as in the decoded text.
 */

import { utf8Text } from '../bufferText.js';
import type { KnownName } from '../lines/knownNames.js';
import type { ReadRecord, SourceSpan } from '../records.js';
import { parseFtraceLine } from './ftraceLine.js';
import { FtraceColumns, isDigitByte } from './ftraceColumns.js';
import { NameSkippingParser } from '../lines/nameSkipping.js';
import * as codes from '../charCodes.js';

const char0 = codes.char0;
const charOpenParen = codes.charOpenParen;
const charSpace = codes.charSpace;
const charTab = codes.charTab;

/** The value of the digits in `[start, end)` (checked to be digits already). */
function digitsValue(buf: Buffer, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 10 + ((buf[i] as number) - char0);
  return value;
}

/**
 * What `parse` returns for a line it skipped (an event line the filter refused, counted by
 * name): nothing to hand on now, the count comes with `takeUnused()`.
 */
export const skippedLine = null;

/**
 * One parser per input. It keeps the event names it has seen (NameSkippingParser), so a line
 * costs no string for its name and no call of the filter once its name is known, and a line
 * the filter refuses costs no allocation at all.
 */
export class FtraceByteParser extends NameSkippingParser {
  /** The columns of the line being read: found by `parse`, or loaded from what a skimmer found. */
  private readonly columns = new FtraceColumns();

  /**
   * The record for the line `buf[start, end)` (no newline) numbered `line` at byte `offset`;
   * `skippedLine` for a line the filter refused; undefined to leave it to the string grammar.
   * `columns[columnsAt...]`, when given, are the line's columns a skimmer found
   * (FtraceColumns.load): taken instead of looked for. Where it found none the line may still
   * be one (a timestamp only computing it tells about), so it is looked at then.
   */
  parse(buf: Buffer, start: number, end: number, line: number, offset: number, columns?: Int32Array, columnsAt = -1): ReadRecord | typeof skippedLine | undefined {
    const found = columns !== undefined && columnsAt >= 0 && this.columns.load(columns, columnsAt, start);
    if (!found && !this.columns.find(buf, start, end)) return undefined;
    return this.recordAt(buf, start, end, line, offset);
  }

  /** `parse` from the columns `columns` holds for the line. */
  private recordAt(buf: Buffer, start: number, end: number, line: number, offset: number): ReadRecord | typeof skippedLine {
    const columns = this.columns;
    const nameEnd = columns.nameEnd;
    const known = this.names.lookup(buf, columns.nameStart, nameEnd);
    const bodyStart = nameEnd + 2;
    const opensWithLocation = bodyStart < end && buf[bodyStart] === charOpenParen;
    if (this.wantEvent !== undefined && !this.names.wanted(known, opensWithLocation)) return this.skip(known, opensWithLocation, line, offset);
    const span: SourceSpan = { file: this.file, line, offset };
    const text = utf8Text(buf, start, end);
    // Byte offsets are string indices only if every byte became one UTF-16 unit (ASCII, or a
    // stray byte become U+FFFD); a multi-byte character anywhere: the string grammar reads it.
    if (text.length !== end - start) return parseFtraceLine(text, span);
    const dash = columns.dash;
    const flagsStart = columns.flagsStart;
    const tgidOpen = columns.tgidOpen;
    const task = text.slice(columns.first - start, dash - start);
    const flags = flagsStart < 0 ? undefined : text.slice(flagsStart - start, columns.flagsEnd - start);
    const body = text.slice(bodyStart - start);
    const pid = digitsValue(buf, dash + 1, columns.pidEnd);
    const cpu = digitsValue(buf, columns.open + 1, columns.close);
    columns.readTimestamp(buf, columns.stampStart, columns.stampEnd);
    const tgid = tgidOpen < 0 ? undefined : this.tgidBetween(buf, tgidOpen + 1, columns.tgidClose);
    // Same fields, same order as parseFtraceLine's record: one object shape for both paths.
    return { type: 'event', span, text, task, pid, tgid, cpu, flags, tsUs: columns.us, tsNs: columns.ns, name: known.name, body };
  }

  /**
   * Counts a line the filter refused. Apart from `recordAt`, which every kept line runs, to keep
   * that small (when the column search was still in the same function, dense traces lost 6 %
   * with this inline: V8 inlines only below a size budget).
   */
  private skip(known: KnownName, opensWithLocation: boolean, line: number, offset: number): typeof skippedLine {
    this.skipLine(known, opensWithLocation, line, offset);
    return skippedLine;
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
}
