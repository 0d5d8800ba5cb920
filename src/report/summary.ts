import type { ErrorDescription } from '../errors.js';
import { counted } from '../plural.js';
import { joinLines } from './layout.js';
import type { Report, Verdict } from './report.js';
import type { Timeline } from '../timeline/types.js';

/** What `analyze` got for one trace of several: its report (and timeline, for HTML), or the error that stopped it. */
export type TraceOutcome = { readonly file: string; readonly report: Report; readonly timeline?: Timeline } | { readonly file: string; readonly error: ErrorDescription };

/**
 * How bad an outcome is, worst highest: a trace that could not be analysed says nothing about
 * its system, so it outranks any verdict; a proven finding outranks "could not tell" (as within
 * one trace, where a conclusive finding makes the verdict `findings` despite a data loss).
 */
const verdictRank: Record<Verdict, number> = { ok: 0, inconclusive: 1, findings: 2 };
const errorRank = 3;

function rankOf(outcome: TraceOutcome): number {
  return 'error' in outcome ? errorRank : verdictRank[outcome.report.verdict];
}

/** Outcomes worst first; equals keep argument order, so the first is the one the exit code follows. */
export function worstFirst(outcomes: readonly TraceOutcome[]): TraceOutcome[] {
  return outcomes
    .map((outcome, index) => ({ outcome, index }))
    .sort((a, b) => rankOf(b.outcome) - rankOf(a.outcome) || a.index - b.index)
    .map(({ outcome }) => outcome);
}

/** An internal error's message is its stack: the summary shows its first line. */
function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end < 0 ? text : text.slice(0, end);
}

/** One trace of several, as the summaries list it: its verdict (or `error`), its file, and what it found or why it failed. */
export interface SummaryRow {
  readonly status: Verdict | 'error';
  readonly file: string;
  readonly detail: string;
}

/** The rows of the combined summary, worst first. */
export function summaryRows(outcomes: readonly TraceOutcome[]): SummaryRow[] {
  return worstFirst(outcomes).map((outcome) => {
    if ('error' in outcome) return { status: 'error', file: outcome.file, detail: `${firstLine(outcome.error.message)} [${outcome.error.code}]` };
    const { report } = outcome;
    const conclusive = report.findings.filter((finding) => !finding.inconclusive).length;
    const inconclusive = report.findings.length - conclusive;
    return { status: report.verdict, file: report.file, detail: `${counted(conclusive, 'finding')}${inconclusive > 0 ? `, ${inconclusive} inconclusive` : ''}` };
  });
}

/** "2 traces, 1 failed". */
export function summaryTitle(outcomes: readonly TraceOutcome[]): string {
  const failed = outcomes.filter((outcome) => 'error' in outcome).length;
  return `${counted(outcomes.length, 'trace')}${failed > 0 ? `, ${failed} failed` : ''}`;
}

/**
 * The combined summary after several traces: one line per trace, worst first, never wrapped
 * (a row per trace, for grep; the traces' own reports are the ones made for mail).
 */
export function renderSummary(outcomes: readonly TraceOutcome[]): string {
  const rows = summaryRows(outcomes).map((row) => `  ${row.status.padEnd(12)} ${row.file}  (${row.detail})`);
  return joinLines([`summary: ${summaryTitle(outcomes)}`, ...rows].map((text) => ({ text })), false);
}

export type SummaryEntry = { readonly file: string; readonly verdict: Verdict } | { readonly file: string; readonly error: ErrorDescription };

/** The JSON summary: one entry per trace in argument order, a verdict or the error. */
export function summaryEntries(outcomes: readonly TraceOutcome[]): SummaryEntry[] {
  return outcomes.map((outcome) => ('error' in outcome ? { file: outcome.file, error: outcome.error } : { file: outcome.file, verdict: outcome.report.verdict }));
}
