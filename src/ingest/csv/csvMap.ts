/**
 * CSV maps (`--csv-map FILE`): how another CSV layout (a bpftrace or SQL export) reads as the
 * tool's own (`timestamp,cpu,pid,comm,event,fields`, docs/trace-format.md, "CSV"). A map renames
 * columns, says the timestamp's unit and builds the event's body from argument columns:
 *
 *   { "format": "vmid-replay-csv-map", "version": 1,
 *     "columns": { "timestamp": "ts_ns", "cpu": "cpu_id", "comm": "task", "event": "event_name" },
 *     "timestampUnit": "ns",
 *     "args": { "kvm_vmid": "arg_kvm_vmid", "id": "arg_id" } }
 *
 * or `"argPrefix": "arg_"` to take every `arg_NAME` column as the argument NAME. Like the probe
 * map, it knows no KVM: it only says where the columns of an ftrace event line are.
 */

import { VmidReplayError } from '../../errors.js';

/** The columns of the tool's own layout, i.e. the parts of an ftrace event line. */
export const csvLayoutFields = ['timestamp', 'cpu', 'pid', 'comm', 'event', 'fields', 'tgid', 'flags'] as const;
export type CsvLayoutField = (typeof csvLayoutFields)[number];

/** Fields without which a row cannot be an event line. */
export const requiredCsvFields: readonly CsvLayoutField[] = ['timestamp', 'cpu', 'event'];

export const timestampUnits = ['s', 'ms', 'us', 'ns'] as const;
export type TimestampUnit = (typeof timestampUnits)[number];

export interface CsvArgColumn {
  /** The argument's name in the event body (`kvm_vmid`). */
  readonly name: string;
  /** The column it is read from (`arg_kvm_vmid`). */
  readonly column: string;
}

export interface CsvMap {
  /** Where it came from, for messages. */
  readonly source: string;
  /** Layout field to column name; a field not listed is read from a column of its own name. */
  readonly columns: ReadonlyMap<CsvLayoutField, string>;
  /** Unit of the timestamp column; undefined: the default layout's `secs.fraction` or integer nanoseconds. */
  readonly timestampUnit?: TimestampUnit;
  /** Argument columns appended to the body as `name=value`, in this order. */
  readonly args: readonly CsvArgColumn[];
  /** Every column starting with this prefix is an argument named by the rest of its name. */
  readonly argPrefix?: string;
  /** One character; a comma unless the map says otherwise. */
  readonly delimiter: string;
}

const topLevelKeys = new Set(['format', 'version', 'columns', 'timestampUnit', 'args', 'argPrefix', 'delimiter', 'description']);

/** An argument name must survive `name=value` in a body: no blanks, `=` or quotes. */
const argNameSyntax = /^[A-Za-z_][A-Za-z0-9_.]*$/;

function fail(source: string, message: string): never {
  throw new VmidReplayError('CONFIG_INVALID', `csv map: ${message}`, { file: source });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function columnName(source: string, key: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) fail(source, `${key}: expected a column name, found ${JSON.stringify(value)}`);
  return value.trim();
}

/** Validates a parsed csv-map document; errors name the file and the key. */
export function parseCsvMap(document: unknown, source: string): CsvMap {
  if (!isRecord(document)) fail(source, 'expected a JSON object');
  if (document['format'] !== 'vmid-replay-csv-map') fail(source, `format: expected "vmid-replay-csv-map", found ${JSON.stringify(document['format'])}`);
  if (document['version'] !== 1) fail(source, `version: expected 1, found ${JSON.stringify(document['version'])}`);
  for (const key of Object.keys(document)) {
    if (!topLevelKeys.has(key)) fail(source, `${key}: unknown key (expected one of ${[...topLevelKeys].join(', ')})`);
  }

  const columns = new Map<CsvLayoutField, string>();
  const rawColumns = document['columns'] ?? {};
  if (!isRecord(rawColumns)) fail(source, `columns: expected an object of layout field: column name (fields: ${csvLayoutFields.join(', ')})`);
  for (const [field, value] of Object.entries(rawColumns)) {
    const layoutField = csvLayoutFields.find((name) => name === field);
    if (layoutField === undefined) fail(source, `columns.${field}: unknown layout field (expected one of ${csvLayoutFields.join(', ')})`);
    columns.set(layoutField, columnName(source, `columns.${field}`, value));
  }

  const unitValue = document['timestampUnit'];
  const timestampUnit = unitValue === undefined ? undefined : timestampUnits.find((unit) => unit === unitValue);
  if (unitValue !== undefined && timestampUnit === undefined) fail(source, `timestampUnit: expected one of ${timestampUnits.join(', ')}, found ${JSON.stringify(unitValue)}`);

  const args: CsvArgColumn[] = [];
  const rawArgs = document['args'] ?? {};
  if (!isRecord(rawArgs)) fail(source, 'args: expected an object of argument name: column name');
  for (const [name, value] of Object.entries(rawArgs)) {
    if (!argNameSyntax.test(name)) fail(source, `args.${name}: an argument name is letters, digits, "_" and "." (it is printed as name=value)`);
    args.push({ name, column: columnName(source, `args.${name}`, value) });
  }

  const prefixValue = document['argPrefix'];
  if (prefixValue !== undefined && (typeof prefixValue !== 'string' || prefixValue.length === 0)) fail(source, `argPrefix: expected a non-empty string, found ${JSON.stringify(prefixValue)}`);

  const delimiterValue = document['delimiter'] ?? ',';
  if (typeof delimiterValue !== 'string' || delimiterValue.length !== 1 || '"\r\n'.includes(delimiterValue)) {
    fail(source, `delimiter: expected one character other than a quote or a line break, found ${JSON.stringify(delimiterValue)}`);
  }

  return {
    source,
    columns,
    ...(timestampUnit === undefined ? {} : { timestampUnit }),
    args,
    ...(prefixValue === undefined ? {} : { argPrefix: prefixValue }),
    delimiter: delimiterValue,
  };
}
