/**
 * Puts allocator calls at the point where their decision is visible. CPUs race into
 * `kvm_arm_vmid_update()`'s locked slow path, so entry order is not decision order (see
 * `../shared/captures/README.md`): when the trace has return probes, a call is replayed at its
 * return; when it has only entry probes, at its entry.
 *
 * Which of the two a trace has is learnt from the trace itself: after the first entry, events
 * are held (a bounded lookahead) until either a return shows up (return mode) or the caller
 * visibly moved on without one (entry mode).
 *
 * Entries and returns are paired per caller: `kvm_arm_vmid_update()` runs with preemption off,
 * so its return is on the entry's CPU; `kvm_arm_pinned_vmid_get()` is called from preemptible
 * ioctl context and may return on another CPU, so pins pair by VM.
 */

import type { TraceEvent } from '../../events/index.js';
import type { PinGetEvent, VmidRolloverEvent, VmidUpdateEvent } from '../../events/kvmEvents.js';
import type { CpuTlbiEvent } from '../../events/cpuEvents.js';
import { CpuSlots } from './cpuSlots.js';

export type CallEvent = VmidUpdateEvent | PinGetEvent;
export type CallFamily = CallEvent['kind'];
type Mode = 'unknown' | 'entry' | 'return';

/** What the kernel does inside an allocator call that a probe can show: the rollover. */
export type InsideEvent = VmidRolloverEvent | CpuTlbiEvent;

/**
 * Whether `event` fires inside an allocator call running on its CPU rather than after it:
 * a probe right after `flush_context()` (`vmid-rollover`), and on VHE the rollover's
 * `TLBI ALLE1IS`: `flush_context()` calls `__kvm_flush_vm_context()` through `kvm_call_hyp()`,
 * which is a plain function call when the kernel runs at EL2, so the `cpu_tlbi_all` probe fires
 * between `kvm_arm_vmid_update()`'s entry and its return on the same CPU (`new_vmid()` runs
 * with `cpu_vmid_lock` held, IRQs off). Every other by-VMID TLBI comes from page-table code,
 * never from vmid.c.
 */
export function firesInsideAllocatorCall(event: TraceEvent): event is InsideEvent {
  return event.kind === 'vmid-rollover' || (event.kind === 'cpu-tlbi' && event.op === 'ALLE1IS');
}

/** What the sequencer hands on: events to apply, with calls paired to their entry. */
export type SequencedItem =
  | { readonly type: 'event'; readonly event: TraceEvent }
  /**
   * A later probe of a call already replayed (a return or in-lock probe, or what fired inside
   * it, such as its rollover's TLBI): what it read is compared, nothing is applied twice.
   */
  | { readonly type: 'observation'; readonly event: VmidUpdateEvent | InsideEvent; readonly call: CallEvent }
  | {
      readonly type: 'call';
      readonly entry: CallEvent | undefined;
      readonly decision: CallEvent;
      /** What fired inside the call before the point it is replayed at (its rollover's probes), in order. */
      readonly inside: readonly InsideEvent[];
      /** The entry's return never came: replayed at the entry. */
      readonly missingReturn: boolean;
      /** A return with no entry before it (the entry was lost or precedes the trace). */
      readonly orphanReturn: boolean;
    };

export const lookaheadLimit = 100_000;
const noInsideEvents: readonly InsideEvent[] = [];
function isCall(event: TraceEvent): event is CallEvent {
  return event.kind === 'vmid-update' || event.kind === 'pin-get';
}

/** The key a pin waits under for its return: its VM pointer. */
function pinKey(event: CallEvent): string {
  return event.vm ?? '';
}

/** Whether `event` shows that the caller of the pending `entry` moved on without returning. */
function movesOn(entry: CallEvent, event: TraceEvent): boolean {
  if (event === entry) return false;
  if (entry.kind === 'vmid-update') return event.cpu === entry.cpu && event.cpu >= 0 && !firesInsideAllocatorCall(event);
  return 'vm' in event && event.vm === entry.vm && !(event.kind === 'pin-get' && event.phase === 'return');
}

export class CallSequencer {
  private readonly mode: Record<CallFamily, Mode> = { 'vmid-update': 'unknown', 'pin-get': 'unknown' };
  /** Entries waiting for their return: updates by CPU, pins by VM pointer. */
  private readonly pendingUpdates = new CpuSlots<CallEvent>();
  private readonly pendingPins = new Map<string, CallEvent>();
  /**
   * Per CPU, the update replayed at an in-lock or return probe whose later probes (its return,
   * the run loop's next call) may still come: they are observations of it.
   */
  private readonly replayedUpdate = new CpuSlots<CallEvent>();
  /**
   * Per CPU, the replayed update that is still inside `kvm_arm_vmid_update()`: replayed at an
   * in-lock probe (or at its entry, with entry probes only) and not yet past a return probe.
   */
  private readonly replayedOpen = new CpuSlots<CallEvent>();
  /** What fired inside each pending call so far, handed on with the call. */
  private readonly insideOf = new Map<CallEvent, InsideEvent[]>();
  private held: TraceEvent[] = [];

  constructor(private readonly emit: (item: SequencedItem) => void) {}

  modeOf(family: CallFamily): Mode {
    return this.mode[family];
  }

  /** CPUs inside `kvm_arm_vmid_update()` (entered, not yet replayed): their active VMID is in flux. */
  cpusInsideUpdate(): Set<number> {
    // Updates wait under their own CPU.
    return this.pendingUpdates.cpus();
  }

  push(event: TraceEvent): void {
    if (this.held.length > 0) {
      this.held.push(event);
      this.resolveHeld(false);
      return;
    }
    if (isCall(event) && event.phase === 'entry' && this.mode[event.kind] === 'unknown') {
      this.held.push(event);
      return;
    }
    this.route(event);
  }

  /** End of input: decide what is still undecided, and flush calls whose return never came. */
  finish(): void {
    this.resolveHeld(true);
    for (const entry of this.pendingUpdates.values()) this.emitCall(entry, entry, true, false);
    this.pendingUpdates.clear();
    for (const entry of this.pendingPins.values()) this.emitCall(entry, entry, true, false);
    this.pendingPins.clear();
  }

  private emitCall(entry: CallEvent | undefined, decision: CallEvent, missingReturn: boolean, orphanReturn: boolean): void {
    let inside: readonly InsideEvent[] = noInsideEvents;
    if (entry !== undefined && this.insideOf.size > 0) {
      inside = this.insideOf.get(entry) ?? noInsideEvents;
      this.insideOf.delete(entry);
    }
    this.emit({ type: 'call', entry, decision, inside, missingReturn, orphanReturn });
  }

  /**
   * The call under way on `cpu` that an event fired inside belongs to: a pending update, or
   * a pin whose entry was on that CPU (the lock is held with IRQs off from `new_vmid()` to the
   * flush, so the pin cannot have migrated in between).
   */
  private pendingCallOn(cpu: number): CallEvent | undefined {
    const update = this.pendingUpdates.get(cpu);
    if (update !== undefined) return update;
    for (const pin of this.pendingPins.values()) if (pin.cpu === cpu) return pin;
    return undefined;
  }

  /** An event fired inside a call: held with the call still pending, or an observation of the one replayed. */
  private routeInside(event: InsideEvent): boolean {
    if (event.cpu < 0) return false;
    const pending = this.pendingCallOn(event.cpu);
    if (pending !== undefined) {
      const list = this.insideOf.get(pending);
      if (list === undefined) this.insideOf.set(pending, [event]);
      else list.push(event);
      return true;
    }
    const replayed = this.replayedOpen.get(event.cpu);
    if (replayed === undefined) return false;
    this.emit({ type: 'observation', event, call: replayed });
    return true;
  }

  /** Decides the mode of a family from the held events, then replays them in order. */
  private resolveHeld(atEnd: boolean): void {
    const first = this.held[0];
    if (first === undefined || !isCall(first)) return;
    let decided: Mode | undefined;
    for (let i = 1; i < this.held.length && decided === undefined; i++) {
      const next = this.held[i] as TraceEvent;
      if (isCall(next) && next.kind === first.kind && next.phase !== 'entry') decided = 'return';
      else if (movesOn(first, next)) decided = 'entry';
    }
    if (decided === undefined && (atEnd || this.held.length >= lookaheadLimit)) decided = 'entry';
    if (decided === undefined) return;
    this.mode[first.kind] = decided;
    const replay = this.held;
    this.held = [];
    for (const event of replay) this.push(event);
    if (atEnd) this.resolveHeld(true);
  }

  // Hot: every event passes here. Its kind, CPU and phase are read once (events come in a
  // dozen shapes, so each property read is a megamorphic lookup).
  private route(event: TraceEvent): void {
    const kind = event.kind;
    const cpu = event.cpu;
    const isUpdate = kind === 'vmid-update';
    const phase = isUpdate || kind === 'pin-get' ? event.phase : undefined;
    if (this.pendingUpdates.size > 0 || this.pendingPins.size > 0) this.flushStalePending(event, kind, cpu, phase);
    const inside = firesInsideAllocatorCall(event);
    if (cpu >= 0 && !(isUpdate && phase !== 'entry') && !inside && this.replayedUpdate.size > 0) {
      // The CPU moved on: later probes cannot belong to the update it replayed.
      this.replayedUpdate.delete(cpu);
      if (this.replayedOpen.size > 0) this.replayedOpen.delete(cpu);
    }
    if (phase === undefined) {
      if (!inside || !this.routeInside(event)) this.emit({ type: 'event', event });
      return;
    }
    const call = event as CallEvent;
    const family = call.kind;
    if (phase === 'entry') {
      if (this.mode[family] === 'entry') {
        this.emitCall(call, call, false, false);
        // What fires inside it after this point (its rollover's TLBI) is an observation of it.
        if (isUpdate) this.replayedOpen.set(cpu, call);
      } else if (isUpdate) this.pendingUpdates.set(cpu, call);
      else this.pendingPins.set(pinKey(call), call);
      return;
    }
    if (isUpdate) {
      const replayed = this.replayedUpdate.get(cpu);
      if (replayed !== undefined && (call.vm === undefined || call.vm === replayed.vm)) {
        if (phase === 'return' && this.replayedOpen.size > 0) this.replayedOpen.delete(cpu);
        this.emit({ type: 'observation', event: call as VmidUpdateEvent, call: replayed });
        return;
      }
    }
    // A return: the decision point. Pair it with the waiting entry of the same caller; a
    // return that names no VM (a kretprobe before 6.9 cannot read the argument) takes the
    // entry's.
    if (this.mode[family] === 'unknown') this.mode[family] = 'return';
    const vm = call.vm;
    const pinKeyOf = isUpdate ? undefined : vm !== undefined ? vm : this.onlyPendingPinKey();
    const entry = isUpdate ? this.pendingUpdates.get(cpu) : pinKeyOf === undefined ? undefined : this.pendingPins.get(pinKeyOf);
    const matches = entry !== undefined && (vm === undefined || entry.vm === vm);
    if (matches) {
      if (isUpdate) this.pendingUpdates.delete(cpu);
      else if (pinKeyOf !== undefined) this.pendingPins.delete(pinKeyOf);
    }
    this.emitCall(matches ? entry : undefined, call, false, !matches);
    if (isUpdate) {
      const replayed = matches ? entry : call;
      this.replayedUpdate.set(cpu, replayed);
      if (phase === 'decision') this.replayedOpen.set(cpu, replayed);
    }
  }

  /** A pin return without a pointer can only belong to the one pin under way, if one. */
  private onlyPendingPinKey(): string | undefined {
    if (this.pendingPins.size !== 1) return undefined;
    return this.pendingPins.keys().next().value;
  }

  /**
   * A caller that moves on without the return of its pending call lost that return. `kind`,
   * `cpu` and `phase` are the event's own, read once by `route`.
   */
  private flushStalePending(event: TraceEvent, kind: TraceEvent['kind'], cpu: number, phase: CallEvent['phase'] | undefined): void {
    if (this.pendingUpdates.size > 0 && cpu >= 0) {
      const entry = this.pendingUpdates.get(cpu);
      if (entry !== undefined && movesOn(entry, event)) {
        const vm = phase === undefined ? undefined : (event as CallEvent).vm;
        const itsReturn = kind === 'vmid-update' && phase !== 'entry' && (vm === undefined || vm === entry.vm);
        if (!itsReturn) {
          this.pendingUpdates.delete(cpu);
          this.emitCall(entry, entry, true, false);
        }
      }
    }
    if (this.pendingPins.size > 0 && 'vm' in event && event.vm !== undefined) {
      const entry = this.pendingPins.get(event.vm);
      if (entry !== undefined && movesOn(entry, event)) {
        this.pendingPins.delete(event.vm);
        this.emitCall(entry, entry, true, false);
      }
    }
  }
}
