/**
 * Records back to text, for `vmid-replay convert`: ftrace text (the grammar of ftraceLine.ts)
 * and CSV in the default layout that csvRows.ts reads (docs/trace-format.md, "CSV").
 *
 * A record is written so that reading the output gives the same record (all fields but the
 * span's offset and the text, which are the output's own); one that cannot be written so is
 * left out and counted by reason, never written as something else. An ftrace line that already
 * reads as its record is kept byte for byte, so ftrace text -> MessagePack -> ftrace text gives
 * the input's lines back (docs/msgpack-format.md, "Round trips").
 */

import { isDeepStrictEqual } from 'node:util';
import { parseFtraceLine } from './ftraceLine.js';
import { plainRecord, type EventRecord, type TraceRecord } from './records.js';
import { csvCell } from '../csv.js';

/** Why records were left out of the output, with how many. */
export type DroppedCounts = Map<string, number>;

function drop(dropped: DroppedCounts, reason: string): undefined {
  dropped.set(reason, (dropped.get(reason) ?? 0) + 1);
  return undefined;
}

/** `secs.usecs`, or `secs.nsecs` when the record has nanoseconds: the exact timestamp. */
export function secondsText(record: EventRecord): string {
  const secs = Math.floor(record.tsUs / 1_000_000);
  const usecs = String(record.tsUs % 1_000_000).padStart(6, '0');
  return record.tsNs === 0 ? `${secs}.${usecs}` : `${secs}.${usecs}${String(record.tsNs).padStart(3, '0')}`;
}

/** What the ftrace grammar must give back for a line to stand for `record` (text and span aside). */
function sameContent(a: TraceRecord, b: TraceRecord): boolean {
  if (a.type === 'malformed' && b.type === 'malformed') return true;
  return isDeepStrictEqual({ ...plainRecord(a), span: undefined, text: undefined }, { ...plainRecord(b), span: undefined, text: undefined });
}

/** An event as ftrace prints it: `TASK-PID (TGID) [CPU] FLAGS SECS.USECS: NAME: BODY`. */
function formatEventLine(record: EventRecord): string {
  const tgid = record.tgid === undefined ? '' : record.tgid === null ? ' (-------)' : ` (${String(record.tgid).padStart(7)})`;
  const flags = record.flags === undefined ? '' : ` ${record.flags}`;
  return `${record.task}-${record.pid}${tgid} [${String(record.cpu).padStart(3, '0')}]${flags} ${secondsText(record)}: ${record.name}: ${record.body}`;
}

/** The canonical ftrace spelling of a record, when it has one. */
function formatFtrace(record: TraceRecord): string | undefined {
  switch (record.type) {
    case 'event':
      return formatEventLine(record);
    case 'lost':
      return `CPU:${record.cpu} [LOST ${record.count} EVENTS]`;
    case 'buffer-started':
      return `##### CPU ${record.cpu} buffer started ####`;
    case 'header':
    case 'continuation':
    case 'malformed':
      return undefined;
  }
}

/**
 * One ftrace line for `record` (no line end), or undefined when it is left out: its own text
 * when that reads back as the record, else the canonical spelling when that does. A header
 * that is not an ftrace comment (a CSV header row, trace-cmd's `cpus=4`) has no ftrace form.
 */
export function ftraceLineFor(record: TraceRecord, dropped: DroppedCounts): string | undefined {
  const reads = (line: string) => !/[\r\n]/.test(line) && sameContent(parseFtraceLine(line, record.span), record);
  if (reads(record.text)) return record.text;
  const formatted = formatFtrace(record);
  if (formatted !== undefined && reads(formatted)) return formatted;
  return drop(dropped, `${record.type} records with no ftrace form`);
}

/**
 * Ftrace text, line by line, with each line's end as the input had it: a line kept byte for
 * byte ends in CR LF when the next record starts two bytes after its text (a CRLF trace), else
 * in LF. So a CRLF trace comes back with its offsets too. Holds one line.
 */
export class FtraceTextWriter {
  private pending: { line: string; record: TraceRecord } | undefined;

  constructor(private readonly dropped: DroppedCounts) {}

  /** Text to write for `record`: the line before it, now that its end is known. */
  push(record: TraceRecord): string {
    const out = this.pending === undefined ? '' : this.finish(this.pending, record);
    const line = ftraceLineFor(record, this.dropped);
    this.pending = line === undefined ? undefined : { line, record };
    return out;
  }

  /** The last line. */
  end(): string {
    const out = this.pending === undefined ? '' : `${this.pending.line}\n`;
    this.pending = undefined;
    return out;
  }

  private finish(pending: { line: string; record: TraceRecord }, next: TraceRecord): string {
    const { line, record } = pending;
    const crlf =
      line === record.text &&
      next.span.file === record.span.file &&
      next.span.line === record.span.line + 1 &&
      next.span.offset === record.span.offset + Buffer.byteLength(line) + 2;
    return `${line}${crlf ? '\r\n' : '\n'}`;
  }
}

export const csvColumns = ['timestamp', 'cpu', 'pid', 'comm', 'event', 'fields', 'tgid', 'flags'] as const;
const csvColumnsWithoutTgid = csvColumns.filter((column) => column !== 'tgid');

/**
 * CSV rows in the default layout. The tgid column is written when the first records the writer
 * sees (`decideColumns`) hold an event with a TGID: without it, a TGID is lost; with it, an
 * event without one reads back as an unknown TGID (null). Both are counted.
 */
export class CsvTraceWriter {
  private withTgid = true;

  constructor(private readonly dropped: DroppedCounts) {}

  /** The header row, chosen from the first records of the trace. */
  headerRow(firstRecords: readonly TraceRecord[]): string {
    const events = firstRecords.filter((record): record is EventRecord => record.type === 'event');
    this.withTgid = events.some((record) => record.tgid !== undefined);
    return (this.withTgid ? csvColumns : csvColumnsWithoutTgid).join(',');
  }

  /** One CSV row for `record` (no line end), or undefined when it is left out. */
  row(record: TraceRecord): string | undefined {
    if (record.type === 'event') return this.eventRow(record);
    // Non-event rows are read with the ftrace grammar (csvRows.ts): the ftrace line is the row,
    // unless a quote in it would open a quoted cell and swallow the rows after it.
    const line = record.type === 'malformed' ? record.text : ftraceLineFor(record, this.dropped);
    if (line === undefined) return undefined;
    if (line.includes('"') || /[\r\n]/.test(line)) return drop(this.dropped, `${record.type} records with a quote or line break (no CSV form)`);
    if (record.type === 'malformed') {
      // A malformed line must stay malformed: it must not read as a marker or an event row.
      const reread = parseFtraceLine(line, record.span);
      if (reread.type !== 'malformed' || line.split(',').length === (this.withTgid ? csvColumns.length : csvColumnsWithoutTgid.length)) {
        return drop(this.dropped, 'malformed records that would read as valid CSV rows');
      }
    }
    return line;
  }

  private eventRow(record: EventRecord): string | undefined {
    if (record.pid < 0) return drop(this.dropped, 'events without a PID (no CSV form)');
    if (record.name.trim() !== record.name || record.name.length === 0 || (record.flags !== undefined && record.flags.trim() !== record.flags)) {
      return drop(this.dropped, 'events whose name or flags have outer blanks (no CSV form)');
    }
    const cells = [secondsText(record), String(record.cpu), String(record.pid), record.task, record.name, record.body];
    if (this.withTgid) {
      if (record.tgid === undefined) drop(this.dropped, 'events without a TGID column, read back as an unknown TGID');
      cells.push(typeof record.tgid === 'number' ? String(record.tgid) : '-----');
    } else if (record.tgid !== undefined) {
      drop(this.dropped, 'TGIDs left out (the first records had none, so there is no tgid column)');
    }
    cells.push(record.flags ?? '');
    return cells.map(csvCell).join(',');
  }
}
