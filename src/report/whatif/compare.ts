/**
 * `compare` as text for mail, as Markdown, or as JSON. The text and Markdown say the same
 * things: what the workload is and how sure, one table per host with a column per policy, the
 * hosts skipped, what would have gone wrong under each policy (counterfactual findings, the
 * first few of each run, each in the shape `analyze` gives a finding), and the call-by-call
 * difference of two policies when asked.
 */
import type { Finding } from '../../checks/types.js';
import type { CompareResult } from '../../whatif/compare.js';
import type { PolicyDiff } from '../../whatif/diff.js';
import type { RunResult } from '../../whatif/policyRun.js';
import { counted } from '../../plural.js';
import { joinLines, prose, table, type Column, type Line } from '../layout.js';
import { code, escapeMarkdown, findingBlock, markdownTable, type Alignment } from '../markdown.js';
import { findingLines } from '../textFinding.js';
import { compareJson } from './json.js';
import { columnGroups, markdownRows, textTable } from './tables.js';
import { assignText, hostText, metricRows, runsByHost, traceText, workloadText, type WhatIfFormat } from './words.js';

export type { WhatIfFormat } from './words.js';

/** Findings shown per run; JSON has them all. */
const findingsShown = 5;
/** VMs shown in a diff. */
const diffVmsShown = 10;

/**
 * What would have gone wrong, in the order a reviewer reads it: sure before unsure, errors
 * before warnings, by line. Notices (pins still held when the trace ends) are facts, not
 * faults: JSON keeps them.
 */
function wrongs(findings: readonly Finding[]): Finding[] {
  const rank = (finding: Finding) => (finding.inconclusive ? 2 : 0) + (finding.severity === 'warning' ? 1 : 0);
  return findings.filter((finding) => finding.severity !== 'notice').sort((a, b) => rank(a) - rank(b) || a.line - b.line);
}

function runTitle(run: RunResult, hosts: number): string {
  return hosts > 1 ? `${run.policy} on ${hostText(run.host)}` : run.policy;
}

/** Said under each finding's title, so that a finding pasted alone still says it is a counterfactual. */
function counterfactualNote(run: RunResult): string {
  return `Would have happened under ${run.policy} (${hostText(run.host, true)}); the trace itself does not show it.`;
}

interface RunWrongs {
  readonly run: RunResult;
  readonly wrong: readonly Finding[];
}

function runsWithWrongs(result: CompareResult): RunWrongs[] {
  return result.runs.map((run) => ({ run, wrong: wrongs(run.findings) })).filter(({ wrong }) => wrong.length > 0);
}

function hostHeading(runs: readonly RunResult[]): string {
  const first = runs[0];
  return `${hostText(first?.host ?? { vmidBits: 0, cpus: 0 })}${first?.sweptBtm === undefined ? '' : `, BTM ${first.sweptBtm ? 'on' : 'off'}`}`;
}

/** The diff in sentences, then a row per VM (the ones that differ most). */
function diffParts(diff: PolicyDiff): { readonly sentences: string[]; readonly header: string[]; readonly rows: string[][] } {
  const sentences = [
    `${diff.policyA} against ${diff.policyB}, call by call: ${counted(diff.loads, 'vCPU load')} compared, ${diff.differentVmid} with different VMIDs; the slow path ${counted(diff.slowA, 'time')} under ${diff.policyA}, ${counted(diff.slowB, 'time')} under ${diff.policyB}.`,
  ];
  const header = ['VM', 'loads', 'VMID', 'slow A', 'slow B', 'only', 'first'];
  if (diff.vms.length === 0) return { sentences: [...sentences, 'Every vCPU load took the same VMID and the same path under both.'], header, rows: [] };
  sentences.push(`${counted(diff.vms.length, 'VM')} ${diff.vms.length === 1 ? 'differs' : 'differ'}${diff.vms.length > diffVmsShown ? `; the ${diffVmsShown} that differ most` : ''}. Per VM: its loads, those with another VMID, the slow-path loads under A = ${diff.policyA} and B = ${diff.policyB}, the loads run under one policy only (a VM not created under the other), and the first line where they differ (#n: the n-th VM at a reused address):`);
  const rows = diff.vms
    .slice(0, diffVmsShown)
    .map((vm) => [vm.lifetime === 1 ? vm.vm : `${vm.vm} #${vm.lifetime}`, String(vm.loads), String(vm.differentVmid), String(vm.slowA), String(vm.slowB), String(vm.onlyA + vm.onlyB), vm.firstDifference === undefined ? '?' : `line ${vm.firstDifference.line}`]);
  return { sentences, header, rows };
}

/** The diff's rows as a mail table, or a line per VM when the policies' names make it too wide. */
function diffTableLines(header: readonly string[], rows: readonly (readonly string[])[]): Line[] {
  if (rows.length === 0) return [];
  const columns: Column[] = header.map((name, index) => (index === 0 ? { header: name, fixed: true } : { header: name, right: true }));
  const laidOut = table(columns, rows, '  ');
  if (laidOut !== undefined) return laidOut.map((text) => ({ text }));
  return rows.flatMap((row) => prose(row.map((cell, index) => (index === 0 ? `VM ${cell}:` : `${header[index] ?? ''} ${cell}`)).join(' '), '  ', '    '));
}

function renderText(result: CompareResult, colour: boolean): string {
  const hosts = runsByHost(result.runs);
  const lines: Line[] = [
    { text: `vmid-replay what-if: ${result.file}`, tone: 'heading' },
    ...prose(`Traced host: ${hostText(result.tracedHost)}.`, '', '  '),
    ...prose(`Workload: ${workloadText(result)}`, '', '  '),
    ...prose(`Devices: ${assignText(result)}.`, '', '  '),
    ...prose(`Trace: ${traceText(result.file, result.replay)}`, '', '  '),
    { text: '' },
    ...prose('Every number and finding below is what would have happened under each policy on this workload, not what the trace shows (docs/what-if.md).'),
  ];
  for (const { runs } of hosts) {
    lines.push({ text: '' }, { text: hostHeading(runs), tone: 'heading' });
    for (const group of columnGroups(runs, metricRows)) lines.push(...textTable(group, metricRows, '  ').map((text) => ({ text })), { text: '' });
    lines.pop();
  }
  if (result.skipped.length > 0) {
    lines.push({ text: '' }, { text: 'Skipped (no such host can run this workload):', tone: 'heading' });
    for (const skipped of result.skipped) lines.push(...prose(`${skipped.policy} on ${hostText(skipped.host)}: ${skipped.why}`, '  ', '    '));
  }
  const withWrongs = runsWithWrongs(result);
  lines.push({ text: '' }, { text: withWrongs.length === 0 ? 'Nothing would have gone wrong under any policy.' : 'What would have gone wrong:', tone: 'heading' });
  for (const { run, wrong } of withWrongs) {
    lines.push({ text: '' }, { text: `${runTitle(run, hosts.length)}: ${counted(wrong.length, 'would-have finding')}`, tone: 'heading' });
    const shown = wrong.slice(0, findingsShown);
    shown.forEach((finding, index) => lines.push({ text: '' }, ...findingLines(finding, index + 1, counterfactualNote(run))));
    if (wrong.length > shown.length) lines.push({ text: '' }, ...prose(`... and ${wrong.length - shown.length} more under ${run.policy} (--format json lists every one).`));
  }
  if (result.diff !== undefined) {
    const { sentences, header, rows } = diffParts(result.diff);
    lines.push({ text: '' }, ...sentences.flatMap((sentence) => prose(sentence)), ...diffTableLines(header, rows));
  }
  return joinLines(lines, colour);
}

function renderMarkdown(result: CompareResult): string {
  const hosts = runsByHost(result.runs);
  const lines = [
    `# What-if: ${code(result.file)}`,
    '',
    `- **Traced host:** ${hostText(result.tracedHost)}`,
    `- **Workload:** ${escapeMarkdown(workloadText(result))}`,
    `- **Devices:** ${escapeMarkdown(assignText(result))}`,
    `- **Trace:** ${escapeMarkdown(traceText(result.file, result.replay))}`,
    '',
    '_Every number and finding is what would have happened under each policy on this workload, not what the trace shows._',
  ];
  for (const { runs } of hosts) lines.push('', `## ${hostHeading(runs)}`, '', ...markdownRows(runs, metricRows));
  if (result.skipped.length > 0) {
    lines.push('', '## Skipped', '');
    for (const skipped of result.skipped) lines.push(`- ${escapeMarkdown(`${skipped.policy} on ${hostText(skipped.host)}: ${skipped.why}`)}`);
  }
  const withWrongs = runsWithWrongs(result);
  lines.push('', '## What would have gone wrong', '');
  if (withWrongs.length === 0) lines.push('Nothing, under any policy.');
  for (const { run, wrong } of withWrongs) {
    lines.push(`## ${escapeMarkdown(runTitle(run, hosts.length))}: ${counted(wrong.length, 'would-have finding')}`, '');
    const shown = wrong.slice(0, findingsShown);
    shown.forEach((finding, index) => lines.push(...findingBlock(finding, index + 1, counterfactualNote(run))));
    if (wrong.length > shown.length) lines.push(`... and ${wrong.length - shown.length} more (\`--format json\` lists every one)`, '');
  }
  if (result.diff !== undefined) {
    const { sentences, header, rows } = diffParts(result.diff);
    lines.push('## Call by call', '', ...sentences.map(escapeMarkdown), '');
    if (rows.length > 0) lines.push(...markdownTable(header.map(escapeMarkdown), rows.map((row) => row.map((cell, index) => (index === 0 ? code(cell) : cell))), ['left', ...header.slice(1).map((): Alignment => 'right')]));
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

export function renderCompare(result: CompareResult, format: WhatIfFormat, colour = false): string {
  switch (format) {
    case 'json':
      return compareJson(result);
    case 'markdown':
      return renderMarkdown(result);
    case 'text':
      return renderText(result, colour);
  }
}
