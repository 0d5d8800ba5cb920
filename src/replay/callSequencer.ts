/**
 * Puts allocator calls at the point where their decision is visible. CPUs race into
 * `kvm_arm_vmid_update()`'s locked slow path, so entry order is not decision order (see
 * `../shared/captures/README.md`): when the trace has return probes, a call is replayed at its
 * return; when it has only entry probes, at its entry.
 *
 * Which of the two a trace has is learnt from the trace itself: after the first entry, events
 * are held (a bounded lookahead) until either a return shows up (return mode) or the CPU of the
 * pending entry does something else first (entry mode).
 */

import type { TraceEvent } from '../events/index.js';
import type { PinGetEvent, VmidUpdateEvent } from '../events/kvmEvents.js';

export type CallEvent = VmidUpdateEvent | PinGetEvent;
export type CallFamily = 'vmid-update' | 'pin-get';
type Mode = 'unknown' | 'entry' | 'return';

/** What the sequencer hands on: events to apply, with calls paired to their entry. */
export type SequencedItem =
  | { readonly type: 'event'; readonly event: TraceEvent }
  | { readonly type: 'call'; readonly entry: CallEvent | undefined; readonly decision: CallEvent; readonly missingReturn: boolean };

export const lookaheadLimit = 100_000;

function isCall(event: TraceEvent): event is CallEvent {
  return event.kind === 'vmid-update' || event.kind === 'pin-get';
}

export class CallSequencer {
  private readonly mode: Record<CallFamily, Mode> = { 'vmid-update': 'unknown', 'pin-get': 'unknown' };
  /** Entries waiting for their return, per family and CPU. */
  private readonly pending: Record<CallFamily, Map<number, CallEvent>> = { 'vmid-update': new Map(), 'pin-get': new Map() };
  private held: TraceEvent[] = [];

  constructor(private readonly emit: (item: SequencedItem) => void) {}

  modeOf(family: CallFamily): Mode {
    return this.mode[family];
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
    for (const family of ['vmid-update', 'pin-get'] as const) {
      for (const entry of this.pending[family].values()) this.emit({ type: 'call', entry, decision: entry, missingReturn: true });
      this.pending[family].clear();
    }
  }

  /** Decides the mode of a family from the held events, then replays them in order. */
  private resolveHeld(atEnd: boolean): void {
    const first = this.held[0];
    if (first === undefined || !isCall(first)) return;
    const family = first.kind;
    let decided: Mode | undefined;
    for (let i = 1; i < this.held.length && decided === undefined; i++) {
      const next = this.held[i] as TraceEvent;
      if (isCall(next) && next.kind === family && next.phase === 'return') decided = 'return';
      else if (next.cpu === first.cpu) decided = 'entry';
    }
    if (decided === undefined && (atEnd || this.held.length >= lookaheadLimit)) decided = 'entry';
    if (decided === undefined) return;
    this.mode[family] = decided;
    const replay = this.held;
    this.held = [];
    for (const event of replay) this.push(event);
  }

  private route(event: TraceEvent): void {
    if (!isCall(event)) {
      this.flushStalePending(event);
      this.emit({ type: 'event', event });
      return;
    }
    const family = event.kind;
    const pending = this.pending[family];
    if (event.phase === 'entry') {
      this.flushStalePending(event);
      if (this.mode[family] === 'entry') this.emit({ type: 'call', entry: event, decision: event, missingReturn: false });
      else pending.set(event.cpu, event);
      return;
    }
    // A return: the decision point. Pair it with the entry on its CPU when the VM matches.
    if (this.mode[family] === 'unknown') this.mode[family] = 'return';
    const entry = pending.get(event.cpu);
    if (entry !== undefined && entry.vm === event.vm) pending.delete(event.cpu);
    this.emit({ type: 'call', entry: entry !== undefined && entry.vm === event.vm ? entry : undefined, decision: event, missingReturn: false });
  }

  /** A CPU that moves on without the return of its pending call lost that return. */
  private flushStalePending(event: TraceEvent): void {
    if (event.cpu < 0) return;
    for (const family of ['vmid-update', 'pin-get'] as const) {
      const entry = this.pending[family].get(event.cpu);
      if (entry === undefined || entry === event) continue;
      this.pending[family].delete(event.cpu);
      this.emit({ type: 'call', entry, decision: entry, missingReturn: true });
    }
  }
}
