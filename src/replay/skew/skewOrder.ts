/**
 * The order the replay applies events in, when CPU clocks disagree. With the `local` trace
 * clock (per-CPU sched_clock) two CPUs' timestamps can be milliseconds apart, so timestamp
 * order is not the real order of what they did: a rollover on CPU 0 can be stamped after CPU
 * 2's `kvm_arm_vmid_clear_active()` although the flush came first, and the rollover's own
 * probe then shows CPU 2's VMID reserved. The lock-free operations
 * (`kvm_arm_vmid_clear_active()`, the fast path's `cmpxchg`) race the locked section, and
 * what the trace observed inside and after it (reservations, bitmap words, ids, generations,
 * the keep branch) is evidence of the real interleaving.
 *
 * So events are held for a few skew bounds before the replay applies them, and a shadow of the
 * allocator side replays them as they arrive. When the shadow finds an observation the model
 * does not reproduce, the order is searched for a per-CPU clock correction of at most the
 * bound (one CPU's events taken as that much earlier or later than stamped) under which the
 * observation is reproduced and nothing else breaks; the smallest one is adopted (a
 * `cross-cpu-skew` diagnostic names the lines) for the items held, and the replay goes on from
 * the adopted order. Later items are ordered by their timestamps again (after what the
 * correction moved on their own CPU): a correction is evidence about one stretch of the trace,
 * not a clock model, and nothing unobserved is reordered on its strength. Where no correction explains it, the order stays,
 * and the replay reports the divergence. A trace without such observations keeps its
 * timestamp order: nothing says it is wrong.
 */
import type { EventBase } from '../../events/common.js';
import type { SequencedItem } from '../sequence/callSequencer.js';
import { ShadowReplay, type ShadowMismatch } from './shadowReplay.js';
import type { ShadowBase } from '../models/allocatorSide.js';

export interface SkewOrderDeps {
  /** How far apart two CPUs' clocks may be (µs), asked when the first event is held: the trace's header says which clock it used. */
  boundUs(): number;
  /** Hands an item to the replay, in the adopted order. */
  apply(item: SequencedItem): void;
  /** Where a shadow starts: the replay's state now (it has applied everything before the held items). */
  shadowBase(): ShadowBase;
  /** A correction was adopted: which observation it explains and which lines it moves. */
  adopted(at: EventBase, detail: string): void;
  /** An observation no order tried explains, though its answer depends on the order (see `unresolved`). */
  unresolved(item: SequencedItem, detail: string): void;
}

interface HeldItem {
  readonly item: SequencedItem;
  readonly cpu: number;
  /** An allocator call, a probe of one, or a put: what races the locked section. */
  readonly racing: boolean;
  /** The timestamp of the event the item is ordered by (µs). */
  readonly tsUs: number;
  /** The time it is ordered at: its timestamp plus its CPU's correction. */
  adjUs: number;
  /** Arrival order, for ties. */
  readonly seq: number;
}

/**
 * The bound for a trace whose clock may disagree across CPUs: the real captures (QEMU TCG,
 * `local` clock) show snapshots 4 ms off, and emulated hosts 5 ms and more.
 */
export const defaultSkewBoundUs = 10_000;

/**
 * ftrace clocks that every CPU reads alike (kernel/trace/trace.c `trace_clocks[]`: `global`,
 * `counter`, `mono`, `mono_raw`, `boot`, `tai`): their order is the real one. `local` and
 * `perf` are per-CPU, `uptime` counts jiffies (events of one tick tie), `x86-tsc` is not
 * arm64's; a trace that does not name its clock may be any of them.
 */
const sharedClocks: ReadonlySet<string> = new Set(['global', 'counter', 'mono', 'mono_raw', 'boot', 'tai']);

/** The skew bound a trace recorded with `clock` needs (µs). */
export function skewBoundForClock(clock: string | undefined): number {
  return clock !== undefined && sharedClocks.has(clock) ? 0 : defaultSkewBoundUs;
}

/** Candidate corrections tried per mismatch and round, at most: the search is bounded whatever the trace. */
const searchBudget = 240;
/** Mismatched items whose neighbourhoods are searched for one mismatch, at most. */
const maxPivots = 4;
/** Rounds of corrections combined for one mismatch, at most (one CPU's each). */
const maxRounds = 4;
/** How far apart two items of one CPU stay when a correction moves one onto the other (µs). */
const tieUs = 1e-3;

/** An order tried: the correction that made it, and how the shadow fared. */
interface Trial {
  readonly order: HeldItem[];
  readonly trial: ShadowReplay;
  readonly move: Move;
}

/** One correction: an item (with the run of its CPU's items it would overtake) moved in time. */
interface Move {
  readonly item: HeldItem;
  readonly deltaUs: number;
}

function orderingEvent(item: SequencedItem): EventBase {
  return item.type === 'call' ? item.decision : item.event;
}

function byTime(a: HeldItem, b: HeldItem): number {
  return a.adjUs - b.adjUs || a.seq - b.seq;
}

/**
 * What may be ordered otherwise than stamped: the allocator's calls (the locked section, and
 * the fast path's lock-free `cmpxchg`), the probes that fire in or after them,
 * `kvm_arm_vmid_clear_active()`, and the CPU TLBIs issued beside them on the same CPUs (they
 * move with their CPU's clock). VM creation and destruction, pins released and SMMU work keep
 * their stamped order among the other CPUs' events: nothing the allocator records says when
 * they happened.
 */
function isRacing(item: SequencedItem): boolean {
  return item.type !== 'event' || item.event.kind === 'vmid-clear-active' || item.event.kind === 'cpu-tlbi';
}

/** Config facts hold for the whole trace, whenever they were written. */
/** The VM a call or its probe is about. */
function vmOf(item: SequencedItem): string | undefined {
  if (item.type === 'call') return item.decision.vm ?? item.entry?.vm;
  if (item.type === 'observation') return item.call.vm;
  return undefined;
}

/** How far off an item is (its disagreements' weights; 0 when it agrees). */
function weightOf(mismatches: readonly ShadowMismatch[] | undefined): number {
  let weight = 0;
  for (const mismatch of mismatches ?? []) weight += mismatch.weight;
  return weight;
}

/** Whether every item that disagrees in `trial` disagreed in `baseline` too. */
function agreesWherever(trial: ShadowReplay, baseline: ShadowReplay): boolean {
  for (const item of trial.mismatches.keys()) if (!baseline.mismatches.has(item)) return false;
  return true;
}

function isTimeless(item: SequencedItem): boolean {
  return item.type === 'event' && (item.event.kind === 'system-config' || item.event.kind === 'smmu-config');
}

export class SkewOrder {
  /** Held items in the order they will be applied; `held[applied]` is next. */
  private held: HeldItem[] = [];
  /**
   * How many of `held` (from the front) were handed on already. They are dropped in one go
   * once they are half the array, not at each push: taking them off the front one push at a
   * time copies everything held, thousands of items a push on a capture's `local` clock.
   */
  private applied = 0;
  /** How many of `held` (from the front) the shadow has applied. */
  private shadowed = 0;
  private shadow: ShadowReplay | undefined;
  /** The shadow could not be built (the trace's configuration is unknown): items pass through. */
  private passThrough = false;
  private newestUs = Number.NEGATIVE_INFINITY;
  /** Per CPU, the time its latest held item is ordered at: its next one comes after it. */
  private readonly lastAdjUs = new Map<number, number>();
  private seq = 0;
  /** Held items with a mismatch the search has not tried yet, in order. */
  private pending: HeldItem[] = [];
  /** Items whose mismatch was searched for: tried once. */
  private readonly searched = new WeakSet<SequencedItem>();

  /** How far apart two CPUs' clocks may be (µs); known once the first event is held. */
  private boundUs = 0;

  constructor(private readonly deps: SkewOrderDeps) {}

  push(item: SequencedItem): void {
    if (this.passThrough || isTimeless(item)) {
      this.deps.apply(item);
      return;
    }
    const event = orderingEvent(item);
    if (event.cpu < 0) {
      // A lost-events marker: what came before is settled as it stands, then the loss applies.
      this.drain();
      this.deps.apply(item);
      return;
    }
    if (this.seq === 0) {
      this.boundUs = this.deps.boundUs();
      if (this.boundUs === 0) {
        // One clock for every CPU: the stamped order is the real one.
        this.passThrough = true;
        this.deps.apply(item);
        return;
      }
    }
    this.hold(item, event);
    this.advance(false);
  }

  /** End of input: search what is left with the lookahead there is, then apply everything. */
  finish(): void {
    this.drain();
  }

  private drain(): void {
    this.advance(true);
    this.compact();
    for (let i = 0; i < this.held.length; i++) this.deps.apply((this.held[i] as HeldItem).item);
    this.held = [];
    this.shadowed = 0;
    this.pending = [];
    this.shadow = undefined;
  }

  private hold(item: SequencedItem, event: EventBase): void {
    const cpu = event.cpu;
    if (event.tsUs > this.newestUs) this.newestUs = event.tsUs;
    // A CPU's own events stay in their order, after any of its events a correction moved later.
    const adjUs = Math.max(event.tsUs, this.lastAdjUs.get(cpu) ?? Number.NEGATIVE_INFINITY);
    this.lastAdjUs.set(cpu, adjUs);
    const entry: HeldItem = { item, cpu, racing: isRacing(item), tsUs: event.tsUs, adjUs, seq: this.seq++ };
    let at = this.held.length;
    while (at > this.shadowed && byTime(this.held[at - 1] as HeldItem, entry) > 0) at--;
    this.held.splice(at, 0, entry);
  }

  private advance(atEnd: boolean): void {
    if (this.held.length === this.applied) return;
    if (this.shadow === undefined && !this.startShadow()) return;
    // An item still to come is ordered at or after its own timestamp, so no later than the
    // newest timestamp seen can anything still be put in front of what is held.
    const finalUs = atEnd ? Number.POSITIVE_INFINITY : this.newestUs;
    this.runShadow(finalUs);
    while (this.pending.length > 0) {
      const mismatched = this.pending[0] as HeldItem;
      if (!atEnd && this.newestUs < mismatched.tsUs + 3 * this.boundUs) break;
      this.pending.shift();
      if (this.searched.has(mismatched.item)) continue;
      this.searched.add(mismatched.item);
      if (this.search(mismatched)) this.runShadow(finalUs);
    }
    if (atEnd) return;
    const oldestPending = this.pending[0]?.adjUs ?? Number.POSITIVE_INFINITY;
    const applyBefore = Math.min(finalUs - 4 * this.boundUs, oldestPending - 2 * this.boundUs);
    const from = this.applied;
    let end = from;
    while (end < this.shadowed && (this.held[end] as HeldItem).adjUs < applyBefore) end++;
    if (end === from) return;
    const due = this.held.slice(from, end);
    this.applied = end;
    if (2 * this.applied > this.held.length) this.compact();
    for (const entry of due) this.deps.apply(entry.item);
  }

  /** Drops the items handed on from the front of `held`. */
  private compact(): void {
    if (this.applied === 0) return;
    this.held.splice(0, this.applied);
    this.shadowed -= this.applied;
    this.applied = 0;
  }

  private startShadow(): boolean {
    const shadow = new ShadowReplay(this.deps.shadowBase());
    if (!shadow.usable) {
      // Without the configuration nothing can be replayed; the replay itself says so.
      this.passThrough = true;
      this.drainWithoutShadow();
      return false;
    }
    this.shadow = shadow;
    this.shadowed = 0;
    return true;
  }

  private drainWithoutShadow(): void {
    this.compact();
    const held = this.held;
    this.held = [];
    for (const entry of held) this.deps.apply(entry.item);
  }

  /** Applies held items up to `finalUs` to the shadow, noting the first mismatches. */
  private runShadow(finalUs: number): void {
    const shadow = this.shadow as ShadowReplay;
    while (this.shadowed < this.held.length) {
      const entry = this.held[this.shadowed] as HeldItem;
      if (entry.adjUs > finalUs) break;
      shadow.apply(entry.item);
      this.shadowed++;
      // Only what the allocator recorded in or after a call is evidence of the order.
      if (entry.racing && entry.item.type !== 'event' && shadow.mismatches.has(entry.item) && !this.searched.has(entry.item)) this.pending.push(entry);
    }
  }

  /** Replays the held items from the replay's state in `order`, up to `untilUs`. */
  private evaluate(order: readonly HeldItem[], untilUs: number): ShadowReplay {
    const shadow = new ShadowReplay(this.deps.shadowBase());
    for (const entry of order) {
      if (entry.tsUs > untilUs) continue;
      shadow.apply(entry.item);
    }
    return shadow;
  }

  /**
   * `order` with one item taken as `deltaUs` later (or earlier) than it is ordered now, and the
   * items of its CPU that would then be overtaken moved along just behind (or ahead of) it: a
   * CPU's clock orders its own items exactly, so a correction moves a run of them, never one
   * past another. Undefined when that moves something other than two racing items past each
   * other (a VM's creation or destruction, SMMU work or a pin's release keeps its place among
   * the other CPUs' items: nothing the allocator records says otherwise), or any item further
   * than the bound from its timestamp.
   */
  private warped(order: readonly HeldItem[], moved: HeldItem, deltaUs: number): HeldItem[] | undefined {
    const next = order.slice();
    const at = next.indexOf(moved);
    const step = deltaUs > 0 ? 1 : -1;
    let bound = moved.adjUs + deltaUs;
    for (let index = at; index >= 0 && index < next.length; index += step) {
      const entry = next[index] as HeldItem;
      if (entry.cpu !== moved.cpu) continue;
      // The first one moves by `deltaUs`; the others only as far as the one before them.
      const target = index === at ? bound : deltaUs > 0 ? Math.max(entry.adjUs, bound + tieUs) : Math.min(entry.adjUs, bound - tieUs);
      if (target === entry.adjUs) break;
      if (Math.abs(target - entry.tsUs) > this.boundUs || !this.mayPass(next, index, target)) return undefined;
      next[index] = { ...entry, adjUs: target };
      bound = target;
    }
    return next.sort(byTime);
  }

  /** Whether the item at `index` may move to `targetUs` past the other CPUs' items in between. */
  private mayPass(order: readonly HeldItem[], index: number, targetUs: number): boolean {
    const entry = order[index] as HeldItem;
    const step = targetUs > entry.adjUs ? 1 : -1;
    for (let other = index + step; other >= 0 && other < order.length; other += step) {
      const passed = order[other] as HeldItem;
      if (step > 0 ? passed.adjUs > targetUs : passed.adjUs < targetUs) return true;
      if (passed.cpu !== entry.cpu && !(entry.racing && passed.racing)) return false;
    }
    return true;
  }

  /**
   * Looks for the smallest per-CPU corrections within the bound under which `mismatched`'s
   * observation is reproduced and the held items show fewer mismatches, and adopts them. One
   * CPU's correction is tried first; when none explains the observation alone, the one that
   * removes most mismatches is kept and another CPU's is searched on top of it (a rollover
   * may have two CPUs' puts stamped on its wrong side), a few rounds at most.
   */
  private search(mismatched: HeldItem): boolean {
    this.compact();
    const untilUs = mismatched.tsUs + 2 * this.boundUs;
    let order: readonly HeldItem[] = this.held;
    const baseline = this.evaluate(order, untilUs);
    let best = baseline;
    const explained = best.mismatches.get(mismatched.item);
    if (explained === undefined) return false;
    const moves: Move[] = [];
    const missBy = weightOf(explained);
    /**
     * Some order within the bound brings the observation closer to agreeing (though not
     * without breaking another): the clocks, not the kernel, may be what is off.
     */
    let sensitive = false;
    for (let round = 0; round < maxRounds; round++) {
      // Every candidate is weighed, not the first that will do: of the orders that explain the
      // observation, the one that leaves least disagreement elsewhere is the trace's.
      let explaining: Trial | undefined;
      let partial: Trial | undefined;
      for (const move of this.candidates(order, mismatched, best)) {
        const next = this.warped(order, move.item, move.deltaUs);
        if (next === undefined) continue;
        const trial = this.evaluate(next, untilUs);
        if (round === 0 && weightOf(trial.mismatches.get(mismatched.item)) < missBy) sensitive = true;
        // Nothing that agreed may stop agreeing: a correction explains, it does not trade.
        if (trial.count >= best.count || !agreesWherever(trial, baseline)) continue;
        const candidate = { order: next, trial, move };
        if (!trial.mismatches.has(mismatched.item)) {
          if (explaining === undefined || trial.count < explaining.trial.count) explaining = candidate;
        } else if (partial === undefined || trial.count < partial.trial.count) {
          partial = candidate;
        }
      }
      if (explaining !== undefined) {
        this.adopt(mismatched, [...moves, explaining.move], explaining.order, explained);
        return true;
      }
      if (partial === undefined) break;
      order = partial.order;
      best = partial.trial;
      moves.push(partial.move);
    }
    if (sensitive) this.unresolved(mismatched, explained);
    return false;
  }

  /**
   * No order the search tried explains the observation, yet some order within the bound comes
   * closer: whether the kernel or the clocks are at odds with the model, the trace cannot say,
   * and what the replay computes from here is unsure.
   */
  private unresolved(mismatched: HeldItem, explained: readonly ShadowMismatch[]): void {
    const event = orderingEvent(mismatched.item);
    this.deps.unresolved(
      mismatched.item,
      `line ${event.span.line} (${explained[0]?.what ?? 'an observation'}) comes closer to the model when other CPUs' events within ${this.boundUs} µs are taken in another order, but no order tried explains it`,
    );
  }

  /**
   * Corrections that change where a mismatched item falls among the other CPUs' racing items
   * within the bound: another CPU's item moved just past it (with the run of that CPU's items
   * it overtakes), or it moved just past one of theirs, smallest first. The items tried as
   * pivots are `mismatched` and the others that disagree in the same stretch (`trial`): a put
   * stamped on the wrong side of a rollover shows at the rollover's own probe, and at the loads
   * after it.
   */
  private candidates(order: readonly HeldItem[], mismatched: HeldItem, trial: ShadowReplay): Move[] {
    const seen = new Set<string>();
    const out: (Move & { readonly related: boolean })[] = [];
    const vm = vmOf(mismatched.item);
    const add = (item: HeldItem, deltaUs: number, other: HeldItem): void => {
      const key = `${item.seq}:${deltaUs}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ item, deltaUs, related: vm !== undefined && vmOf(other.item) === vm });
    };
    const pivots = order.filter((entry) => entry.item === mismatched.item || (entry.racing && trial.mismatches.has(entry.item)));
    for (const pivot of pivots.slice(0, maxPivots)) {
      const index = order.indexOf(pivot);
      order.forEach((other, at) => {
        if (!other.racing || other.cpu === pivot.cpu || Math.abs(other.adjUs - pivot.adjUs) > this.boundUs) return;
        // Half a microsecond past the other: timestamps are whole microseconds.
        const across = at < index ? pivot.adjUs - other.adjUs + 0.5 : pivot.adjUs - other.adjUs - 0.5;
        add(other, across, other);
        add(pivot, -across, other);
      });
    }
    // Another CPU's call on the same VM first (the likeliest misorder behind an id that
    // disagrees), then by how far the correction moves; the budget keeps the search bounded.
    return out.sort((a, b) => Number(b.related) - Number(a.related) || Math.abs(a.deltaUs) - Math.abs(b.deltaUs) || a.item.seq - b.item.seq).slice(0, searchBudget);
  }

  private adopt(mismatched: HeldItem, moves: readonly Move[], order: HeldItem[], explained: readonly ShadowMismatch[]): void {
    const movedCpus = new Set(moves.map((move) => move.item.cpu));
    const before = new Set(this.held.slice(0, this.held.indexOf(mismatched)).map((entry) => entry.item));
    const after = order.findIndex((entry) => entry.item === mismatched.item);
    const crossed = order.filter((entry, at) => entry.item !== mismatched.item && (movedCpus.has(entry.cpu) || movedCpus.has(mismatched.cpu)) && before.has(entry.item) !== at < after);
    for (const cpu of movedCpus) {
      let lastAdjUs = Number.NEGATIVE_INFINITY;
      for (const entry of order) if (entry.cpu === cpu && entry.adjUs > lastAdjUs) lastAdjUs = entry.adjUs;
      if (lastAdjUs > (this.lastAdjUs.get(cpu) ?? Number.NEGATIVE_INFINITY)) this.lastAdjUs.set(cpu, lastAdjUs);
    }
    this.held = order;
    this.shadow = new ShadowReplay(this.deps.shadowBase());
    this.shadowed = 0;
    this.pending = [];
    const lines = crossed.map((entry) => orderingEvent(entry.item).span.line);
    const event = orderingEvent(mismatched.item);
    const shifts = moves.map(({ item, deltaUs }) => `CPU ${item.cpu}'s line ${orderingEvent(item.item).span.line} taken as ${Math.abs(deltaUs) < 1 ? '<1' : Math.round(Math.abs(deltaUs))} µs ${deltaUs > 0 ? 'later' : 'earlier'} than stamped`);
    this.deps.adopted(
      event,
      `${shifts.join(', and ')}: line ${event.span.line} (${explained[0]?.what ?? 'an observation'}) then agrees, with line${lines.length === 1 ? '' : 's'} ${lines.slice(0, 6).join(', ')}${lines.length > 6 ? ', ...' : ''} on the other side of it`,
    );
  }
}
