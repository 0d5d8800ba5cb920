/**
 * The one value every renderer reads. Building it is pure: same replay, same report.
 */
import type { DiagnosticCount } from '../diagnostics.js';
import type { Finding, Severity } from '../checks/types.js';
import { allChecks } from '../checks/index.js';
import type { ReplayResult } from '../replay/replay.js';
import { replayIsSure } from '../replay/result/unreadable.js';
import type { EventRef } from '../model/eventRef.js';

export type Verdict = 'ok' | 'findings' | 'inconclusive';

export interface CheckSummary {
  readonly id: string;
  readonly description: string;
  readonly count: number;
  readonly inconclusive: number;
}

export interface Report {
  readonly tool: 'vmid-replay';
  readonly file: string;
  readonly verdict: Verdict;
  readonly config: {
    readonly vmidBits: number | null;
    readonly cpus: number | null;
    readonly variant: string | null;
    readonly maxPinnedVmids: number | null;
    readonly origins: Record<string, string>;
    readonly smmus: readonly { readonly name: string; readonly vmidBits: number; readonly btm: boolean }[];
  };
  readonly counts: {
    readonly records: Record<string, number>;
    readonly eventsByKind: Record<string, number>;
    readonly unusedByName: Record<string, number>;
    readonly unrecognisedProbes: number;
    readonly malformedEvents: number;
    /** Lines that are no trace line at all (`records.malformed`), beside the event lines. */
    readonly malformedLines: number;
    /** Configuration events read from header lines: in `eventsByKind`, but not event lines. */
    readonly eventsFromHeaders: number;
    readonly allEventsAccounted: boolean;
    /** Every divergence by kind (the model-divergence check reports the first of each). */
    readonly divergences: Record<string, number>;
    /** How often each allocator result the trace recorded was compared with the model. */
    readonly observedFields: Record<string, number>;
  };
  readonly costs: {
    readonly loads: number;
    readonly slowLoads: number;
    readonly rollovers: number;
    readonly generation: number | null;
    readonly nrPinnedAtEnd: number | null;
  };
  readonly checks: readonly CheckSummary[];
  readonly findings: readonly Finding[];
  readonly diagnostics: readonly DiagnosticCount[];
  readonly dataLossAt: EventRef | null;
  /** Where unreadable lines begin, when more than 1 % of the lines could not be read: findings from there on are inconclusive. */
  readonly unreadableFrom: { readonly file: string; readonly line: number } | null;
}

/** Severities that make a verdict `findings`; notices are facts, listed but not held against the trace. */
const verdictSeverities: ReadonlySet<Severity> = new Set(['error', 'warning']);

export function verdictOf(findings: readonly Finding[], dataLoss: boolean): Verdict {
  if (findings.some((finding) => !finding.inconclusive && verdictSeverities.has(finding.severity))) return 'findings';
  if (dataLoss) return 'inconclusive';
  return 'ok';
}

function sortedRecord(map: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Findings from the first unreadable line on are not asserted, as after lost events: the lines may have held what refutes them. */
function afterUnreadable(findings: readonly Finding[], from: ReplayResult['unreadableFrom']): Finding[] {
  if (from === undefined) return [...findings];
  return findings.map((finding) => (finding.inconclusive || finding.line < from.line ? finding : { ...finding, inconclusive: true }));
}

export function buildReport(file: string, result: ReplayResult): Report {
  const state = result.state;
  const allocator = state?.allocator;
  // Time order, then line: per-CPU files pasted together and merged are not in time order by line.
  const findings = afterUnreadable(result.findings, result.unreadableFrom).sort((a, b) => a.tsUs - b.tsUs || a.line - b.line || a.checkId.localeCompare(b.checkId));
  return {
    tool: 'vmid-replay',
    file,
    verdict: verdictOf(findings, !replayIsSure(result)),
    config: {
      vmidBits: allocator?.config.vmidBits ?? null,
      cpus: allocator?.config.cpus ?? null,
      variant: allocator?.config.variant ?? null,
      maxPinnedVmids: allocator === undefined || allocator.config.variant === 'mainline' ? null : allocator.maxPinnedVmids,
      origins: result.configOrigins,
      smmus: state === undefined ? [] : [...state.smmus.values()].map((smmu) => ({ name: smmu.name, ...smmu.settings })).sort((a, b) => a.name.localeCompare(b.name)),
    },
    counts: {
      records: { ...result.stats.records },
      eventsByKind: sortedRecord(result.stats.eventsByKind),
      unusedByName: sortedRecord(result.diagnostics.unusedByName),
      unrecognisedProbes: result.stats.unrecognisedProbes,
      malformedEvents: result.stats.malformedEvents,
      malformedLines: result.stats.records.malformed,
      eventsFromHeaders: result.stats.headerEvents,
      allEventsAccounted: result.stats.accounted(),
      divergences: sortedRecord(result.stats.divergences),
      observedFields: sortedRecord(result.stats.observedFields),
    },
    costs: {
      loads: result.stats.loads,
      slowLoads: result.stats.slowLoads,
      rollovers: result.stats.rollovers,
      generation: allocator === undefined ? null : allocator.generationOf(allocator.generation),
      nrPinnedAtEnd: allocator === undefined || allocator.config.variant === 'mainline' ? null : allocator.nrPinnedVmids,
    },
    checks: allChecks.map((check) => {
      const mine = findings.filter((finding) => finding.checkId === check.meta.id);
      return { id: check.meta.id, description: check.meta.description, count: mine.filter((f) => !f.inconclusive).length, inconclusive: mine.filter((f) => f.inconclusive).length };
    }),
    findings,
    diagnostics: result.diagnostics.list(),
    dataLossAt: result.dataLossAt ?? null,
    unreadableFrom: result.unreadableFrom ?? null,
  };
}
