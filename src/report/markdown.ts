/**
 * Markdown report, for issues and pull requests: the same facts as the text report (words.ts)
 * as GitHub-flavoured Markdown, with tables where the text report has columns and the witness
 * lines in code blocks. A report is a list of sections, so that a new one (the what-if tables)
 * is one more function over the `Report`.
 */
import type { ScenarioStep } from '../checks/findingParts.js';
import type { Finding, Witness } from '../checks/types.js';
import type { ErrorDescription } from '../errors.js';
import { toAscii } from './layout.js';
import type { Report } from './report.js';
import { summaryRows, summaryTitle, type TraceOutcome } from './summary.js';
import { partyDetail, severityTag, shownDiagnostics, summaryFacts } from './words.js';

/**
 * Markdown's special characters in prose, escaped: emphasis, code, links, HTML and table pipes.
 * An underscore inside a word (`kvm_arm_pinned_vmid_get`) emphasises nothing and stays as it is.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*<>[\]|]|(?<!\w)_|_(?!\w)/g, (char) => `\\${char}`);
}

/** Inline code that holds any text: a fence longer than the longest run of backticks in it. */
export function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((run) => run[0].length));
  const fence = '`'.repeat(longest + 1);
  return /^`|`$/.test(text) ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

function codeBlock(lines: readonly string[]): string[] {
  const longest = Math.max(2, ...lines.flatMap((line) => [...line.matchAll(/`+/g)].map((run) => run[0].length)));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}text`, ...lines, fence];
}

export type Alignment = 'left' | 'right';

/** A GFM table; cells are Markdown already (escape prose with `escapeMarkdown`). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Alignment[] = []): string[] {
  const line = (cells: readonly string[]) => `| ${cells.map((cell) => (cell.length === 0 ? ' ' : cell)).join(' | ')} |`;
  return [line(header), line(header.map((_cell, index) => (align[index] === 'right' ? '---:' : '---'))), ...rows.map(line)];
}

type Section = (report: Report) => string[];

const summarySection: Section = (report) => [
  `# vmid-replay: ${code(report.file)}`,
  '',
  `**Verdict: ${report.verdict}**`,
  '',
  ...markdownTable(
    ['', ''],
    summaryFacts(report).map((fact) => [escapeMarkdown(fact.label), escapeMarkdown(fact.value)]),
  ),
];

const checksSection: Section = (report) => [
  '## Checks',
  '',
  ...markdownTable(
    ['check', 'findings', 'inconclusive', 'finds'],
    report.checks.map((check) => [code(check.id), String(check.count), String(check.inconclusive), escapeMarkdown(check.description)]),
    ['left', 'right', 'right', 'left'],
  ),
];

function witnessBlock(witnesses: readonly Witness[]): string[] {
  return codeBlock(witnesses.flatMap((witness) => [`${witness.ref.file}:${witness.ref.line}: ${witness.role}`, `    ${witness.ref.text}`]));
}

function scenarioCell(step: ScenarioStep): string {
  if (step.kind === 'missing') return `**missing:** ${escapeMarkdown(step.action)}`;
  if (step.kind === 'consequence') return `=&gt; ${escapeMarkdown(step.action)}`;
  return escapeMarkdown(step.action);
}

/** Lockdep's CPU0/CPU1 table: a column per CPU (in number order), then per SMMU. */
function scenarioTable(scenario: readonly ScenarioStep[]): string[] {
  const key = (step: ScenarioStep) => (step.actor.kind === 'cpu' ? `CPU ${step.actor.cpu}` : `SMMU ${step.actor.smmu}`);
  const cpus = [...new Set(scenario.flatMap((step) => (step.actor.kind === 'cpu' ? [step.actor.cpu] : [])))].sort((a, b) => a - b).map((cpu) => `CPU ${cpu}`);
  const smmus = [...new Set(scenario.flatMap((step) => (step.actor.kind === 'smmu' ? [`SMMU ${step.actor.smmu}`] : [])))].sort();
  const actors = [...cpus, ...smmus];
  return markdownTable(
    ['line', ...actors],
    scenario.map((step) => [step.kind === 'event' ? String(step.line) : '', ...actors.map((actor) => (actor === key(step) ? scenarioCell(step) : ''))]),
    ['right'],
  );
}

export function findingBlock(finding: Finding, number: number, description: string | undefined): string[] {
  const lines = [`### [${number}] ${code(finding.checkId)} (${severityTag(finding)}) at ${code(`${finding.file}:${finding.line}`)}`, ''];
  if (description !== undefined) lines.push(`> ${escapeMarkdown(description)}`, '');
  lines.push(escapeMarkdown(finding.message), '');
  if (finding.parties.length > 0) {
    lines.push('**Parties**', '', ...markdownTable(['party', 'part'], finding.parties.map((party) => [escapeMarkdown(party.name), escapeMarkdown(partyDetail(party))])), '');
  }
  if (finding.witnesses.length > 0) lines.push('**Witnesses**', '', ...witnessBlock(finding.witnesses), '');
  if (finding.scenario.length > 0) lines.push('**Scenario**', '', ...scenarioTable(finding.scenario), '');
  for (const step of finding.explanation) lines.push(escapeMarkdown(step), '');
  if (finding.needed !== undefined) lines.push(`**Needed:** ${escapeMarkdown(finding.needed)}`, '');
  return lines;
}

const findingsSection: Section = (report) => {
  if (report.findings.length === 0) return [];
  const descriptions = new Map(report.checks.map((check) => [check.id, check.description]));
  return ['## Findings', '', ...report.findings.flatMap((finding, index) => findingBlock(finding, index + 1, descriptions.get(finding.checkId)))];
};

const diagnosticsSection: Section = (report) => {
  const diagnostics = shownDiagnostics(report);
  if (diagnostics.length === 0) return [];
  return [
    '## Diagnostics',
    '',
    ...markdownTable(
      ['count', 'code', 'severity', 'first at', 'detail'],
      diagnostics.map((d) => {
        const sample = d.samples[0];
        return [String(d.count), code(d.code), d.severity, sample === undefined ? '' : code(`${sample.file}:${sample.line}`), sample === undefined ? '' : escapeMarkdown(sample.detail)];
      }),
      ['right'],
    ),
  ];
};

/** The report's sections, in order; each returns its lines, or none when it has nothing to say. */
const sections: readonly Section[] = [summarySection, checksSection, findingsSection, diagnosticsSection];

/** Sections apart by one blank line, every line ASCII as in the text report. */
function joinSections(parts: readonly (readonly string[])[]): string {
  const text = parts.filter((part) => part.length > 0).map((part) => part.join('\n').replace(/\n+$/, '')).join('\n\n');
  return `${text.split('\n').map(toAscii).join('\n')}\n`;
}

export function renderMarkdown(report: Report): string {
  return joinSections(sections.map((section) => section(report)));
}

/** What `analyze --out` writes for a trace that could not be analysed. */
export function renderFailedMarkdown(file: string, error: ErrorDescription): string {
  return joinSections([[`# vmid-replay: ${code(file)}`, '', `**Error:** ${escapeMarkdown(error.message)} ${code(error.code)}`]]);
}

/** The combined summary after several traces' reports, worst first. */
export function renderMarkdownSummary(outcomes: readonly TraceOutcome[]): string {
  return joinSections([
    [
      `## Summary: ${escapeMarkdown(summaryTitle(outcomes))}`,
      '',
      ...markdownTable(['verdict', 'trace', ''], summaryRows(outcomes).map((row) => [row.status, code(row.file), escapeMarkdown(row.detail)])),
    ],
  ]);
}
