/**
 * What the trace recorded of the allocator's answers and state, compared with the model as
 * the replay goes: a call's own probes, later probes of the same call, racy snapshots of
 * other CPUs (settled by `CrossCpuSnapshots`), and rollovers the trace must show.
 */
import type { Diagnostics } from '../diagnostics.js';
import type { VmidUpdateEvent } from '../events/kvmEvents.js';
import type { ProbeMap } from '../events/probeMap.js';
import type { EventBase } from '../events/common.js';
import type { UpdateOutcome, VmidAllocator } from '../model/vmidAllocator.js';
import { CrossCpuSnapshots, type SkewResolution } from './crossCpuSnapshots.js';
import { compareObservation, type OtherCpuMismatch } from './observations.js';
import type { VmState } from './state.js';
import type { ReplayStats } from './stats.js';
import type { DivergenceKind } from './steps.js';

export interface ObservationDeps {
  readonly stats: ReplayStats;
  readonly diagnostics: Diagnostics;
  diverge(at: EventBase, kind: DivergenceKind, expected: string, observed: string, vm?: VmState): void;
  /** CPUs inside an update not yet replayed: their active VMID is being written. */
  cpusInsideUpdate(): ReadonlySet<number>;
}

export class ObservationReplay {
  /** Per CPU, the latest update's outcome, for probes that fire after it. */
  private readonly lastOutcomeByCpu = new Map<number, UpdateOutcome>();
  /** The trace has a probe right after flush_context(): a rollover without one is a divergence. */
  private traceShowsRollovers: boolean;
  private sawInLockProbe = false;
  private snapshots: CrossCpuSnapshots | undefined;

  constructor(
    private readonly deps: ObservationDeps,
    probeMap: ProbeMap | undefined,
  ) {
    this.traceShowsRollovers = [...(probeMap?.events.values() ?? [])].some((mapped) => mapped.args.has('newgen'));
  }

  start(cpus: number): void {
    this.snapshots = new CrossCpuSnapshots(cpus);
  }

  private readonly settleSnapshot = (resolution: SkewResolution): void => {
    const detail = `CPU ${resolution.cpu}: snapshot shows ${resolution.observed}, the replay has ${resolution.expected} there`;
    if (resolution.kind === 'skew') {
      this.deps.diagnostics.add('cross-cpu-skew', { file: resolution.at.span.file, line: resolution.at.span.line, detail });
      return;
    }
    this.deps.diverge(
      resolution.at,
      'per-cpu-active',
      `active_vmids[${resolution.cpu}]=${resolution.expected}`,
      `active_vmids[${resolution.cpu}]=${resolution.observed}, a value CPU ${resolution.cpu} neither had nor took next`,
    );
  };

  /** After every allocator call: which CPUs' active VMIDs changed (settles racy snapshots). */
  afterAllocatorCall(allocator: VmidAllocator): void {
    this.snapshots?.afterCall(allocator.activeVmids, this.settleSnapshot);
  }

  private compare(allocator: VmidAllocator, cpu: number, event: VmidUpdateEvent, outcome: UpdateOutcome | undefined, at: EventBase, vm: VmState | undefined): void {
    if (event.observedId !== undefined) this.deps.stats.countObservedField('idAfter');
    const observed = event.observed;
    if (observed === undefined) return;
    this.deps.stats.countObservedFields(Object.keys(observed));
    const others: OtherCpuMismatch[] = [];
    for (const disagreement of compareObservation(allocator, cpu, observed, outcome, this.deps.cpusInsideUpdate(), others)) {
      this.deps.diverge(at, disagreement.kind, disagreement.expected, disagreement.observed, vm);
    }
    if (observed.activeAll !== undefined) this.snapshots?.noteSnapshot();
    for (const mismatch of others) this.snapshots?.mismatch(mismatch.cpu, mismatch.observed, mismatch.expected, at, this.settleSnapshot);
  }

  /** The probe a call was replayed at: what it read, and that a rollover the model made was seen. */
  compareCall(allocator: VmidAllocator, decision: VmidUpdateEvent, vm: VmState, outcome: UpdateOutcome, at: EventBase): void {
    this.lastOutcomeByCpu.set(decision.cpu, outcome);
    if (decision.phase === 'entry') return;
    if (decision.observed?.flushGeneration !== undefined) this.traceShowsRollovers = true;
    // A probe map may list a rollover probe the capture did not enable: trust it once the
    // trace shows it has in-lock probes at all.
    if (decision.phase === 'decision') this.sawInLockProbe = true;
    if (outcome.flushes > 0 && this.traceShowsRollovers && this.sawInLockProbe && decision.observed?.flushGeneration === undefined) {
      this.deps.diverge(at, 'rollover', `a rollover to generation ${allocator.generation} in this call`, 'no rollover probe before the decision', vm);
    }
    this.compare(allocator, decision.cpu, decision, outcome, at, vm);
  }

  /** What the latest update on `cpu` did. */
  lastOutcome(cpu: number): UpdateOutcome | undefined {
    return this.lastOutcomeByCpu.get(cpu);
  }

  /** One more probe of a call already replayed. */
  countLater(): void {
    this.deps.stats.countObservation();
  }

  /** A later probe of a call already replayed: compare, apply nothing. */
  compareLater(allocator: VmidAllocator, event: VmidUpdateEvent, vm: VmState | undefined, at: EventBase): void {
    this.countLater();
    if (vm !== undefined && event.observedId !== undefined && event.observedId !== vm.kvmVmid.id) {
      this.deps.diverge(at, 'id-after', String(vm.kvmVmid.id), String(event.observedId), vm);
    }
    this.compare(allocator, event.cpu, event, this.lastOutcomeByCpu.get(event.cpu), at, vm);
  }

  finish(): void {
    this.snapshots?.finish(this.settleSnapshot);
  }
}
