/**
 * What the HTML report's script draws, as compact arrays (a 64-CPU host's lanes hold tens of
 * thousands of cells): the timeline's buckets, and where each finding is. Times are
 * microseconds from the timeline's start, so the script's arithmetic stays exact.
 */
import type { Report } from '../report.js';
import type { CounterCell, OccupancyLane, Timeline } from '../../timeline/types.js';

export interface ViewerPayload {
  /** Trace time of the start, for labels. */
  readonly startUs: number;
  readonly spanUs: number;
  readonly bucketUs: number;
  /** Per owner: label and hue (null: no colour, a binding without a stage 2). */
  readonly owners: readonly (readonly [string, number | null])[];
  /** Per lane: label, kind, and cells `[bucket, busyUs, changes, owner, us, owner, us, ...]`. */
  readonly lanes: readonly (readonly [string, 'cpu' | 'stream', readonly (readonly number[])[]])[];
  /** `[bucket, min, max, last]`. */
  readonly pinned: readonly (readonly number[])[];
  readonly maxPinned: number | null;
  /** `[bucket, count]`. */
  readonly rollovers: readonly (readonly number[])[];
  /** `[index in the report, microseconds from the start, severity, check id, inconclusive 0/1]`. */
  readonly findings: readonly (readonly [number, number, string, string, number])[];
}

/** FNV-1a: the same group gets the same colour in every report. */
function hueOf(group: string): number | null {
  if (group.startsWith('config:')) return null;
  let hash = 0x811c9dc5;
  for (let i = 0; i < group.length; i++) hash = Math.imul(hash ^ group.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % 360;
}

function laneCells(lane: OccupancyLane): number[][] {
  return lane.cells.map((cell) => [cell.bucket, cell.busyUs, cell.changes, ...cell.top.flatMap((top) => [top.owner, top.us])]);
}

function counterCells(cells: readonly CounterCell[]): number[][] {
  return cells.map((cell) => [cell.bucket, cell.min, cell.max, cell.last]);
}

export function viewerPayload(report: Report, timeline: Timeline): ViewerPayload {
  return {
    startUs: timeline.startUs,
    spanUs: Math.max(1, timeline.endUs - timeline.startUs),
    bucketUs: timeline.bucketUs,
    owners: timeline.owners.map((owner) => [owner.label, hueOf(owner.group)] as const),
    lanes: [...timeline.cpus.map((lane) => [lane.label, 'cpu', laneCells(lane)] as const), ...timeline.streams.map((lane) => [lane.label, 'stream', laneCells(lane)] as const)],
    pinned: counterCells(timeline.counters.pinnedVmids),
    maxPinned: report.config.maxPinnedVmids,
    rollovers: timeline.rollovers.map((entry) => [entry.bucket, entry.count]),
    findings: report.findings.map((finding, index) => [index + 1, Math.max(0, finding.tsUs - timeline.startUs), finding.severity, finding.checkId, finding.inconclusive ? 1 : 0] as const),
  };
}
