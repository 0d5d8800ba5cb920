/**
 * Plain-text report, ready to paste into a mailing-list reply: ASCII, prose wrapped at 72
 * columns, trace lines quoted whole. The summary first (trace, verdict, configuration, counts
 * per check), then the findings in time order, each shaped like a lockdep report
 * (textFinding.ts), then the diagnostics. It speaks the kernel's and the user's words, never
 * the JSON report's field names.
 */
import type { Finding } from '../checks/types.js';
import type { ErrorDescription } from '../errors.js';
import { joinLines, prose, type Line, type Tone } from './layout.js';
import type { Report, Verdict } from './report.js';
import { findingLines } from './textFinding.js';
import { factText, shownDiagnostics, summaryFacts } from './words.js';

export interface TextOptions {
  /** SGR colours (a terminal; never a file). */
  readonly colour?: boolean;
  /**
   * Show only the first N findings of each check, in time order, and count the rest (`--format
   * mail`: a review wants the shape of a problem, not its 400 instances). Numbers stay those of
   * the full report.
   */
  readonly perCheck?: number;
}

const verdictTones: Readonly<Record<Verdict, Tone>> = { ok: 'ok', findings: 'error', inconclusive: 'inconclusive' };

/** Continuation lines of a summary fact or a diagnostic are indented under their label. */
const hanging = '  ';

function checkLines(report: Report): Line[] {
  return report.checks.map((check) => {
    const extra = check.inconclusive > 0 ? ` (+${check.inconclusive} inconclusive)` : '';
    return { text: `  ${String(check.count).padStart(5)}${extra}  ${check.id}` };
  });
}

/** The findings a report shows, each with its number in the full report, and how many of each check it leaves out. */
function shownFindings(findings: readonly Finding[], perCheck: number | undefined): { shown: { finding: Finding; number: number }[]; omitted: Map<string, number> } {
  const seen = new Map<string, number>();
  const omitted = new Map<string, number>();
  const shown: { finding: Finding; number: number }[] = [];
  findings.forEach((finding, index) => {
    const count = (seen.get(finding.checkId) ?? 0) + 1;
    seen.set(finding.checkId, count);
    if (perCheck === undefined || count <= perCheck) shown.push({ finding, number: index + 1 });
    else omitted.set(finding.checkId, (omitted.get(finding.checkId) ?? 0) + 1);
  });
  return { shown, omitted };
}

function omittedLines(omitted: ReadonlyMap<string, number>, perCheck: number): Line[] {
  if (omitted.size === 0) return [];
  return [
    { text: '' },
    ...prose(`not shown (the first ${perCheck} of each check are; the full report has them all):`),
    ...[...omitted].map(([checkId, count]) => ({ text: `  ${String(count).padStart(5)}  more ${checkId}` })),
  ];
}

function diagnosticLines(report: Report): Line[] {
  return shownDiagnostics(report).flatMap((d) => {
    const sample = d.samples[0];
    const where = sample === undefined ? '' : `, first at ${sample.file}:${sample.line}: ${sample.detail}`;
    return prose(`${d.code} (${d.severity})${where}`, `  ${String(d.count).padStart(7)}  `, ' '.repeat(11));
  });
}

export function renderText(report: Report, options: TextOptions = {}): string {
  const lines: Line[] = [{ text: `vmid-replay: ${report.file}` }, { text: `verdict: ${report.verdict}`, tone: verdictTones[report.verdict] }];
  for (const fact of summaryFacts(report)) lines.push(...prose(factText(fact), '', hanging));
  lines.push({ text: '' }, { text: 'checks:', tone: 'heading' }, ...checkLines(report));
  const descriptions = new Map(report.checks.map((check) => [check.id, check.description]));
  const { shown, omitted } = shownFindings(report.findings, options.perCheck);
  for (const { finding, number } of shown) lines.push({ text: '' }, ...findingLines(finding, number, descriptions.get(finding.checkId)));
  if (options.perCheck !== undefined) lines.push(...omittedLines(omitted, options.perCheck));
  const diagnostics = diagnosticLines(report);
  if (diagnostics.length > 0) lines.push({ text: '' }, { text: 'diagnostics:', tone: 'heading' }, ...diagnostics);
  return joinLines(lines, options.colour === true);
}

/** What `analyze --out` writes for a trace that could not be analysed, in place of its report. */
export function renderFailedTrace(file: string, error: ErrorDescription): string {
  return joinLines([{ text: `vmid-replay: ${file}` }, ...prose(`error: ${error.message} [${error.code}]`, '', hanging)], false);
}
