/**
 * What the what-if renderers say alike in every format: the host, the workload, how sure the
 * trace is, and the rows of the side-by-side table. Each row is named in the kernel's words;
 * docs/what-if.md says how each number is counted.
 */
import type { Finding } from '../../checks/types.js';
import type { EventRef } from '../../model/eventRef.js';
import { counted } from '../../plural.js';
import type { ReplayResult } from '../../replay/replayTypes.js';
import type { CompareResult } from '../../whatif/compare.js';
import type { HostConfig, RunResult } from '../../whatif/policyRun.js';
import { buildReport } from '../report.js';

export type WhatIfFormat = 'text' | 'markdown' | 'json';

/** `8-bit VMIDs, 4 CPUs` (and BTM when `btm` says it). */
export function hostText(host: Pick<HostConfig, 'vmidBits' | 'cpus'> & { readonly btm?: boolean }, withBtm = false): string {
  return `${host.vmidBits}-bit VMIDs, ${counted(host.cpus, 'CPU')}${withBtm && host.btm !== undefined ? `, BTM ${host.btm ? 'on' : 'off'}` : ''}`;
}

export function atLine(ref: EventRef | undefined): string {
  return ref === undefined ? '' : ` (line ${ref.line})`;
}

/** How devices were given out, in words. */
export function assignText(result: Pick<CompareResult, 'assign' | 'scale'>): string {
  const [mode, ...extras] = result.assign.split(',');
  const who =
    mode === 'all'
      ? 'every VM gets a device'
      : mode === 'trace'
        ? 'the devices the trace attaches'
        : mode?.startsWith('ratio=') === true
          ? `a seeded ${mode.slice('ratio='.length).split(' ')[0] ?? ''} of the VMs get a device`
          : 'the VMs named get a device';
  const when = extras.includes('first-run') ? 'at its first vCPU load' : mode === 'trace' ? 'where the trace binds them' : 'at its creation';
  const copies = result.scale > 1 ? `; every VM runs as ${result.scale} copies` : '';
  return `${who}, ${when} (--assign ${result.assign})${copies}`;
}

/** The workload in one sentence. */
export function workloadText(result: Pick<CompareResult, 'workload' | 'scale'>): string {
  const { workload } = result;
  const copies = result.scale > 1 ? ` (${workload.vms / result.scale} traced, each run as ${result.scale} copies)` : '';
  return `${counted(workload.vms, 'VM')}${copies}, ${counted(workload.loads, 'vCPU load')}, ${counted(workload.attaches, 'device attach', 'device attaches')}; at most ${counted(workload.peakVmsWithDevices, 'VM')} holding a device at once${atLine(workload.peakAt)}.`;
}

/** Whether the workload itself is sure: lost events or unreadable lines make what follows them unsure. */
export function traceText(file: string, replay: ReplayResult): string {
  if (replay.dataLossAt !== undefined) return `events were lost at line ${replay.dataLossAt.line}: every number after it is unsure, and so is every finding (marked inconclusive).`;
  if (replay.unreadableFrom !== undefined) return `more than 1 % of the lines could not be read, from line ${replay.unreadableFrom.line}: what follows is unsure.`;
  const report = buildReport(file, replay);
  if (report.verdict === 'findings') return `the trace's own replay has ${counted(report.findings.filter((finding) => !finding.inconclusive && finding.severity !== 'notice').length, 'finding')} (vmid-replay analyze lists them); the workload is read all the same.`;
  return 'the workload was read in full; no events were lost.';
}

/** Findings a reviewer acts on: errors and warnings (notices are facts, such as pins still held when the trace ends). */
export function findingCounts(findings: readonly Finding[]): { readonly sure: number; readonly unsure: number } {
  const acted = findings.filter((finding) => finding.severity !== 'notice');
  return { sure: acted.filter((finding) => !finding.inconclusive).length, unsure: acted.filter((finding) => finding.inconclusive).length };
}

export interface MetricRow {
  readonly label: string;
  readonly cell: (run: RunResult) => string;
}

function withLine(count: number, ref: EventRef | undefined): string {
  return count === 0 || ref === undefined ? String(count) : `${count} (line ${ref.line})`;
}

/** The side-by-side table's rows, in the order a reviewer reads them: the pool, what failed, what it costs. */
export const metricRows: readonly MetricRow[] = [
  { label: 'max_pinned_vmids', cell: (run) => (run.maxPinnedVmids === null ? '-' : String(run.maxPinnedVmids)) },
  { label: 'BTM', cell: (run) => (run.host.btm ? 'on' : 'off') },
  { label: 'pinned at most', cell: (run) => withLine(run.metrics.peakPinned, run.metrics.peakPinnedAt) },
  { label: 'pinned on average', cell: (run) => run.meanPinned.toFixed(1) },
  { label: 'pins failed', cell: (run) => withLine(run.metrics.pinsFailed, run.metrics.firstPinFailedAt) },
  { label: 'attaches refused', cell: (run) => String(run.metrics.attachesRefused) },
  { label: 'VMs not created', cell: (run) => String(run.metrics.vmCreationsRefused) },
  { label: 'devices on VMID 0', cell: (run) => String(run.metrics.devicesOnVmidZero) },
  { label: 'VMID moved under STE', cell: (run) => String(run.metrics.vmidChangesUnderBoundSte) },
  { label: 'TLBIs needed', cell: (run) => String(run.metrics.invalidationsNeeded) },
  { label: 'TLBIs missed', cell: (run) => String(run.metrics.invalidationsMissed) },
  { label: 'rollovers', cell: (run) => String(run.rollovers) },
  { label: 'slow vCPU loads', cell: (run) => `${run.slowLoads} of ${run.loads}` },
  {
    label: 'would-have findings',
    cell: (run) => {
      const { sure, unsure } = findingCounts(run.findings);
      return unsure === 0 ? String(sure) : `${sure} (+${unsure} unsure)`;
    },
  },
];

/** The runs grouped by host, in the order the sweep made them. */
export function runsByHost(runs: readonly RunResult[]): { readonly host: HostConfig; readonly runs: readonly RunResult[] }[] {
  const groups: { host: HostConfig; runs: RunResult[] }[] = [];
  for (const run of runs) {
    const group = groups.find((each) => each.host.vmidBits === run.host.vmidBits && each.host.cpus === run.host.cpus && sameBtmSweep(each.runs[0] as RunResult, run));
    if (group === undefined) groups.push({ host: { vmidBits: run.host.vmidBits, cpus: run.host.cpus }, runs: [run] });
    else group.runs.push(run);
  }
  return groups;
}

/** Two runs of one host: a BTM sweep makes a host per setting, without one each policy keeps its own. */
function sameBtmSweep(a: RunResult, b: RunResult): boolean {
  return a.sweptBtm === undefined || a.sweptBtm === b.sweptBtm;
}
