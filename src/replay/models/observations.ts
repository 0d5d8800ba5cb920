/**
 * Compares what a probe read of the allocator's state with the model at the same point in the
 * replay. Pure: returns the disagreements, the replay reports them as divergences.
 */
import type { AllocatorObservation } from '../../events/kvmEvents.js';
import { VmidAllocator, type UpdateOutcome } from '../../model/vmidAllocator.js';
import type { DivergenceKind } from '../../steps/step.js';
import type { FlushSnapshot } from './flushSnapshot.js';

export interface Disagreement {
  readonly kind: DivergenceKind;
  readonly expected: string;
  readonly observed: string;
  /**
   * How far apart: the CPUs whose values differ in a per-CPU list, the bits that differ in the
   * bitmap, else 1. A search for the order that explains an observation needs to see a closer
   * miss as better.
   */
  readonly weight: number;
}

/** Another CPU's active VMID in a snapshot that differs from the model: maybe clock skew. */
export interface OtherCpuMismatch {
  readonly cpu: number;
  readonly observed: number;
  readonly expected: number;
}

function compareList(kind: DivergenceKind, what: string, expected: readonly number[], observed: readonly number[]): Disagreement | undefined {
  const count = Math.min(expected.length, observed.length);
  let first = -1;
  let weight = 0;
  for (let cpu = 0; cpu < count; cpu++) {
    if (expected[cpu] === observed[cpu]) continue;
    if (first === -1) first = cpu;
    weight += 1;
  }
  if (first === -1) return undefined;
  return {
    kind,
    expected: `${what}[${first}]=${expected[first]} (all: ${expected.slice(0, count).join(',')})`,
    observed: `${what}[${first}]=${observed[first]} (all: ${observed.slice(0, count).join(',')})`,
    weight,
  };
}

/** Set bits of a 64-bit word. */
function bitCount(word: bigint): number {
  let count = 0;
  for (let rest = word; rest !== 0n; rest &= rest - 1n) count++;
  return count;
}

const noCpus: ReadonlySet<number> = new Set();
/** What most compares return: shared, since nothing disagrees on nearly every call. */
const agreed: readonly Disagreement[] = [];

/**
 * `outcome` is the call's result when the probe is the point the call was replayed at (or a
 * later probe of the same call); `flushedInCall` whether the model rolled over in that call.
 * It runs for every probe that read the allocator, so it allocates only for what disagrees.
 */
export function compareObservation(
  allocator: VmidAllocator,
  cpu: number,
  observed: AllocatorObservation,
  outcome: UpdateOutcome | undefined,
  /** What the latest rollover's `flush_context()` left (undefined before the first). */
  flush: FlushSnapshot | undefined,
  /** CPUs whose active VMID is being written right now (inside an update not yet replayed). */
  inFlux: ReadonlySet<number> = noCpus,
  otherCpus: OtherCpuMismatch[] = [],
): readonly Disagreement[] {
  let out: Disagreement[] | undefined;
  if (observed.activeId !== undefined && observed.activeId !== allocator.activeVmids[cpu]) {
    out = withOne(out, { kind: 'active', expected: `CPU ${cpu} active ${allocator.activeVmids[cpu]}`, observed: `CPU ${cpu} active ${observed.activeId}`, weight: 1 });
  }
  if (observed.generation !== undefined && observed.generation !== allocator.generation) {
    out = withOne(out, { kind: 'generation', expected: `vmid_generation ${allocator.generation}`, observed: `vmid_generation ${observed.generation}`, weight: 1 });
  }
  if (observed.activeAll !== undefined) {
    // The probe's own CPU is exact; the others are racy snapshots, settled by the caller.
    const own = observed.activeAll[cpu];
    if (own !== undefined && own !== allocator.activeVmids[cpu]) {
      out = withOne(out, { kind: 'per-cpu-active', expected: `active_vmids[${cpu}]=${allocator.activeVmids[cpu]}`, observed: `active_vmids[${cpu}]=${own}`, weight: 1 });
    }
    for (let other = 0; other < observed.activeAll.length; other++) {
      const value = observed.activeAll[other] as number;
      const expected = allocator.activeVmids[other];
      if (other !== cpu && !inFlux.has(other) && expected !== undefined && value !== expected) otherCpus.push({ cpu: other, observed: value, expected });
    }
  }
  const atFlush = observed.flushGeneration !== undefined;
  if (atFlush) {
    if (outcome !== undefined && outcome.flushes === 0) {
      out = withOne(out, { kind: 'rollover', expected: 'no rollover in this call', observed: `a rollover to generation ${observed.flushGeneration}`, weight: 1 });
    } else if (flush === undefined || flush.generation !== observed.flushGeneration) {
      out = withOne(out, { kind: 'rollover', expected: `generation ${flush?.generation ?? 'none'} at the last rollover`, observed: `generation ${observed.flushGeneration}`, weight: 1 });
    }
  }
  if (observed.reservedAll !== undefined) {
    // Right after flush_context() the reservations are the flush's; later, the current ones.
    const expected = atFlush && flush !== undefined ? flush.reserved : allocator.reservedVmids;
    out = withOne(out, compareList('per-cpu-reserved', 'reserved_vmids', expected, observed.reservedAll));
  }
  if (observed.mapWords !== undefined && flush !== undefined) {
    const words = VmidAllocator.bitmapWords(flush.map, observed.mapWords.length);
    const differs = words.findIndex((word, i) => word !== observed.mapWords?.[i]);
    if (differs !== -1) {
      const weight = words.reduce((sum, word, i) => sum + bitCount(word ^ (observed.mapWords?.[i] ?? 0n)), 0);
      out = withOne(out, { kind: 'bitmap', expected: `vmid_map word ${differs} 0x${(words[differs] ?? 0n).toString(16)}`, observed: `0x${(observed.mapWords[differs] ?? 0n).toString(16)}`, weight });
    }
  }
  if (observed.curIdx !== undefined && observed.curIdx !== allocator.curIdx) {
    out = withOne(out, { kind: 'cur-idx', expected: `cur_idx ${allocator.curIdx}`, observed: `cur_idx ${observed.curIdx}`, weight: 1 });
  }
  if (observed.reservedHit !== undefined && outcome?.path !== undefined) {
    const modelHit = outcome.path === 'reserved' ? 1 : 0;
    if (modelHit !== observed.reservedHit || (outcome.path !== 'reserved' && outcome.path !== 'reuse')) {
      out = withOne(out, { kind: 'keep-branch', expected: `new_vmid() branch ${outcome.path}`, observed: `keep with reserved_hit=${observed.reservedHit}`, weight: 1 });
    }
  }
  return out ?? agreed;
}

function withOne(out: Disagreement[] | undefined, item: Disagreement | undefined): Disagreement[] | undefined {
  if (item === undefined) return out;
  if (out === undefined) return [item];
  out.push(item);
  return out;
}
