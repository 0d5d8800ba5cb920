/**
 * Converts ftrace text to CSV (docs/trace-format.md, "CSV") for the round-trip tests: one row
 * per line, so line N of the trace is line N + 1 of the CSV (the header row comes first).
 * Event lines become rows; comments, blank lines and markers are written as they are.
 */
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';
import type { EventRecord } from '../../src/ingest/records.js';

/** RFC 4180 quoting: a field holding the delimiter, a quote or a line break is quoted. */
export function csvField(value: string, delimiter = ','): string {
  return value.includes(delimiter) || /["\r\n]/.test(value) || value.trim() !== value ? `"${value.replaceAll('"', '""')}"` : value;
}

/** `secs.usecs`, or `secs.nsecs` when the line had nanoseconds: the exact timestamp. */
export function secondsText(record: EventRecord): string {
  const secs = Math.floor(record.tsUs / 1_000_000);
  const usecs = String(record.tsUs % 1_000_000).padStart(6, '0');
  return record.tsNs === 0 ? `${secs}.${usecs}` : `${secs}.${usecs}${String(record.tsNs).padStart(3, '0')}`;
}

export type CsvLayout =
  /** timestamp,cpu,pid,comm,event,fields (+ tgid, flags when the trace has them). */
  | 'default'
  /** ts_ns,cpu_id,task,event_name,body: read with `mappedLayoutMap`. */
  | 'mapped';

/** The --csv-map document for the 'mapped' layout. */
export const mappedLayoutMap = {
  format: 'vmid-replay-csv-map',
  version: 1,
  columns: { timestamp: 'ts_ns', cpu: 'cpu_id', pid: 'tid', comm: 'task', event: 'event_name', fields: 'body', tgid: 'tgid', flags: 'irq' },
  timestampUnit: 'ns',
} as const;

export function ftraceToCsv(text: string, layout: CsvLayout = 'default'): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const parsed = lines.map((line, i) => parseFtraceLine(line, { file: 'ftrace', line: i + 1, offset: 0 }));
  const events = parsed.filter((record): record is EventRecord => record.type === 'event');
  // The mapped layout names its tgid and irq columns in the map, so it always has them.
  const withTgid = layout === 'mapped' || events.some((record) => record.tgid !== undefined);
  const withFlags = layout === 'mapped' || events.some((record) => record.flags !== undefined);
  const names =
    layout === 'default'
      ? ['timestamp', 'cpu', 'pid', 'comm', 'event', 'fields', ...(withTgid ? ['tgid'] : []), ...(withFlags ? ['flags'] : [])]
      : ['ts_ns', 'cpu_id', 'tid', 'task', 'event_name', 'body', 'tgid', 'irq'];
  const out = [names.join(',')];
  parsed.forEach((record, i) => {
    if (record.type !== 'event') {
      out.push(lines[i] as string);
      return;
    }
    const stamp = layout === 'default' ? secondsText(record) : String(BigInt(record.tsUs) * 1000n + BigInt(record.tsNs));
    const cells = [stamp, String(record.cpu), String(record.pid), record.task, record.name, record.body];
    if (withTgid) cells.push(record.tgid === undefined ? '' : record.tgid === null ? '-----' : String(record.tgid));
    if (withFlags) cells.push(record.flags ?? '');
    out.push(cells.map((cell) => csvField(cell)).join(','));
  });
  return `${out.join('\n')}\n`;
}
