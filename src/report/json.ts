import type { ErrorDescription } from '../errors.js';
import type { Report } from './report.js';
import type { SummaryEntry } from './summary.js';

/** What `analyze --out` writes for a trace that could not be analysed, in place of its report. */
export interface FailedTrace {
  readonly tool: 'vmid-replay';
  readonly file: string;
  readonly error: ErrorDescription;
}

/**
 * JSON of a report, of several reports with their summary, or of a trace that failed; bigints
 * (IPA addresses) become hex strings so the output is always valid JSON. A report's timeline
 * (collected for the HTML report) is left out: the JSON report's shape does not depend on
 * which other formats were asked for.
 */
export function renderJson(value: Report | FailedTrace | { readonly reports: readonly Report[]; readonly summary: readonly SummaryEntry[] }): string {
  return `${JSON.stringify(value, jsonValue, 2)}\n`;
}

function jsonValue(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (key === 'timeline' && (this as { tool?: unknown }).tool === 'vmid-replay') return undefined;
  return value;
}
