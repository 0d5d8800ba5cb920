/**
 * `compare` as text for mail, as Markdown, or as JSON. The text and Markdown say the same
 * things: what the workload is and how sure, one table per host with a column per policy, the
 * hosts skipped, what would have gone wrong under each policy (counterfactual findings, the
 * first few of each run), and the call-by-call difference of two policies when asked.
 */
import type { Finding } from '../../checks/types.js';
import type { CompareResult } from '../../whatif/compare.js';
import type { PolicyDiff } from '../../whatif/diff.js';
import type { RunResult } from '../../whatif/policyRun.js';
import { counted } from '../../plural.js';
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

function findingText(finding: Finding): string[] {
  const tag = finding.inconclusive ? ' (inconclusive: after lost events)' : '';
  return [`line ${finding.line}: ${finding.message}${tag}`, ...(finding.needed === undefined ? [] : [`  needed: ${finding.needed}`])];
}

function diffLines(diff: PolicyDiff): string[] {
  const lines = [
    `${diff.policyA} against ${diff.policyB}, call by call: ${counted(diff.loads, 'vCPU load')} compared, ${diff.differentVmid} with different VMIDs; the slow path ${counted(diff.slowA, 'time')} under ${diff.policyA}, ${counted(diff.slowB, 'time')} under ${diff.policyB}.`,
  ];
  if (diff.vms.length === 0) return [...lines, 'Every vCPU load took the same VMID and the same path under both.'];
  lines.push(`${counted(diff.vms.length, 'VM')} ${diff.vms.length === 1 ? 'differs' : 'differ'}${diff.vms.length > diffVmsShown ? `; the ${diffVmsShown} that differ most` : ''}:`);
  for (const vm of diff.vms.slice(0, diffVmsShown)) {
    const only = vm.onlyA + vm.onlyB > 0 ? `, ${vm.onlyA + vm.onlyB} run under one only` : '';
    lines.push(`  VM ${vm.vm}: ${counted(vm.loads, 'load')}, ${vm.differentVmid} with different VMIDs, slow ${vm.slowA} / ${vm.slowB}${only}; first at line ${vm.firstDifference?.line ?? '?'}`);
  }
  return lines;
}

function renderText(result: CompareResult): string {
  const hosts = runsByHost(result.runs);
  const lines = [
    `vmid-replay what-if: ${result.file}`,
    `Traced host: ${hostText(result.tracedHost)}.`,
    `Workload: ${workloadText(result)}`,
    `Devices: ${assignText(result)}.`,
    `Trace: ${traceText(result.file, result.replay)}`,
    '',
    'Every number and finding below is what would have happened under each',
    'policy on this workload, not what the trace shows (docs/what-if.md).',
  ];
  for (const { host, runs } of hosts) {
    lines.push('', `${hostText(host)}${runs[0]?.sweptBtm === undefined ? '' : `, BTM ${runs[0].sweptBtm ? 'on' : 'off'}`}`);
    for (const group of columnGroups(runs, metricRows)) lines.push(...textTable(group, metricRows, '  '), '');
    lines.pop();
  }
  if (result.skipped.length > 0) {
    lines.push('', 'Skipped (no such host can boot):');
    for (const skipped of result.skipped) lines.push(`  ${skipped.policy} on ${hostText(skipped.host)}: ${skipped.why}`);
  }
  const withFindings = result.runs.map((run) => ({ run, wrong: wrongs(run.findings) })).filter(({ wrong }) => wrong.length > 0);
  lines.push('', withFindings.length === 0 ? 'Nothing would have gone wrong under any policy.' : 'What would have gone wrong:');
  for (const { run, wrong } of withFindings) {
    lines.push('', `${runTitle(run, hosts.length)}: ${counted(wrong.length, 'finding')}`);
    const shown = wrong.slice(0, findingsShown);
    for (const finding of shown) lines.push(...findingText(finding).map((line) => `  ${line}`));
    if (wrong.length > shown.length) lines.push(`  ... and ${wrong.length - shown.length} more (--format json lists every one)`);
  }
  if (result.diff !== undefined) lines.push('', ...diffLines(result.diff));
  return `${lines.join('\n')}\n`;
}

function renderMarkdown(result: CompareResult): string {
  const hosts = runsByHost(result.runs);
  const lines = [
    `# What-if: \`${result.file}\``,
    '',
    `- **Traced host:** ${hostText(result.tracedHost)}`,
    `- **Workload:** ${workloadText(result)}`,
    `- **Devices:** ${assignText(result)}`,
    `- **Trace:** ${traceText(result.file, result.replay)}`,
    '',
    '_Every number and finding is what would have happened under each policy on this workload, not what the trace shows._',
  ];
  for (const { host, runs } of hosts) {
    lines.push('', `## ${hostText(host)}${runs[0]?.sweptBtm === undefined ? '' : `, BTM ${runs[0].sweptBtm ? 'on' : 'off'}`}`, '', ...markdownRows(runs, metricRows));
  }
  if (result.skipped.length > 0) {
    lines.push('', '## Skipped', '');
    for (const skipped of result.skipped) lines.push(`- ${skipped.policy} on ${hostText(skipped.host)}: ${skipped.why}`);
  }
  const withFindings = result.runs.map((run) => ({ run, wrong: wrongs(run.findings) })).filter(({ wrong }) => wrong.length > 0);
  lines.push('', '## What would have gone wrong', '');
  if (withFindings.length === 0) lines.push('Nothing, under any policy.');
  for (const { run, wrong } of withFindings) {
    lines.push(`### ${runTitle(run, hosts.length)}: ${counted(wrong.length, 'finding')}`, '');
    const shown = wrong.slice(0, findingsShown);
    for (const finding of shown) {
      const [first, ...rest] = findingText(finding);
      lines.push(`- ${first ?? ''}`, ...rest.map((line) => `  ${line.trim()}`));
    }
    if (wrong.length > shown.length) lines.push(`- ... and ${wrong.length - shown.length} more (\`--format json\` lists every one)`);
    lines.push('');
  }
  if (result.diff !== undefined) lines.push('## Call by call', '', ...diffLines(result.diff).map((line) => (line.startsWith('  ') ? `- ${line.trim()}` : line)));
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

export function renderCompare(result: CompareResult, format: WhatIfFormat): string {
  switch (format) {
    case 'json':
      return compareJson(result);
    case 'markdown':
      return renderMarkdown(result);
    case 'text':
      return renderText(result);
  }
}
