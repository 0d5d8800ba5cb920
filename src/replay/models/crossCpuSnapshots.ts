/**
 * Snapshots of other CPUs' `active_vmids` (read by a probe on one CPU) against the replay's
 * order. `active_vmids` is written without the lock (the fast path's `cmpxchg`,
 * `kvm_arm_vmid_clear_active()`), and a trace clock such as `local` (per-CPU sched_clock) does
 * not order events of different CPUs exactly, so a snapshot may show another CPU's value from
 * before or after that CPU's own events say it held it (seen in the real captures: a value a
 * CPU takes 4 ms "later"; a CPU can even put and reload within the skew, so the snapshot shows
 * its next-but-one value).
 *
 * Such a value is not a divergence when that CPU held it within the skew bound of the
 * snapshot's time, before or after; and, whatever the bound, when it is the CPU's previous
 * value or the next one it takes. It is counted as clock skew. Anything else is a divergence,
 * reported at the snapshot's line once the CPU's changes have passed the bound without it.
 */
import type { EventBase } from '../../events/common.js';

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

/** A value a CPU took, and when (the time of the call that wrote it). */
interface HeldValue {
  readonly value: number;
  readonly tsUs: number;
}

export class CrossCpuSnapshots {
  private readonly current: number[];
  private readonly previous: number[];
  /** Per CPU, the values taken within the bound before the latest change (oldest first). */
  private readonly recent: HeldValue[][];
  private readonly pending = new Map<number, PendingSnapshot>();
  /** Until a trace shows a snapshot, nothing is tracked (the diff costs O(CPUs) per call). */
  private active = false;

  constructor(
    cpus: number,
    private readonly boundUs = 0,
  ) {
    this.current = new Array<number>(cpus).fill(0);
    this.previous = new Array<number>(cpus).fill(0);
    this.recent = Array.from({ length: cpus }, () => []);
  }

  /** The trace carries snapshots: start following every CPU's changes. */
  noteSnapshot(): void {
    this.active = true;
  }

  /** A snapshot of `cpu`'s active VMID disagreed with the model (`expected`). */
  mismatch(cpu: number, observed: number, expected: number, at: EventBase, resolve: (resolution: SkewResolution) => void): void {
    this.active = true;
    if (observed === this.previous[cpu] || this.heldSince(cpu, observed, at.tsUs - this.boundUs)) {
      resolve({ kind: 'skew', cpu, observed, expected, at });
      return;
    }
    if (!this.pending.has(cpu)) this.pending.set(cpu, { observed, expected, at });
  }

  /** Whether `cpu` took `value` at or after `sinceUs`. */
  private heldSince(cpu: number, value: number, sinceUs: number): boolean {
    const held = this.recent[cpu];
    if (held === undefined) return false;
    for (let i = held.length - 1; i >= 0; i--) {
      const entry = held[i] as HeldValue;
      // The first entry older than `sinceUs` is the value held at `sinceUs`: it counts too.
      if (entry.value === value) return true;
      if (entry.tsUs < sinceUs) return false;
    }
    return false;
  }

  /**
   * After each allocator call (at `tsUs`, the call's time): note which CPUs' active VMIDs
   * changed, and settle pending snapshots of them.
   */
  afterCall(activeVmids: readonly number[], tsUs: number, resolve: (resolution: SkewResolution) => void): void {
    if (!this.active) {
      for (let cpu = 0; cpu < this.current.length; cpu++) this.current[cpu] = activeVmids[cpu] ?? 0;
      return;
    }
    for (let cpu = 0; cpu < this.current.length; cpu++) {
      const value = activeVmids[cpu] ?? 0;
      if (value === this.current[cpu]) continue;
      this.previous[cpu] = this.current[cpu] as number;
      this.current[cpu] = value;
      this.remember(cpu, value, tsUs);
      const snapshot = this.pending.get(cpu);
      if (snapshot === undefined) continue;
      if (value === snapshot.observed) {
        this.pending.delete(cpu);
        resolve({ kind: 'skew', cpu, observed: snapshot.observed, expected: snapshot.expected, at: snapshot.at });
      } else if (this.boundUs === 0 || tsUs > snapshot.at.tsUs + this.boundUs) {
        // The next value (with no bound), or every value taken within the bound, was another.
        this.pending.delete(cpu);
        resolve({ kind: 'divergence', cpu, observed: snapshot.observed, expected: snapshot.expected, at: snapshot.at });
      }
    }
  }

  private remember(cpu: number, value: number, tsUs: number): void {
    if (this.boundUs === 0) return;
    const held = this.recent[cpu] as HeldValue[];
    held.push({ value, tsUs });
    // Keep the value held at the cutoff: drop an entry only when the next one is older too.
    let stale = 0;
    while (stale < held.length - 1 && (held[stale + 1] as HeldValue).tsUs < tsUs - 2 * this.boundUs) stale++;
    if (stale > 0) held.splice(0, stale);
  }

  /** End of trace: snapshots whose value never came are divergences. */
  finish(resolve: (resolution: SkewResolution) => void): void {
    for (const [cpu, snapshot] of this.pending) resolve({ kind: 'divergence', cpu, ...snapshot });
    this.pending.clear();
  }
}
