/**
 * What every human-readable report (text, Markdown) says about a trace, in the kernel's and
 * the user's words, never the JSON report's field names: the summary as labelled facts, and a
 * finding's parts as phrases. The renderers only lay these out.
 */
import type { Finding } from '../checks/types.js';
import type { Party } from '../steps/findingParts.js';
import type { AllocatorObservation } from '../events/kvmEvents.js';
import { counted } from '../plural.js';
import type { DivergenceKind } from '../steps/step.js';
import { unreadableLimitText } from '../replay/result/unreadable.js';
import type { Report } from './report.js';

/** "a", "a and b", "a, b and c". */
export function andList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) as string}`;
}

/** The report's `config.origins` keys, as the config line names them. */
const configSubjects: Readonly<Record<string, string>> = { vmidBits: 'VMID width', cpus: 'CPU count', variant: 'variant' };

/** "VMID width, CPU count and variant from the "# vmid-replay:" header", grouped by origin. */
function describeOrigins(origins: Readonly<Record<string, string>>): string {
  const byOrigin = new Map<string, string[]>();
  for (const [key, origin] of Object.entries(origins)) {
    const subjects = byOrigin.get(origin) ?? [];
    subjects.push(configSubjects[key] ?? key);
    byOrigin.set(origin, subjects);
  }
  return [...byOrigin].map(([origin, subjects]) => `${andList(subjects)} ${origin === 'default' ? 'by default' : `from ${origin}`}`).join(', ');
}

/** What each compared allocator result is, in the kernel's words. */
const observedFieldNames: Readonly<Record<keyof AllocatorObservation | 'idBefore' | 'idAfter' | 'entryGeneration', string>> = {
  idBefore: 'id before the update',
  idAfter: 'id after the update',
  entryGeneration: 'vmid_generation at entry',
  activeId: "the CPU's active VMID",
  generation: 'vmid_generation',
  flushGeneration: 'generation at a rollover',
  curIdx: 'cur_idx',
  reservedHit: 'new_vmid() keep branch',
  activeAll: 'per-CPU active_vmids',
  reservedAll: 'per-CPU reserved_vmids',
  mapWords: 'vmid_map after a rollover',
};

const divergenceNames: Readonly<Record<DivergenceKind, string>> = {
  'id-before': 'id before the update',
  'id-after': 'id after the update',
  'pin-ret': 'pin result',
  rollover: 'generation at a rollover',
  'destroy-id': 'id at VM destruction',
  active: "the CPU's active VMID",
  generation: 'vmid_generation',
  'per-cpu-active': 'per-CPU active_vmids',
  'per-cpu-reserved': 'per-CPU reserved_vmids',
  bitmap: 'vmid_map after a rollover',
  'cur-idx': 'cur_idx',
  'keep-branch': 'new_vmid() keep branch',
};

/** Named counts in the order of `names`, unknown keys last under their own name. */
function namedCounts(counts: Readonly<Record<string, number>>, names: Readonly<Record<string, string>>): string {
  const order = Object.keys(names);
  return Object.entries(counts)
    .sort(([a], [b]) => (order.indexOf(a) + 1 || order.length + 1) - (order.indexOf(b) + 1 || order.length + 1))
    .map(([key, count]) => `${names[key] ?? key} ${count}`)
    .join(', ');
}

function sumOf(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** One line of the summary: `label: value`, or `label value` when the label leads into its value ("data loss from ..."). */
export interface Fact {
  readonly label: string;
  readonly value: string;
  readonly leadsIn?: boolean;
}

export function factText(fact: Fact): string {
  return `${fact.label}${fact.leadsIn === true ? ' ' : ': '}${fact.value}`;
}

/**
 * Every line that should be an event, in one sum: event lines and malformed lines on one
 * side; used, unused, unrecognised and malformed on the other.
 */
function eventFacts(report: Report): Fact[] {
  const n = report.counts;
  const fromLines = sumOf(n.eventsByKind) - n.eventsFromHeaders;
  const unused = sumOf(n.unusedByName) - n.unrecognisedProbes;
  const sides =
    `${counted(n.records['event'] ?? 0, 'event line')} + ${counted(n.malformedLines, 'malformed line')}: ` +
    `${fromLines} used, ${unused} unused, ${counted(n.unrecognisedProbes, 'unrecognised probe')}, ${n.malformedEvents + n.malformedLines} malformed`;
  const used = Object.entries(n.eventsByKind).map(([kind, count]) => `${kind} ${count}`).join(', ');
  const fromHeaders = n.eventsFromHeaders > 0 ? ` (${n.eventsFromHeaders} of them from header lines)` : '';
  return [
    { label: 'events', value: `${sides}; all accounted: ${n.allEventsAccounted ? 'yes' : 'NO'}` },
    { label: 'used', value: `${used || 'none'}${fromHeaders}` },
  ];
}

/** The summary under the trace's name and verdict: configuration, costs, accounting, data loss. */
export function summaryFacts(report: Report): Fact[] {
  const facts: Fact[] = [];
  const c = report.config;
  facts.push({
    label: 'config',
    value:
      `${c.variant ?? '?'} allocator, ${c.vmidBits ?? '?'}-bit VMIDs, ${c.cpus === null ? '? CPUs' : counted(c.cpus, 'CPU')}` +
      (c.maxPinnedVmids === null ? '' : `, max_pinned_vmids ${c.maxPinnedVmids}`) +
      ` (${describeOrigins(c.origins)})`,
  });
  for (const smmu of c.smmus) facts.push({ label: `smmu ${smmu.name}`, value: `${smmu.vmidBits}-bit VMIDs, BTM ${smmu.btm ? 'on' : 'off'}` });
  const k = report.costs;
  facts.push({
    label: 'allocator',
    value: `${counted(k.loads, 'load')} (${k.slowLoads} slow path), ${counted(k.rollovers, 'rollover')}, generation ${k.generation ?? '?'}` + (k.nrPinnedAtEnd === null ? '' : `, ${k.nrPinnedAtEnd} pinned at end`),
  });
  facts.push(...eventFacts(report));
  const n = report.counts;
  if (Object.keys(n.observedFields).length > 0) facts.push({ label: 'compared with the model', value: namedCounts(n.observedFields, observedFieldNames) });
  if (Object.keys(n.divergences).length > 0) facts.push({ label: 'divergences', value: namedCounts(n.divergences, divergenceNames) });
  if (report.dataLossAt !== null) {
    facts.push({
      label: 'data loss from',
      leadsIn: true,
      value: `${report.dataLossAt.file}:${report.dataLossAt.line}: findings after it are inconclusive, and so are those after the last event of a CPU that lost events`,
    });
  }
  if (report.unreadableFrom !== null) {
    facts.push({
      label: 'unreadable lines from',
      leadsIn: true,
      value: `${report.unreadableFrom.file}:${report.unreadableFrom.line}: more than ${unreadableLimitText} of the lines could not be read, findings from there on are inconclusive`,
    });
  }
  return facts;
}

/** "error", or "error, inconclusive" for a finding after a data loss. */
export function severityTag(finding: Finding): string {
  return finding.inconclusive ? `${finding.severity}, inconclusive` : finding.severity;
}

/** "VMID 12, then 15; not pinned": the VMIDs a party holds (S2VMID for an STE) and its note. */
export function partyDetail(party: Party): string {
  const word = party.kind === 'ste' ? 'S2VMID' : 'VMID';
  const vmids = party.vmids.length === 0 ? '' : `${word} ${party.vmids.join(', then ')}`;
  return [vmids, party.note ?? ''].filter((part) => part.length > 0).join('; ');
}

/** Diagnostics worth a reader's eyes: unused events are already in the summary's counts. */
export function shownDiagnostics(report: Report): Report['diagnostics'] {
  return report.diagnostics.filter((d) => d.code !== 'unused-event');
}

