/**
 * CSV rows to records: the header row names the columns, every later row is one ftrace event
 * line cut into columns (docs/trace-format.md, "CSV"). This file knows the layout, not the CSV
 * syntax (csv-parse splits the rows, csvImporter.ts feeds them here) and not KVM: an event row
 * becomes the same EventRecord its ftrace line would, so decoding and replay cannot tell.
 *
 *   timestamp,cpu,pid,comm,event,fields
 *   1.000002,1,4001,CPU 1/KVM,vmid_update,(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff000010001000 id=0
 *
 * Ftrace's own non-event lines keep their meaning on a row of their own: `#` comments
 * (`# vmid-replay: vmid_bits=8 cpus=4`, `##### CPU 2 buffer started ####`), blank lines,
 * `CPU:2 [LOST 123 EVENTS]` and ` => func+0x10/0x20` stack lines.
 */

import { parseFtraceLine } from '../ftrace/ftraceLine.js';
import { csvLayoutFields, requiredCsvFields, type CsvLayoutField, type CsvMap, type TimestampUnit } from './csvMap.js';
import type { EventRecord, SourceSpan, TraceRecord } from '../records.js';

interface ArgIndex {
  readonly name: string;
  readonly index: number;
}

/** Where each part of an event line is, resolved once from the header row. */
interface ColumnPlan {
  readonly headerLine: number;
  readonly width: number;
  /** Column index and column name per layout field present in the file. */
  readonly columns: ReadonlyMap<CsvLayoutField, { readonly index: number; readonly name: string }>;
  readonly args: readonly ArgIndex[];
}

interface FailedPlan {
  readonly headerLine: number;
  readonly expected: string;
}

const argNameSyntax = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const decimalSyntax = /^(\d{1,20})(?:\.(\d+))?$/;
const fractionDigitsOf: Readonly<Record<TimestampUnit, number>> = { s: 9, ms: 6, us: 3, ns: 0 };

/** A value quoted for a message, cut so that a hostile row cannot make a huge one. */
function shown(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

/**
 * A timestamp, exactly (BigInt arithmetic, never a float). Without a unit: `secs.fraction` with 1
 * to 9 fractional digits as ftrace prints it (`1520.114223`), or integer nanoseconds
 * (`1520114223000`, as bpftrace's `nsecs` and most SQL exports give it). With a unit: a decimal
 * number in that unit with no more digits than nanoseconds allow.
 */
export function parseCsvTimestamp(text: string, unit: TimestampUnit | undefined): { us: number; ns: number } | undefined {
  const match = decimalSyntax.exec(text.trim());
  if (match === null) return undefined;
  const whole = match[1] as string;
  const fraction = match[2];
  const digits = unit === undefined ? (fraction === undefined ? 0 : 9) : fractionDigitsOf[unit];
  if (fraction !== undefined && fraction.length > digits) return undefined;
  const ns = BigInt(whole) * 10n ** BigInt(digits) + BigInt((fraction ?? '').padEnd(digits, '0') || '0');
  const us = ns / 1000n;
  return us > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : { us: Number(us), ns: Number(ns % 1000n) };
}

function timestampExpected(column: string, unit: TimestampUnit | undefined): string {
  return unit === undefined
    ? `a timestamp in column "${column}": seconds with 1 to 9 decimals ("1520.114223") or integer nanoseconds`
    : `a timestamp in ${unit} in column "${column}"${fractionDigitsOf[unit] === 0 ? ', an integer' : ` with at most ${fractionDigitsOf[unit]} decimals`}`;
}

/** A non-negative integer column (CPU, PID), at most 15 digits so that it stays exact. */
function parseCount(text: string): number | undefined {
  const trimmed = text.trim();
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : undefined;
}

/** `name=value`; a value with blanks is quoted, as trace_probe.c prints a string. */
function argText(name: string, value: string): string {
  return /[ \t]/.test(value) && !value.startsWith('"') ? `${name}="${value}"` : `${name}=${value}`;
}

/** Ftrace's non-event lines, kept as the ftrace grammar reads them. */
function ftraceMarker(text: string, span: SourceSpan): TraceRecord | undefined {
  // Blanks as the ftrace grammar skips them (not String.trim's wider set, which takes a BOM or a CR).
  const trimmed = text.replace(/^[ \t]+/, '');
  if (trimmed.length === 0 || trimmed.startsWith('#') || trimmed.startsWith('=>')) return parseFtraceLine(text, span);
  if (trimmed.startsWith('CPU:')) {
    const record = parseFtraceLine(text, span);
    if (record.type === 'lost') return record;
  }
  return undefined;
}

/** Resolves the header row into a plan, or says what a usable header row would have held. */
function planFromHeader(names: readonly string[], headerLine: number, map: CsvMap | undefined): ColumnPlan | FailedPlan {
  const fail = (expected: string): FailedPlan => ({ headerLine, expected });
  const indexOf = new Map<string, number>();
  const repeated = new Set<string>();
  names.forEach((raw, index) => {
    const name = raw.trim();
    if (indexOf.has(name)) repeated.add(name);
    else indexOf.set(name, index);
  });
  const where = (key: string) => (map === undefined ? 'the default CSV layout' : `${map.source}: ${key}`);
  const find = (column: string, key: string): number | FailedPlan | undefined => {
    if (repeated.has(column)) return fail(`a header row naming the column "${column}" once (${where(key)})`);
    return indexOf.get(column);
  };

  const columns = new Map<CsvLayoutField, { index: number; name: string }>();
  for (const field of csvLayoutFields) {
    const mapped = map?.columns.get(field);
    const column = mapped ?? field;
    const index = find(column, `columns.${field}`);
    if (typeof index === 'object') return index;
    if (index === undefined) {
      if (mapped !== undefined) return fail(`a header row with the column "${column}" (${where(`columns.${field}`)})`);
      if (requiredCsvFields.includes(field)) {
        return fail(
          map === undefined
            ? `a header row naming at least the columns ${requiredCsvFields.join(', ')} (docs/trace-format.md, CSV), found ${shown(names.join(','))}`
            : `a header row with a column "${field}", or "columns": { "${field}": ... } in ${map.source}`,
        );
      }
      continue;
    }
    columns.set(field, { index, name: column });
  }

  const used = new Set([...columns.values()].map((column) => column.index));
  const args: ArgIndex[] = [];
  const addArg = (name: string, index: number, key: string): FailedPlan | undefined => {
    if (!argNameSyntax.test(name)) return fail(`argument columns named with letters, digits, "_" and "." (${where(key)}), found ${shown(name)}`);
    used.add(index);
    args.push({ name, index });
    return undefined;
  };
  if (map === undefined) {
    // The default layout: every other column is an argument of the event, named by its header.
    for (const [index, raw] of names.entries()) {
      const name = raw.trim();
      if (used.has(index) || name.length === 0) continue;
      const failed = repeated.has(name) ? fail(`a header row naming the column "${name}" once (${where('')})`) : addArg(name, index, 'other columns');
      if (failed !== undefined) return failed;
    }
  } else {
    for (const arg of map.args) {
      const index = find(arg.column, `args.${arg.name}`);
      if (typeof index === 'object') return index;
      if (index === undefined) return fail(`a header row with the column "${arg.column}" (${where(`args.${arg.name}`)})`);
      const failed = addArg(arg.name, index, `args.${arg.name}`);
      if (failed !== undefined) return failed;
    }
    const prefix = map.argPrefix;
    if (prefix !== undefined) {
      for (const [index, raw] of names.entries()) {
        const name = raw.trim();
        if (used.has(index) || !name.startsWith(prefix) || name.length === prefix.length) continue;
        const failed = repeated.has(name) ? fail(`a header row naming the column "${name}" once (${where('argPrefix')})`) : addArg(name.slice(prefix.length), index, 'argPrefix');
        if (failed !== undefined) return failed;
      }
    }
  }
  return { headerLine, width: names.length, columns, args };
}

/** Turns the rows of one CSV file, in order, into records. Never throws. */
export class CsvRowReader {
  private plan: ColumnPlan | FailedPlan | undefined;

  constructor(private readonly map: CsvMap | undefined) {}

  /** One row: its fields as csv-parse split them, its text (without the line end) and position. */
  record(fields: readonly string[], text: string, span: SourceSpan): TraceRecord {
    const marker = ftraceMarker(text, span);
    if (marker !== undefined) return marker;
    if (this.plan === undefined) {
      this.plan = planFromHeader(fields, span.line, this.map);
      return 'expected' in this.plan ? { type: 'malformed', span, text, expected: this.plan.expected } : { type: 'header', span, text };
    }
    if ('expected' in this.plan) {
      return { type: 'malformed', span, text, expected: `rows after a usable header row (the header row at line ${this.plan.headerLine} was not one)` };
    }
    return this.eventRecord(this.plan, fields, text, span);
  }

  private eventRecord(plan: ColumnPlan, fields: readonly string[], text: string, span: SourceSpan): TraceRecord {
    const malformed = (expected: string): TraceRecord => ({ type: 'malformed', span, text, expected });
    if (fields.length !== plan.width) return malformed(`${plan.width} columns as in the header row at line ${plan.headerLine}, found ${fields.length}`);
    const column = (field: CsvLayoutField) => plan.columns.get(field);
    const valueOf = (field: CsvLayoutField): string | undefined => {
      const at = column(field);
      return at === undefined ? undefined : fields[at.index];
    };
    const nameOf = (field: CsvLayoutField) => column(field)?.name ?? field;

    const unit = this.map?.timestampUnit;
    const stampText = valueOf('timestamp') ?? '';
    const stamp = parseCsvTimestamp(stampText, unit);
    if (stamp === undefined) return malformed(`${timestampExpected(nameOf('timestamp'), unit)}, found ${shown(stampText)}`);
    const cpuText = valueOf('cpu') ?? '';
    const cpu = parseCount(cpuText);
    if (cpu === undefined) return malformed(`a CPU number (a non-negative integer) in column "${nameOf('cpu')}", found ${shown(cpuText)}`);
    const name = (valueOf('event') ?? '').trim();
    if (name.length === 0) return malformed(`an event name in column "${nameOf('event')}"`);

    const pidText = valueOf('pid');
    // No PID column (a bpftrace export may have none): -1, as no real task has it.
    const pid = pidText === undefined ? -1 : parseCount(pidText);
    if (pid === undefined) return malformed(`a PID (a non-negative integer) in column "${nameOf('pid')}", found ${shown(pidText ?? '')}`);
    const tgidText = valueOf('tgid')?.trim();
    let tgid: number | null | undefined;
    if (tgidText !== undefined) {
      // (-----) is how ftrace prints an unknown TGID; an empty cell says the same.
      tgid = tgidText === '' || /^-+$/.test(tgidText) ? null : parseCount(tgidText);
      if (tgid === undefined) return malformed(`a TGID (a non-negative integer, or empty or "-----" when unknown) in column "${nameOf('tgid')}", found ${shown(tgidText)}`);
    }
    const flagsText = valueOf('flags')?.trim();
    const flags = flagsText === undefined || flagsText === '' ? undefined : flagsText;

    let body = valueOf('fields') ?? '';
    for (const arg of plan.args) {
      const value = (fields[arg.index] ?? '').trim();
      if (value.length === 0) continue;
      body += `${body.length > 0 ? ' ' : ''}${argText(arg.name, value)}`;
    }
    // "<...>" is ftrace's own spelling of a task whose name was not recorded.
    const task = valueOf('comm') ?? '<...>';
    const record: EventRecord = { type: 'event', span, text, task, pid, tgid, cpu, flags, tsUs: stamp.us, tsNs: stamp.ns, name, body };
    return record;
  }
}
