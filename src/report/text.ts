/**
 * Plain-text report, meant to be pasted into a mailing-list reply: verdict first, then each
 * finding shaped like a lockdep report (title, the lines involved, the argument).
 */
import type { Finding } from '../checks/types.js';
import type { ErrorDescription } from '../errors.js';
import { counted } from '../plural.js';
import { unreadableLimitText } from '../replay/unreadable.js';
import type { Report } from './report.js';

function clip(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function sumOf(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function renderFinding(finding: Finding, index: number): string[] {
  const tag = finding.inconclusive ? `${finding.severity}, inconclusive` : finding.severity;
  const lines = [`[${index}] ${finding.checkId} (${tag}) at ${finding.file}:${finding.line}`, `    ${finding.message}`];
  if (finding.witnesses.length > 0) {
    lines.push('    witnesses:');
    for (const witness of finding.witnesses) {
      lines.push(`      ${String(witness.ref.line).padStart(7)}  ${witness.role}`);
      lines.push(`               ${clip(witness.ref.text.trim())}`);
    }
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
    `config: ${c.variant ?? '?'} allocator, ${c.vmidBits ?? '?'}-bit VMIDs, ${c.cpus ?? '?'} CPUs` +
      (c.maxPinnedVmids === null ? '' : `, max_pinned_vmids ${c.maxPinnedVmids}`) +
      ` (${Object.entries(c.origins).map(([key, origin]) => `${key} from ${origin}`).join(', ')})`,
  );
  for (const smmu of c.smmus) out.push(`smmu ${smmu.name}: ${smmu.vmidBits}-bit VMIDs, BTM ${smmu.btm ? 'on' : 'off'}`);
  const k = report.costs;
  out.push(
    `allocator: ${k.loads} loads (${k.slowLoads} slow path), ${k.rollovers} rollovers, generation ${k.generation ?? '?'}` +
      (k.nrPinnedAtEnd === null ? '' : `, ${k.nrPinnedAtEnd} pinned at end`),
  );
  const n = report.counts;
  out.push(...renderEventCounts(report));
  const observed = Object.entries(n.observedFields);
  if (observed.length > 0) out.push(`compared with the model: ${observed.map(([field, count]) => `${field} ${count}`).join(', ')}`);
  const divergences = Object.entries(n.divergences);
  if (divergences.length > 0) out.push(`divergences: ${divergences.map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
  if (report.dataLossAt !== null) {
    out.push(`data loss from ${report.dataLossAt.file}:${report.dataLossAt.line}: findings after it are inconclusive`);
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
