/**
 * The JSON report: the `Report` itself with a `schemaVersion`, described by
 * docs/report.schema.json, which scripts/reportSchema.ts generates from the types below
 * (`JsonOutput`) and a test holds to them. Field names are an interface: fields are added,
 * never renamed; a rename, a removal or a change of meaning bumps `reportSchemaVersion`.
 */
import type { ErrorDescription } from '../errors.js';
import type { Report } from './report.js';
import type { SummaryEntry } from './summary.js';

export const reportSchemaVersion = 1;

interface Versioned {
  /** Which version of docs/report.schema.json this document follows. */
  readonly schemaVersion: typeof reportSchemaVersion;
}

/** One trace's report (`analyze --format json` with one trace, and `<name>.json` in `--out`). */
export interface JsonReport extends Versioned, Report {}

/** What `analyze --out` writes for a trace that could not be analysed, in place of its report. */
export interface JsonFailedTrace extends Versioned {
  readonly tool: 'vmid-replay';
  readonly file: string;
  readonly error: ErrorDescription;
}

/** Several traces on stdout: each report, and one summary entry per trace in argument order (a verdict or the error). */
export interface JsonSeveralTraces extends Versioned {
  readonly reports: readonly Report[];
  readonly summary: readonly SummaryEntry[];
}

/** Every document `analyze` writes as JSON. */
export type JsonOutput = JsonReport | JsonFailedTrace | JsonSeveralTraces;

/** Bigints (IPA addresses) become hex strings, so the output is always valid JSON. */
function stringify(value: JsonOutput): string {
  return `${JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? `0x${inner.toString(16)}` : inner), 2)}\n`;
}

export function renderJson(report: Report): string {
  return stringify({ schemaVersion: reportSchemaVersion, ...report });
}

export function renderFailedJson(file: string, error: ErrorDescription): string {
  return stringify({ schemaVersion: reportSchemaVersion, tool: 'vmid-replay', file, error });
}

export function renderSeveralJson(reports: readonly Report[], summary: readonly SummaryEntry[]): string {
  return stringify({ schemaVersion: reportSchemaVersion, reports, summary });
}
