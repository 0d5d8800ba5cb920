/**
 * Findings as CSV, one row each, for spreadsheets and scripts: where (file, line, time), what
 * (check, severity, message), who (the parties), the proof (witness lines) and what was needed,
 * with its place as line numbers. RFC 4180 quoting; the header names are an interface, as the
 * JSON report's field names are.
 */
import type { Finding } from '../checks/types.js';
import { csvCell } from '../csv.js';
import type { ErrorDescription } from '../errors.js';
import type { Report } from './report.js';
import { partyDetail } from './words.js';

export const findingColumns = [
  'file',
  'line',
  'time',
  'check',
  'severity',
  'inconclusive',
  'message',
  'parties',
  'witness_lines',
  'needed',
  'needed_after_line',
  'needed_before_line',
] as const;

/** A timestamp as the trace prints it (`secs.usecs`), exact: never a float. */
function secondsText(tsUs: number): string {
  return `${Math.floor(tsUs / 1_000_000)}.${String(tsUs % 1_000_000).padStart(6, '0')}`;
}

function row(cells: readonly string[]): string {
  return cells.map(csvCell).join(',');
}

function findingRow(finding: Finding): string {
  const parties = finding.parties.map((party) => {
    const detail = partyDetail(party);
    return detail.length === 0 ? party.name : `${party.name} (${detail})`;
  });
  return row([
    finding.file,
    String(finding.line),
    secondsText(finding.tsUs),
    finding.checkId,
    finding.severity,
    finding.inconclusive ? 'yes' : 'no',
    finding.message,
    parties.join('; '),
    finding.witnesses.map((witness) => witness.ref.line).join(' '),
    finding.needed ?? '',
    finding.remedy?.afterLine === undefined ? '' : String(finding.remedy.afterLine),
    finding.remedy?.beforeLine === undefined ? '' : String(finding.remedy.beforeLine),
  ]);
}

/** The findings of several reports under one header (a report without findings adds no row). */
export function renderCsv(reports: readonly Report[]): string {
  return `${[row(findingColumns), ...reports.flatMap((report) => report.findings.map(findingRow))].join('\n')}\n`;
}

/** What `analyze --out` writes for a trace that could not be analysed: not a findings table, so its own header. */
export function renderFailedCsv(file: string, error: ErrorDescription): string {
  return `${row(['file', 'error', 'code'])}\n${row([file, error.message, error.code])}\n`;
}
