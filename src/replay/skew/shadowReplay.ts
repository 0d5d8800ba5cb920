/**
 * A shadow of the replay's allocator side: the same calls applied to a copy of the allocator
 * and its VMs, with every disagreement between the trace's observations and the model
 * collected per item instead of reported. The clock-skew order runs one ahead of the replay
 * and more to try other orders; none of them reaches the checks.
 */
import type { EventBase } from '../../events/common.js';
import type { PinGetEvent, VmidUpdateEvent } from '../../events/kvmEvents.js';
import { AllocatorSide, type ShadowBase, type SideSink } from '../models/allocatorSide.js';
import type { SequencedItem } from '../sequence/callSequencer.js';
import { ShadowVms } from './shadowVms.js';

/** One thing the trace recorded that the model, in this order, does not reproduce. */
export interface ShadowMismatch {
  readonly at: EventBase;
  readonly what: string;
  /** How far off (see `Disagreement`). */
  readonly weight: number;
}

const ignore = (): void => {};

export class ShadowReplay {
  /** Mismatches by the item whose application found them. */
  readonly mismatches = new Map<SequencedItem, ShadowMismatch[]>();
  private readonly side: AllocatorSide | undefined;
  private applying: SequencedItem | undefined;

  constructor(private readonly base: ShadowBase) {
    const sink: SideSink = {
      mismatch: (at, kind, expected, observed, _vm, weight) => this.note(at, `${kind}: expected ${expected}, the trace has ${observed}`, weight),
      entryRace: ignore,
      observedField: ignore,
      // Snapshots of other CPUs are racy by nature: the replay settles them by time.
      otherCpu: ignore,
      sawSnapshot: ignore,
      afterCall: ignore,
    };
    const vms = new ShadowVms(base.vms, (pointer, at) => this.note(at, `VM ${pointer} used after its destruction and before a new creation`, 1));
    if (base.side !== undefined) {
      this.side = base.side.clone(base.side.allocator.clone(), vms, sink);
    } else {
      const allocator = base.freshAllocator();
      this.side = allocator === undefined ? undefined : new AllocatorSide(allocator, vms, sink, base.shape);
    }
  }

  /** Whether the trace's configuration was known, so the shadow can replay at all. */
  get usable(): boolean {
    return this.side !== undefined;
  }

  /** How far off the trace is from the model so far: the mismatches, each by its weight. */
  get count(): number {
    let total = 0;
    for (const list of this.mismatches.values()) for (const mismatch of list) total += mismatch.weight;
    return total;
  }

  private note(at: EventBase, what: string, weight = 1): void {
    if (this.applying === undefined) return;
    const list = this.mismatches.get(this.applying);
    if (list === undefined) this.mismatches.set(this.applying, [{ at, what, weight }]);
    else list.push({ at, what, weight });
  }

  apply(item: SequencedItem): void {
    const side = this.side;
    if (side === undefined) return;
    this.applying = item;
    try {
      this.applyTo(side, item);
    } finally {
      this.applying = undefined;
    }
  }

  private applyTo(side: AllocatorSide, item: SequencedItem): void {
    const cpus = side.allocator.config.cpus;
    if (item.type === 'observation') {
      if (item.event.kind === 'vmid-update') side.later(item.event, item.call);
      else side.laterInside(item.event);
      return;
    }
    if (item.type === 'call') {
      const decision = item.decision;
      if (item.orphanReturn && decision.vm === undefined) return;
      if (decision.kind === 'vmid-update') {
        if (decision.cpu >= 0 && decision.cpu < cpus) side.update(item.entry as VmidUpdateEvent | undefined, decision, item.inside);
      } else if (side.allocator.config.variant !== 'mainline') {
        side.pin(item.entry as PinGetEvent | undefined, decision, item.inside);
      }
      return;
    }
    const event = item.event;
    switch (event.kind) {
      case 'vm-create':
        side.create(event.vm, event);
        return;
      case 'vm-destroy':
        side.destroy(event);
        return;
      case 'vmid-clear-active':
        if (event.cpu >= 0 && event.cpu < cpus) side.put(event);
        return;
      case 'pin-put':
        side.unpin(event);
        return;
      case 'vmid-rollover':
        side.strayRollover(event, this.base.rolloverCallStillToCome());
        return;
      default:
        return;
    }
  }
}
