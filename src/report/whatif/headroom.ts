/**
 * `headroom` as text, Markdown or JSON: per pinning policy, the most VMIDs it holds pinned at
 * once, the margin to `max_pinned_vmids` on the traced host, and the hosts and scales that
 * would run out, each with the rule it follows from.
 */
import type { HeadroomResult, PolicyHeadroom } from '../../whatif/headroom.js';
import { counted } from '../../plural.js';
import { joinLines, prose, type Line } from '../layout.js';
import { code, escapeMarkdown } from '../markdown.js';
import { headroomJson } from './json.js';
import { assignText, atLine, hostText, traceText, workloadText, type WhatIfFormat } from './words.js';

export type { WhatIfFormat } from './words.js';

/** One policy's findings in sentences, each a fact a reviewer can quote. */
function policyLines(result: HeadroomResult, policy: PolicyHeadroom): string[] {
  const { vmidBits, cpus } = result.tracedHost;
  const lines: string[] = [];
  if (policy.peakDemand === undefined) {
    lines.push(`more VMIDs pinned at once than even 16-bit VMIDs with ${counted(cpus, 'CPU')} allow (${2 ** 16 - cpus - 2}).`);
  } else {
    lines.push(`at most ${counted(policy.peakDemand, 'VMID')} pinned at once${atLine(policy.peakDemandAt)}.`);
    const margin = policy.margin ?? 0;
    lines.push(
      margin >= 0
        ? `On the traced host: ${margin} to spare of max_pinned_vmids = ${policy.maxPinnedVmids}.`
        : `On the traced host: ${-margin} short of max_pinned_vmids = ${policy.maxPinnedVmids}; ${counted(policy.pinsFailed, 'pin')} would have failed, the first at line ${policy.firstPinFailedAt?.line ?? '?'}.`,
    );
    lines.push(
      policy.smallestVmidBits === undefined
        ? `No VMID width up to 16 bits holds it with ${counted(cpus, 'CPU')}.`
        : `The narrowest VMID width that holds it with ${counted(cpus, 'CPU')}: ${policy.smallestVmidBits} bits (max_pinned_vmids ${2 ** policy.smallestVmidBits - cpus - 2}).`,
    );
    lines.push(policy.mostCpus === undefined ? `No CPU count holds it with ${vmidBits}-bit VMIDs.` : `The most possible CPUs that hold it with ${vmidBits}-bit VMIDs: ${policy.mostCpus}.`);
    lines.push(
      policy.firstFailingScale === undefined
        ? 'Nothing is pinned, so no scale runs out.'
        : `It runs out on the traced host from --scale ${policy.firstFailingScale} (that many copies of every VM) on.`,
    );
  }
  if (policy.inconclusiveFrom !== undefined) lines.push(`Events were lost at line ${policy.inconclusiveFrom.line}: these numbers are unsure from there on.`);
  return lines;
}

function intro(result: HeadroomResult): string[] {
  return [
    `Traced host: ${hostText(result.tracedHost)}; max_pinned_vmids = 2^${result.tracedHost.vmidBits} - ${result.tracedHost.cpus} - 2 = ${2 ** result.tracedHost.vmidBits - result.tracedHost.cpus - 2}.`,
    `Workload: ${workloadText(result)}`,
    `Devices: ${assignText(result)}.`,
    `Trace: ${traceText(result.file, result.replay)}`,
  ];
}

const rule =
  'A pin fails exactly when nr_pinned_vmids >= max_pinned_vmids, and max_pinned_vmids = 2^bits - num_possible_cpus() - 2. Until one fails, the VMIDs a policy holds pinned depend on the workload alone.';

function renderText(result: HeadroomResult, colour: boolean): string {
  const lines: Line[] = [{ text: `vmid-replay headroom: ${result.file}`, tone: 'heading' }, ...intro(result).flatMap((line) => prose(line, '', '  ')), { text: '' }, ...prose(rule)];
  for (const policy of result.policies) {
    const [first, ...rest] = policyLines(result, policy);
    lines.push({ text: '' }, ...prose(`${policy.policy}: ${first ?? ''}`, '', '  '), ...rest.flatMap((line) => prose(line, '  ', '    ')));
  }
  return joinLines(lines, colour);
}

function renderMarkdown(result: HeadroomResult): string {
  const lines = [`# Headroom: ${code(result.file)}`, '', ...intro(result).map((line) => `- ${escapeMarkdown(line)}`), '', `_${escapeMarkdown(rule)}_`];
  for (const policy of result.policies) {
    lines.push('', `## ${escapeMarkdown(policy.policy)}`, '', ...policyLines(result, policy).map((line) => `- ${escapeMarkdown(line)}`));
  }
  return `${lines.join('\n')}\n`;
}

export function renderHeadroom(result: HeadroomResult, format: WhatIfFormat, colour = false): string {
  switch (format) {
    case 'json':
      return headroomJson(result);
    case 'markdown':
      return renderMarkdown(result);
    case 'text':
      return renderText(result, colour);
  }
}
