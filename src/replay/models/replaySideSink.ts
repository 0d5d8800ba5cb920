/**
 * What the replay does with the allocator side's findings: mismatches become divergences,
 * comparisons are counted, and snapshots of other CPUs' active VMIDs, which are racy, are
 * settled by `CrossCpuSnapshots` before they are called skew or divergence.
 */
import type { Diagnostics } from '../../diagnostics.js';
import type { EventBase, KernelPointer } from '../../events/common.js';
import type { VmidAllocator } from '../../model/vmidAllocator.js';
import type { SideSink } from './allocatorSide.js';
import { CrossCpuSnapshots, type SkewResolution } from './crossCpuSnapshots.js';
import type { OtherCpuMismatch } from './observations.js';
import type { VmState } from '../../steps/state.js';
import type { ReplayStats } from '../result/stats.js';
import type { DivergenceKind } from '../../steps/step.js';

export interface ReplaySinkDeps {
  readonly stats: ReplayStats;
  readonly diagnostics: Diagnostics;
  diverge(at: EventBase, kind: DivergenceKind, expected: string, observed: string, vm?: VmState): void;
  /** CPUs inside an update not yet replayed: their active VMID is being written. */
  cpusInsideUpdate(): ReadonlySet<number>;
}

export class ReplaySideSink implements SideSink {
  private readonly snapshots: CrossCpuSnapshots;

  constructor(
    private readonly deps: ReplaySinkDeps,
    cpus: number,
    /** How far apart in time two CPUs' events may be recorded out of their real order (µs). */
    skewBoundUs: number,
  ) {
    this.snapshots = new CrossCpuSnapshots(cpus, skewBoundUs);
  }

  mismatch(at: EventBase, kind: DivergenceKind, expected: string, observed: string, vm?: VmState): void {
    this.deps.diverge(at, kind, expected, observed, vm);
  }

  entryRace(read: EventBase, observed: number, previousCpu: number, idNow: number): void {
    this.deps.diagnostics.add('entry-race', { file: read.span.file, line: read.span.line, detail: `read id ${observed} before CPU ${previousCpu} changed it to ${idNow}` });
  }

  observedField(field: string): void {
    this.deps.stats.countObservedField(field);
  }

  otherCpu(mismatch: OtherCpuMismatch, at: EventBase): void {
    if (this.deps.cpusInsideUpdate().has(mismatch.cpu)) return;
    this.snapshots.mismatch(mismatch.cpu, mismatch.observed, mismatch.expected, at, this.settle);
  }

  sawSnapshot(): void {
    this.snapshots.noteSnapshot();
  }

  afterCall(allocator: VmidAllocator, at: EventBase): void {
    this.snapshots.afterCall(allocator.activeVmids, at.tsUs, this.settle);
  }

  unknownVm(pointer: KernelPointer, at: EventBase): void {
    this.deps.diagnostics.add('unknown-vm', { file: at.span.file, line: at.span.line, detail: pointer });
  }

  /** End of trace: snapshots whose value never came are divergences. */
  finish(): void {
    this.snapshots.finish(this.settle);
  }

  private readonly settle = (resolution: SkewResolution): void => {
    const detail = `CPU ${resolution.cpu}: snapshot shows ${resolution.observed}, the replay has ${resolution.expected} there`;
    if (resolution.kind === 'skew') {
      this.deps.diagnostics.add('snapshot-skew', { file: resolution.at.span.file, line: resolution.at.span.line, detail });
      return;
    }
    this.deps.diverge(
      resolution.at,
      'per-cpu-active',
      `active_vmids[${resolution.cpu}]=${resolution.expected}`,
      `active_vmids[${resolution.cpu}]=${resolution.observed}, a value CPU ${resolution.cpu} neither had nor took within the skew bound`,
    );
  };
}
