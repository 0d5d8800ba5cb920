/**
 * Snapshots of other CPUs' `active_vmids` (read by a probe on one CPU) against the replay's
 * order. `active_vmids` is written without the lock on the fast path, and a trace clock such
 * as `local` (per-CPU sched_clock) does not order events of different CPUs exactly, so a
 * snapshot may show another CPU's value from just before or just after that CPU's own events
 * say it changed (seen in the real captures: a value a CPU takes 4 ms "later").
 *
 * Such a value is not a divergence when it is that CPU's previous value or its next one; it is
 * counted as clock skew. Anything else is a divergence, reported at the snapshot's line once
 * the CPU's next change shows the value never came.
 */
import type { EventBase } from '../events/common.js';

export interface SkewResolution {
  readonly kind: 'skew' | 'divergence';
  readonly cpu: number;
  readonly observed: number;
  readonly expected: number;
  readonly at: EventBase;
}

interface PendingSnapshot {
  readonly observed: number;
  readonly expected: number;
  readonly at: EventBase;
}

export class CrossCpuSnapshots {
  private readonly current: number[];
  private readonly previous: number[];
  private readonly pending = new Map<number, PendingSnapshot>();
  /** Until a trace shows a snapshot, nothing is tracked (the diff costs O(CPUs) per call). */
  private active = false;

  constructor(cpus: number) {
    this.current = new Array<number>(cpus).fill(0);
    this.previous = new Array<number>(cpus).fill(0);
  }

  /** The trace carries snapshots: start following every CPU's changes. */
  noteSnapshot(): void {
    this.active = true;
  }

  /** A snapshot of `cpu`'s active VMID disagreed with the model (`expected`). */
  mismatch(cpu: number, observed: number, expected: number, at: EventBase, resolve: (resolution: SkewResolution) => void): void {
    this.active = true;
    if (observed === this.previous[cpu]) {
      resolve({ kind: 'skew', cpu, observed, expected, at });
      return;
    }
    if (!this.pending.has(cpu)) this.pending.set(cpu, { observed, expected, at });
  }

  /** After each allocator call: note which CPUs' active VMIDs changed, settle pending snapshots. */
  afterCall(activeVmids: readonly number[], resolve: (resolution: SkewResolution) => void): void {
    if (!this.active) {
      for (let cpu = 0; cpu < this.current.length; cpu++) this.current[cpu] = activeVmids[cpu] ?? 0;
      return;
    }
    for (let cpu = 0; cpu < this.current.length; cpu++) {
      const value = activeVmids[cpu] ?? 0;
      if (value === this.current[cpu]) continue;
      this.previous[cpu] = this.current[cpu] as number;
      this.current[cpu] = value;
      const snapshot = this.pending.get(cpu);
      if (snapshot === undefined) continue;
      this.pending.delete(cpu);
      resolve({ kind: value === snapshot.observed ? 'skew' : 'divergence', cpu, observed: snapshot.observed, expected: snapshot.expected, at: snapshot.at });
    }
  }

  /** End of trace: snapshots whose value never came are divergences. */
  finish(resolve: (resolution: SkewResolution) => void): void {
    for (const [cpu, snapshot] of this.pending) resolve({ kind: 'divergence', cpu, ...snapshot });
    this.pending.clear();
  }
}
