/**
 * The allocator side of the replay: each allocator call applied to the `VmidAllocator` model as
 * the kernel makes it, and everything the trace recorded of the allocator's answers and state
 * compared with the model at the same point. It knows nothing of steps, checks or statistics:
 * what it finds goes to a `SideSink`. The replay drives one; the clock-skew search drives
 * copies of it (`clone()`) to try other orders of the same calls.
 */
import type { EventBase, KernelPointer } from '../../events/common.js';
import type { PinGetEvent, PinPutEvent, VmDestroyEvent, VmidRolloverEvent, VmidUpdateEvent } from '../../events/kvmEvents.js';
import type { PinOutcome, UnpinOutcome, UpdateOutcome, VmidAllocator } from '../../model/vmidAllocator.js';
import type { InsideEvent } from '../sequence/callSequencer.js';
import { compareObservation, type OtherCpuMismatch } from './observations.js';
import { flushSnapshotAfter, type FlushSnapshot } from './flushSnapshot.js';
import type { VmState } from '../../steps/state.js';
import type { DivergenceKind } from '../../steps/step.js';

/** VMs by pointer, one lifetime each (`VmRegistry`, or a copy-on-write view of one). */
export interface VmLookup {
  /** The live VM at `pointer`; one never created in the trace is made on first sight. */
  at(pointer: KernelPointer, at: EventBase): VmState;
  live(pointer: KernelPointer): VmState | undefined;
  create(pointer: KernelPointer, at: EventBase): VmState;
}

/** Where the allocator side's findings go. */
export interface SideSink {
  /** The trace recorded something the model does not reproduce (`weight`: how far off, see `Disagreement`). */
  mismatch(at: EventBase, kind: DivergenceKind, expected: string, observed: string, vm?: VmState, weight?: number): void;
  /** An entry read the id before another CPU's racing update changed it (not a mismatch). */
  entryRace(read: EventBase, observed: number, previousCpu: number, idNow: number): void;
  /** One comparison of an observed field with the model, for the report's counts. */
  observedField(field: string): void;
  /** Another CPU's active VMID in a snapshot differs from the model: racy, settled by the sink. */
  otherCpu(mismatch: OtherCpuMismatch, at: EventBase): void;
  /** The trace carries snapshots of every CPU's active VMID. */
  sawSnapshot(): void;
  /** After every call that may change `active_vmids` (`at`: the call). */
  afterCall(allocator: VmidAllocator, at: EventBase): void;
  /** A VM pointer that no creation in the trace introduced. */
  unknownVm?(pointer: KernelPointer, at: EventBase): void;
}

export interface UpdateResult {
  readonly vm: VmState;
  readonly idBefore: number;
  readonly outcome: UpdateOutcome;
}

export interface PinResult {
  readonly vm: VmState;
  readonly outcome: PinOutcome;
}

/** What a probe map tells about a trace before it is read: whether it has a rollover probe. */
export interface TraceShape {
  readonly showsRollovers: boolean;
}

const noCpus: ReadonlySet<number> = new Set();

export class AllocatorSide {
  /** Per CPU, the latest update's outcome, for probes that fire after it. */
  private readonly lastOutcomeByCpu: Map<number, UpdateOutcome>;
  /** Other CPUs' snapshot values that differ, written over by each compare. */
  private readonly otherCpus: OtherCpuMismatch[] = [];
  /** The trace has a probe right after flush_context(): a rollover without one is a mismatch. */
  private traceShowsRollovers: boolean;
  private sawInLockProbe: boolean;
  /** What the latest rollover's `flush_context()` left, for a probe placed right after it. */
  private lastFlush: FlushSnapshot | undefined;

  constructor(
    readonly allocator: VmidAllocator,
    readonly vms: VmLookup,
    private readonly sink: SideSink,
    shape: TraceShape,
    copyOf?: AllocatorSide,
  ) {
    this.lastOutcomeByCpu = new Map(copyOf?.lastOutcomeByCpu);
    this.traceShowsRollovers = copyOf?.traceShowsRollovers ?? shape.showsRollovers;
    this.sawInLockProbe = copyOf?.sawInLockProbe ?? false;
    this.lastFlush = copyOf?.lastFlush;
  }

  /** An independent copy with its own allocator, VMs and sink: the state the trace would reach in another order. */
  clone(allocator: VmidAllocator, vms: VmLookup, sink: SideSink): AllocatorSide {
    return new AllocatorSide(allocator, vms, sink, { showsRollovers: this.traceShowsRollovers }, this);
  }

  /** What the latest update on `cpu` did. */
  lastOutcome(cpu: number): UpdateOutcome | undefined {
    return this.lastOutcomeByCpu.get(cpu);
  }

  /** `kvm_arm_vmid_update()` replayed at `decision`, with the id its `entry` read. */
  update(entry: VmidUpdateEvent | undefined, decision: VmidUpdateEvent, inside: readonly InsideEvent[]): UpdateResult {
    const allocator = this.allocator;
    const vm = this.vms.at((decision.vm ?? entry?.vm) as KernelPointer, decision);
    const idBefore = vm.kvmVmid.id;
    const observedBefore = entry?.observedId ?? (decision.phase === 'entry' ? decision.observedId : undefined);
    let idReadAtEntry = idBefore;
    if (observedBefore !== undefined) this.sink.observedField('idBefore');
    if (observedBefore !== undefined && observedBefore !== idBefore) {
      const previous = vm.previousId;
      if (previous !== undefined && previous.id === observedBefore && previous.cpu !== decision.cpu) {
        // Not a mismatch: this call read the id before CPU `previous.cpu`'s call took the lock
        // and changed it. The kernel then fails the fast-path test and re-reads under the lock.
        this.sink.entryRace(entry ?? decision, observedBefore, previous.cpu, idBefore);
        idReadAtEntry = observedBefore;
      } else {
        this.sink.mismatch(entry ?? decision, 'id-before', String(idBefore), String(observedBefore), vm);
      }
    }
    const entryGeneration = entry?.observed?.generation;
    const outcome = allocator.update(vm.kvmVmid, decision.cpu, idReadAtEntry);
    if (outcome.flushes > 0) this.lastFlush = flushSnapshotAfter(allocator, allocator.indexOf(outcome.idAfter));
    this.sink.afterCall(allocator, decision);
    if (outcome.idAfter !== idBefore) vm.previousId = { id: idBefore, cpu: decision.cpu };
    if (entry !== undefined && entryGeneration !== undefined) this.compareEntryGeneration(entry, entryGeneration, vm);
    this.checkInside(inside, outcome.flushes, vm);
    this.compareCall(decision, vm, outcome);
    if (decision.phase !== 'entry' && decision.observedId !== undefined && decision.observedId !== outcome.idAfter) {
      this.sink.mismatch(decision, 'id-after', String(outcome.idAfter), String(decision.observedId), vm);
    }
    return { vm, idBefore, outcome };
  }

  /** RFC `kvm_arm_pinned_vmid_get()` replayed at `decision`. */
  pin(entry: PinGetEvent | undefined, decision: PinGetEvent, inside: readonly InsideEvent[]): PinResult {
    const vm = this.vms.at((decision.vm ?? entry?.vm) as KernelPointer, decision);
    const idBefore = vm.kvmVmid.id;
    const outcome = this.allocator.pinGet(vm.kvmVmid);
    if (outcome.flushes > 0) this.lastFlush = flushSnapshotAfter(this.allocator, this.allocator.indexOf(outcome.idAfter));
    this.sink.afterCall(this.allocator, decision);
    if (outcome.idAfter !== idBefore) vm.previousId = { id: idBefore, cpu: decision.cpu };
    this.checkInside(inside, outcome.flushes, vm);
    if (decision.phase === 'return' && decision.observedRet !== undefined && decision.observedRet !== outcome.ret) {
      this.sink.mismatch(decision, 'pin-ret', String(outcome.ret), String(decision.observedRet), vm);
    }
    return { vm, outcome };
  }

  /** RFC `kvm_arm_pinned_vmid_put()`. */
  unpin(event: PinPutEvent): { readonly vm: VmState; readonly outcome: UnpinOutcome } {
    const vm = this.vms.at(event.vm, event);
    return { vm, outcome: this.allocator.pinPut(vm.kvmVmid) };
  }

  /** `kvm_arm_vmid_clear_active()` on the event's CPU. */
  put(event: EventBase): void {
    this.allocator.clearActive(event.cpu);
    this.sink.afterCall(this.allocator, event);
  }

  create(pointer: KernelPointer, at: EventBase): VmState {
    return this.vms.create(pointer, at);
  }

  /** The end of a VM: undefined when no live VM has the pointer. */
  destroy(event: VmDestroyEvent): VmState | undefined {
    const vm = this.vms.live(event.vm);
    if (vm === undefined) return undefined;
    if (event.observedId !== undefined && event.observedId !== vm.kvmVmid.id) {
      this.sink.mismatch(event, 'destroy-id', String(vm.kvmVmid.id), String(event.observedId), vm);
    }
    vm.destroyed = true;
    return vm;
  }

  /** A later probe of an update already replayed: compared, nothing applied. */
  later(event: VmidUpdateEvent, call: VmidUpdateEvent | PinGetEvent): void {
    const pointer = event.vm ?? call.vm;
    const vm = pointer === undefined ? undefined : this.vms.live(pointer);
    if (vm !== undefined && event.observedId !== undefined && event.observedId !== vm.kvmVmid.id) {
      this.sink.mismatch(event, 'id-after', String(vm.kvmVmid.id), String(event.observedId), vm);
    }
    this.compare(event.cpu, event, this.lastOutcomeByCpu.get(event.cpu), vm);
  }

  /** Something that fired inside the update replayed last on its CPU (its rollover's TLBI). */
  laterInside(event: InsideEvent): void {
    this.checkInside([event], this.lastOutcomeByCpu.get(event.cpu)?.flushes ?? 0, undefined);
  }

  /**
   * A rollover probe outside any call the sequencer knows of. Replayed at returns, its call
   * comes after this line, so the model has yet to bump; replayed at entries, it already did.
   */
  strayRollover(event: VmidRolloverEvent, callStillToCome: boolean): void {
    if (event.observedGeneration === undefined) return;
    const allocator = this.allocator;
    const expected = callStillToCome ? allocator.generation + allocator.firstVersion : allocator.generation;
    if (event.observedGeneration !== expected) this.sink.mismatch(event, 'rollover', String(expected), String(event.observedGeneration));
  }

  /**
   * What fired inside a call, against what the model did in it (`flushes` rollovers). The
   * caller applies a TLBI the model has no rollover for as the broadcast it still was.
   */
  private checkInside(inside: readonly InsideEvent[], flushes: number, vm: VmState | undefined): void {
    for (const event of inside) {
      if (event.kind === 'vmid-rollover') {
        if (flushes === 0) this.sink.mismatch(event, 'rollover', 'no rollover in this call', `a rollover${event.observedGeneration === undefined ? '' : ` to generation ${event.observedGeneration}`}`, vm);
        else if (event.observedGeneration !== undefined && event.observedGeneration !== this.allocator.generation) {
          this.sink.mismatch(event, 'rollover', String(this.allocator.generation), String(event.observedGeneration), vm);
        }
      } else if (flushes === 0) {
        this.sink.mismatch(event, 'rollover', 'no rollover in this call', "the rollover's TLBI ALLE1IS (__kvm_flush_vm_context) inside it", vm);
      }
    }
  }

  /**
   * The generation an entry probe read (`gen=`): `vmid_generation` only grows, and the entry
   * comes before the decision, so it cannot exceed the generation the call decided in.
   */
  private compareEntryGeneration(entry: VmidUpdateEvent, generation: number, vm: VmState): void {
    this.sink.observedField('entryGeneration');
    if (generation > this.allocator.generation) {
      this.sink.mismatch(entry, 'generation', `vmid_generation at most ${this.allocator.generation} when the call entered`, `vmid_generation ${generation}`, vm);
    }
  }

  /** The probe a call was replayed at: what it read, and that a rollover the model made was seen. */
  private compareCall(decision: VmidUpdateEvent, vm: VmState, outcome: UpdateOutcome): void {
    this.lastOutcomeByCpu.set(decision.cpu, outcome);
    if (decision.phase === 'entry') return;
    if (decision.observed?.flushGeneration !== undefined) this.traceShowsRollovers = true;
    // A probe map may list a rollover probe the capture did not enable: trust it once the
    // trace shows it has in-lock probes at all.
    if (decision.phase === 'decision') this.sawInLockProbe = true;
    if (outcome.flushes > 0 && this.traceShowsRollovers && this.sawInLockProbe && decision.observed?.flushGeneration === undefined) {
      this.sink.mismatch(decision, 'rollover', `a rollover to generation ${this.allocator.generation} in this call`, 'no rollover probe before the decision', vm);
    }
    this.compare(decision.cpu, decision, outcome, vm);
  }

  private compare(cpu: number, event: VmidUpdateEvent, outcome: UpdateOutcome | undefined, vm: VmState | undefined): void {
    if (event.observedId !== undefined) this.sink.observedField('idAfter');
    const observed = event.observed;
    if (observed === undefined) return;
    // `for in`, not Object.keys: no array per probe (an observation is a plain object).
    for (const field in observed) this.sink.observedField(field);
    const others = this.otherCpus;
    others.length = 0;
    for (const disagreement of compareObservation(this.allocator, cpu, observed, outcome, this.lastFlush, noCpus, others)) {
      this.sink.mismatch(event, disagreement.kind, disagreement.expected, disagreement.observed, vm, disagreement.weight);
    }
    if (observed.activeAll !== undefined) this.sink.sawSnapshot();
    for (let i = 0; i < others.length; i++) this.sink.otherCpu(others[i] as OtherCpuMismatch, event);
  }
}

/** Where a copy of the allocator side starts (the skew search's shadows): the replay's state now, or a fresh host before it has one. */
export interface ShadowBase {
  readonly side: AllocatorSide | undefined;
  readonly vms: ReadonlyMap<KernelPointer, VmState> | undefined;
  /** A fresh allocator for the trace's configuration, when the real replay has none yet. */
  readonly freshAllocator: () => VmidAllocator | undefined;
  readonly shape: TraceShape;
  /** Whether a stray rollover probe's call is still to come (calls replayed at returns). */
  readonly rolloverCallStillToCome: () => boolean;
}
