import type { Report } from './report.js';

/** JSON form; bigints (IPA addresses) become hex strings so the output is always valid JSON. */
/** JSON of a report, or of several reports with their summary. */
export function renderJson(value: Report | { readonly reports: readonly Report[]; readonly summary: unknown }): string {
  return `${JSON.stringify(value, (_key, value: unknown) => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value), 2)}\n`;
}
