/**
 * Plain-text report, meant to be pasted into a mailing-list reply: verdict first, then each
 * finding shaped like a lockdep report (title, the lines involved, the argument). It speaks
 * the kernel's and the user's words, never the JSON report's field names.
 */
import type { Finding, Witness } from '../checks/types.js';
import type { ErrorDescription } from '../errors.js';
import type { AllocatorObservation } from '../events/kvmEvents.js';
import { counted } from '../plural.js';
import type { DivergenceKind } from '../steps/step.js';
import { unreadableLimitText } from '../replay/result/unreadable.js';
import type { Report } from './report.js';

function clip(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** "a", "a and b", "a, b and c". */
function andList(items: readonly string[]): string {
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

/** Line numbers listed for folded witnesses before the rest are only counted. */
const foldedLinesShown = 20;

/**
 * Witnesses in trace order; later witnesses of a role already shown fold into one line under
 * the first, with their count and line numbers (a notice over nine pinned VMs quotes one).
 */
function renderWitnesses(witnesses: readonly Witness[]): string[] {
  const byRole = new Map<string, Witness[]>();
  for (const witness of witnesses) {
    const group = byRole.get(witness.role);
    if (group === undefined) byRole.set(witness.role, [witness]);
    else group.push(witness);
  }
  const lines: string[] = [];
  for (const [role, group] of byRole) {
    const [first, ...more] = group as [Witness, ...Witness[]];
    lines.push(`      ${String(first.ref.line).padStart(7)}  ${role}`);
    lines.push(`               ${clip(first.ref.text.trim())}`);
    if (more.length === 0) continue;
    const shown = more.slice(0, foldedLinesShown).map((witness) => witness.ref.line);
    const rest = more.length - shown.length;
    lines.push(`               ${more.length} more ${role}, ${shown.length === 1 ? 'line' : 'lines'} ${shown.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`);
  }
  return lines;
}

function renderFinding(finding: Finding, index: number): string[] {
  const tag = finding.inconclusive ? `${finding.severity}, inconclusive` : finding.severity;
  const lines = [`[${index}] ${finding.checkId} (${tag}) at ${finding.file}:${finding.line}`, `    ${finding.message}`];
  if (finding.witnesses.length > 0) {
    lines.push('    witnesses:');
    lines.push(...renderWitnesses(finding.witnesses));
  }
  for (const step of finding.explanation) lines.push(`    ${step}`);
  if (finding.needed !== undefined) lines.push(`    needed: ${finding.needed}`);
  return lines;
}

/**
 * Every line that should be an event, in one sum: event lines and malformed lines on one
 * side; used, unused, unrecognised and malformed on the other.
 */
function renderEventCounts(report: Report): string[] {
  const n = report.counts;
  const fromLines = sumOf(n.eventsByKind) - n.eventsFromHeaders;
  const unused = sumOf(n.unusedByName) - n.unrecognisedProbes;
  const sides =
    `events: ${counted(n.records['event'] ?? 0, 'event line')} + ${counted(n.malformedLines, 'malformed line')}: ` +
    `${fromLines} used, ${unused} unused, ${counted(n.unrecognisedProbes, 'unrecognised probe')}, ${n.malformedEvents + n.malformedLines} malformed`;
  const used = Object.entries(n.eventsByKind).map(([kind, count]) => `${kind} ${count}`).join(', ');
  const fromHeaders = n.eventsFromHeaders > 0 ? ` (${n.eventsFromHeaders} of them from header lines)` : '';
  return [`${sides}; all accounted: ${n.allEventsAccounted ? 'yes' : 'NO'}`, `used: ${used || 'none'}${fromHeaders}`];
}

export function renderText(report: Report): string {
  const out: string[] = [];
  const c = report.config;
  out.push(`vmid-replay: ${report.file}`);
  out.push(`verdict: ${report.verdict}`);
  out.push(
    `config: ${c.variant ?? '?'} allocator, ${c.vmidBits ?? '?'}-bit VMIDs, ${c.cpus === null ? '? CPUs' : counted(c.cpus, 'CPU')}` +
      (c.maxPinnedVmids === null ? '' : `, max_pinned_vmids ${c.maxPinnedVmids}`) +
      ` (${describeOrigins(c.origins)})`,
  );
  for (const smmu of c.smmus) out.push(`smmu ${smmu.name}: ${smmu.vmidBits}-bit VMIDs, BTM ${smmu.btm ? 'on' : 'off'}`);
  const k = report.costs;
  out.push(
    `allocator: ${counted(k.loads, 'load')} (${k.slowLoads} slow path), ${counted(k.rollovers, 'rollover')}, generation ${k.generation ?? '?'}` +
      (k.nrPinnedAtEnd === null ? '' : `, ${k.nrPinnedAtEnd} pinned at end`),
  );
  const n = report.counts;
  out.push(...renderEventCounts(report));
  if (Object.keys(n.observedFields).length > 0) out.push(`compared with the model: ${namedCounts(n.observedFields, observedFieldNames)}`);
  if (Object.keys(n.divergences).length > 0) out.push(`divergences: ${namedCounts(n.divergences, divergenceNames)}`);
  if (report.dataLossAt !== null) {
    out.push(`data loss from ${report.dataLossAt.file}:${report.dataLossAt.line}: findings after it are inconclusive, and so are those after the last event of a CPU that lost events`);
  }
  if (report.unreadableFrom !== null) {
    out.push(`unreadable lines from ${report.unreadableFrom.file}:${report.unreadableFrom.line}: more than ${unreadableLimitText} of the lines could not be read, findings from there on are inconclusive`);
  }
  out.push('');
  out.push('checks:');
  for (const check of report.checks) {
    const extra = check.inconclusive > 0 ? ` (+${check.inconclusive} inconclusive)` : '';
    out.push(`  ${String(check.count).padStart(5)}${extra}  ${check.id}`);
  }
  if (report.findings.length > 0) {
    out.push('');
    out.push('findings:');
    report.findings.forEach((finding, i) => {
      out.push(...renderFinding(finding, i + 1));
      out.push('');
    });
  }
  const diagnostics = report.diagnostics.filter((d) => d.code !== 'unused-event');
  if (diagnostics.length > 0) {
    if (report.findings.length === 0) out.push('');
    out.push('diagnostics:');
    for (const d of diagnostics) {
      const sample = d.samples[0];
      out.push(`  ${String(d.count).padStart(7)}  ${d.code} (${d.severity})${sample === undefined ? '' : `, first at ${sample.file}:${sample.line}: ${clip(sample.detail, 100)}`}`);
    }
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** What `analyze --out` writes for a trace that could not be analysed, in place of its report. */
export function renderFailedTrace(file: string, error: ErrorDescription): string {
  return `vmid-replay: ${file}\nerror: ${error.message} [${error.code}]\n`;
}
