/**
 * Collects the timeline (types.ts) from the replay's steps: which VM ran on each CPU and under
 * which VMID, each SMMU stream's binding, the pinned-VMID count, the generation, the live VMs,
 * the rollovers, and each VM's VMID history. Memory is bounded by the limits, whatever the
 * trace's length (buckets.ts, vmHistories.ts).
 */
import type { EventBase } from '../events/common.js';
import type { StepOf } from '../checks/types.js';
import type { ReplayStep } from '../steps/step.js';
import type { VmState } from '../steps/state.js';
import { BucketGrid, CountSeries, CounterSeries, OccupancySeries } from './buckets.js';
import { VmHistories, type VmHistoryLimits } from './vmHistories.js';
import type { LaneOwner, OccupancyLane, Timeline } from './types.js';

export interface TimelineLimits extends VmHistoryLimits {
  /** A power of two: the HTML draws at most this many cells per lane. */
  readonly buckets: number;
  readonly maxOwnersPerCell: number;
  readonly maxStreams: number;
}

export const defaultTimelineLimits: TimelineLimits = { buckets: 1024, maxOwnersPerCell: 4, maxStreams: 64, maxVms: 512, headEntries: 16, tailEntries: 16 };

/** Owner keys join group and label with a separator no trace text holds. */
const ownerSeparator = '\u001f';

interface OpenSlice {
  readonly owner: string;
  readonly fromUs: number;
  /** The VM running, so its destruction ends the slice. */
  readonly vmKey?: string;
}

interface Lane {
  readonly label: string;
  readonly series: OccupancySeries;
  open: OpenSlice | undefined;
}

export class TimelineCollector {
  private readonly grid: BucketGrid;
  private readonly cpuLanes: (Lane | undefined)[] = [];
  private readonly streamLanes = new Map<string, Lane>();
  private readonly streamsNotDrawn = new Set<string>();
  private readonly pinned: CounterSeries;
  private readonly generation: CounterSeries;
  private readonly liveVms: CounterSeries;
  private readonly rollovers: CountSeries;
  private readonly histories: VmHistories;
  /** Live VMs by key, with the active id they last ran under (undefined before their first load). */
  private readonly live = new Map<string, number | undefined>();
  private readonly ownerKeys = new WeakMap<VmState, { readonly vmid: number; readonly key: string }>();
  private currentGeneration: number | undefined;
  private firstUs: number | undefined;
  private lastUs = 0;

  constructor(private readonly limits: TimelineLimits = defaultTimelineLimits) {
    this.grid = new BucketGrid(limits.buckets);
    this.pinned = new CounterSeries(this.grid);
    this.generation = new CounterSeries(this.grid);
    this.liveVms = new CounterSeries(this.grid);
    this.rollovers = new CountSeries(this.grid);
    this.histories = new VmHistories(limits);
  }

  /** The step observer (replayTypes.ts, `stepObservers`). */
  readonly observe = (step: ReplayStep): void => {
    switch (step.kind) {
      case 'load':
        return this.load(step);
      case 'put':
        this.at(step.event);
        return this.close(this.cpuLanes[step.cpu], step.event.tsUs);
      case 'pin':
        return this.pin(step);
      case 'unpin':
        this.at(step.event);
        if (step.outcome.released) this.histories.note(step.vm, step.event, `unpinned VMID ${step.outcome.vmid}`);
        this.pinned.sample(step.event.tsUs, step.outcome.nrPinned);
        return;
      case 'vm-create':
        return this.seen(step.vm, this.at(step.event));
      case 'vm-destroy':
        return this.destroy(step);
      case 'ste-write':
        return this.steWrite(step);
      case 'invalidation':
      case 'divergence':
        this.at(step.at);
        return;
      case 'smmu-vmid-free':
        this.at(step.event);
        return;
      case 'trace-end':
        return this.end();
    }
  };

  /** Every step's time widens the grid and moves the end; steps come in (nearly) time order. */
  private at(event: EventBase): number {
    this.grid.cover(event.tsUs);
    this.firstUs ??= event.tsUs;
    if (event.tsUs > this.lastUs) this.lastUs = event.tsUs;
    return event.tsUs;
  }

  private cpuLane(cpu: number): Lane {
    let lane = this.cpuLanes[cpu];
    if (lane === undefined) {
      this.cpuLanes[cpu] = lane = { label: `CPU ${cpu}`, series: new OccupancySeries(this.grid, this.limits.maxOwnersPerCell), open: undefined };
    }
    return lane;
  }

  private close(lane: Lane | undefined, toUs: number): void {
    if (lane?.open === undefined) return;
    lane.series.occupy(lane.open.owner, lane.open.fromUs, toUs);
    lane.open = undefined;
  }

  private seen(vm: VmState, tsUs: number): void {
    if (vm.destroyed || this.live.has(vm.key)) return;
    this.live.set(vm.key, undefined);
    this.liveVms.sample(tsUs, this.live.size);
  }

  private rolledOver(tsUs: number, flushes: number): void {
    if (flushes === 0) return;
    this.rollovers.add(tsUs, flushes);
  }

  private newGeneration(tsUs: number, generation: number): void {
    if (generation === this.currentGeneration) return;
    this.currentGeneration = generation;
    this.generation.sample(tsUs, generation);
  }

  /** The owner key of a VM under a VMID, made once per VMID it gets rather than at every load (a string per load was a third of the collector's time). */
  private ownerOf(vm: VmState, vmid: number): string {
    const last = this.ownerKeys.get(vm);
    if (last?.vmid === vmid) return last.key;
    const key = `${vm.key}${ownerSeparator}${vm.label}, VMID ${vmid}`;
    this.ownerKeys.set(vm, { vmid, key });
    return key;
  }

  private load(step: StepOf<'load'>): void {
    const tsUs = this.at(step.event);
    const { vm, outcome } = step;
    this.seen(vm, tsUs);
    this.rolledOver(tsUs, outcome.flushes);
    this.newGeneration(tsUs, outcome.gen);
    const lane = this.cpuLane(step.cpu);
    this.close(lane, tsUs);
    lane.open = { owner: this.ownerOf(vm, outcome.vmid), fromUs: tsUs, vmKey: vm.key };
    lane.series.change(tsUs);
    if (this.live.has(vm.key) && this.live.get(vm.key) !== outcome.activeId) {
      this.live.set(vm.key, outcome.activeId);
      this.histories.note(vm, step.event, `VMID ${outcome.vmid}, generation ${outcome.gen}${outcome.path === undefined ? '' : ` (${outcome.path})`}`);
    }
  }

  private pin(step: StepOf<'pin'>): void {
    const tsUs = this.at(step.event);
    const { vm, outcome } = step;
    this.seen(vm, tsUs);
    this.rolledOver(tsUs, outcome.flushes);
    if (outcome.flushes > 0 && this.currentGeneration !== undefined) this.newGeneration(tsUs, this.currentGeneration + outcome.flushes);
    this.pinned.sample(tsUs, outcome.nrPinned);
    if (outcome.exhausted) this.histories.note(vm, step.event, `pin refused (returned ${outcome.ret})`);
    else if (vm.kvmVmid.pinned === 1) this.histories.note(vm, step.event, `pinned VMID ${outcome.ret}`);
  }

  private destroy(step: StepOf<'vm-destroy'>): void {
    const tsUs = this.at(step.event);
    for (const lane of this.cpuLanes) if (lane?.open?.vmKey === step.vm.key) this.close(lane, tsUs);
    this.histories.note(step.vm, step.event, 'destroyed');
    this.histories.forget(step.vm);
    if (this.live.delete(step.vm.key)) this.liveVms.sample(tsUs, this.live.size);
  }

  private steWrite(step: StepOf<'ste-write'>): void {
    const tsUs = this.at(step.event);
    const streamKey = `${step.smmu.name}\n${step.binding.sid}`;
    let lane = this.streamLanes.get(streamKey);
    if (lane === undefined) {
      const label = `${step.smmu.name} SID 0x${step.binding.sid.toString(16)}`;
      if (this.streamLanes.size >= this.limits.maxStreams) {
        this.streamsNotDrawn.add(streamKey);
        return;
      }
      this.streamLanes.set(streamKey, (lane = { label, series: new OccupancySeries(this.grid, this.limits.maxOwnersPerCell), open: undefined }));
    }
    this.close(lane, tsUs);
    lane.series.change(tsUs);
    lane.open = { owner: this.bindingOwner(step), fromUs: tsUs };
  }

  /** The owner key of an STE binding: coloured by the VM it shares its VMID with, grey without a stage 2. */
  private bindingOwner(step: StepOf<'ste-write'>): string {
    const { config, s2vmid } = step.binding;
    const withStage2 = config === 's2' || config === 'nested';
    const group = !withStage2 ? `config:${config}` : (step.vm?.key ?? `${step.smmu.name}:vmid${s2vmid}`);
    const shared = step.vm === undefined ? '' : `, shared with ${step.vm.label}`;
    return `${group}${ownerSeparator}${withStage2 ? `${config} VMID ${s2vmid}${shared}` : config}`;
  }

  private end(): void {
    for (const lane of this.cpuLanes) this.close(lane, this.lastUs);
    for (const lane of this.streamLanes.values()) this.close(lane, this.lastUs);
  }

  /** The timeline so far (after `trace-end`, the whole trace's). */
  timeline(): Timeline {
    const owners: LaneOwner[] = [];
    const ownerIndex = new Map<string, number>();
    const indexOf = (key: string): number => {
      let index = ownerIndex.get(key);
      if (index === undefined) {
        const [group, label] = key.split(ownerSeparator) as [string, string];
        index = owners.push({ group, label }) - 1;
        ownerIndex.set(key, index);
      }
      return index;
    };
    const laneOf = (lane: Lane): OccupancyLane => ({
      label: lane.label,
      cells: [...lane.series.entries()].map((cell) => ({
        bucket: cell.bucket,
        busyUs: cell.busyUs,
        changes: cell.changes,
        top: cell.owners.map(([owner, us]) => ({ owner: indexOf(owner), us })),
        otherUs: cell.otherUs,
      })),
    });
    const streams = [...this.streamLanes.values()].sort((a, b) => compareLabels(a.label, b.label));
    return {
      startUs: this.grid.startUs,
      bucketUs: this.grid.bucketUs,
      bucketCount: this.grid.count,
      endUs: Math.max(this.lastUs, this.firstUs ?? 0),
      cpus: this.cpuLanes.flatMap((lane) => (lane === undefined ? [] : [laneOf(lane)])),
      streams: streams.map(laneOf),
      owners,
      streamsOmitted: this.streamsNotDrawn.size,
      counters: { pinnedVmids: this.pinned.entries(), generation: this.generation.entries(), liveVms: this.liveVms.entries() },
      rollovers: this.rollovers.entries(),
      vms: this.histories.histories(),
      vmsOmitted: this.histories.vmsOmitted,
    };
  }
}

/** `smmu0 SID 0x9` before `smmu0 SID 0x10`: numbers compared as numbers. */
function compareLabels(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
