import type { Report } from './report.js';

/** JSON form; bigints (IPA addresses) become hex strings so the output is always valid JSON. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value), 2)}\n`;
}
