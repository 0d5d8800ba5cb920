/**
 * The models stage: each sequenced item applied to the allocator model (through the allocator
 * side, which compares what the trace observed), the SMMU models and the VMs, and told to the
 * checks as a step. The models are created at the first event that needs them, from the
 * configuration resolved so far; the checks start listening then.
 */
import type { Diagnostics } from '../../diagnostics.js';
import { VmidReplayError } from '../../errors.js';
import { assertUnreachable, type TraceEvent } from '../../events/index.js';
import type { EventBase } from '../../events/common.js';
import type { PinGetEvent, VmidUpdateEvent } from '../../events/kvmEvents.js';
import { VmidAllocator } from '../../model/vmidAllocator.js';
import { counted } from '../../plural.js';
import type { DivergenceKind, ReplayStep } from '../../steps/step.js';
import type { ReplayState, RunningVm, VmState } from '../../steps/state.js';
import type { ConfigResolver } from '../config.js';
import type { DataLoss } from '../findings/findingCollector.js';
import type { CallFamily, InsideEvent, SequencedItem } from '../sequence/callSequencer.js';
import type { ReplayStats } from '../result/stats.js';
import { AllocatorSide, type ShadowBase } from './allocatorSide.js';
import { ReplaySideSink } from './replaySideSink.js';
import { SmmuReplay } from './smmuReplay.js';
import { VmRegistry } from './vmRegistry.js';

export interface ModelStageDeps {
  readonly resolver: ConfigResolver;
  readonly diagnostics: Diagnostics;
  readonly stats: ReplayStats;
  readonly loss: DataLoss;
  /** Every step, to the checks and whoever else listens. */
  step(step: ReplayStep): void;
  /** The models exist: what the checks may read. */
  started(state: ReplayState): void;
  /** How calls of a family are replayed (at returns or at entries), as the sequencer learnt. */
  modeOf(family: CallFamily): 'unknown' | 'entry' | 'return';
  /** CPUs inside an update not yet replayed: their active VMID is being written. */
  cpusInsideUpdate(): ReadonlySet<number>;
  /** The skew bound (µs) the trace's racy snapshots are judged with. */
  skewBoundUs(): number;
}

export interface ModelOptions {
  /** Malformed input is an error naming file and line, instead of a counted skip. */
  readonly strict?: boolean;
  /** The probe map names a probe right after flush_context(): every rollover must show. */
  readonly traceShowsRollovers: boolean;
}

export class ModelStage {
  private allocatorModel: VmidAllocator | undefined;
  /** The allocator model and what the trace observed of it, compared call by call. */
  private side: AllocatorSide | undefined;
  private sideSink: ReplaySideSink | undefined;
  private readonly vms: VmRegistry;
  private readonly smmuSide: SmmuReplay;
  /** Per CPU; filled in place (never replaced) so the state handed to checks stays current. */
  private readonly running: (RunningVm | undefined)[] = [];
  /** The last event with a CPU that was applied: where the trace ends, for end-of-trace checks. */
  private last: EventBase | undefined;
  /** Items whose observation depends on an order the clocks cannot settle: what follows them is unsure. */
  private readonly unresolved = new Map<SequencedItem, string>();

  constructor(
    private readonly deps: ModelStageDeps,
    private readonly options: ModelOptions,
  ) {
    this.vms = new VmRegistry(deps.diagnostics);
    this.smmuSide = new SmmuReplay({
      resolver: deps.resolver,
      diagnostics: deps.diagnostics,
      step: (step) => deps.step(step),
      markDataLoss: (at) => deps.loss.markDataLoss(at),
      ensureAllocator: (at) => this.ensureAllocator(at),
      vmAt: (pointer, at) => this.vms.at(pointer, at),
    });
  }

  get allocator(): VmidAllocator | undefined {
    return this.allocatorModel;
  }

  get lastEvent(): EventBase | undefined {
    return this.last;
  }

  /** What the checks read, once the models exist. */
  state(): ReplayState | undefined {
    const allocator = this.allocatorModel;
    return allocator === undefined ? undefined : { allocator, smmus: this.smmuSide.smmus, vmsByPointer: this.vms.byPointer, running: this.running };
  }

  /** An item the skew search could not explain though another order comes closer: when it is applied, what follows is unsure. */
  noteUnresolved(item: SequencedItem, detail: string): void {
    this.unresolved.set(item, detail);
  }

  /** Where the skew search's shadows start: the state after everything applied so far. */
  shadowBase(): ShadowBase {
    return {
      side: this.side,
      vms: this.vms.byPointer,
      freshAllocator: () => {
        try {
          return new VmidAllocator(this.deps.resolver.allocatorConfig({ file: '', line: 0 }));
        } catch {
          return undefined;
        }
      },
      shape: { showsRollovers: this.options.traceShowsRollovers },
      rolloverCallStillToCome: () => this.deps.modeOf('vmid-update') !== 'entry',
    };
  }

  apply(item: SequencedItem): void {
    if (this.unresolved.size > 0) this.noteUnresolvedItem(item);
    if (item.type === 'observation') {
      const event = item.event;
      this.last = event;
      const side = this.ensureSide(event);
      this.deps.stats.countObservation();
      if (event.kind === 'vmid-update') {
        side.later(event, item.call);
        return;
      }
      side.laterInside(event);
      // A TLBI the model has no rollover for still went out on the hardware.
      if (event.kind === 'cpu-tlbi' && (side.lastOutcome(event.cpu)?.flushes ?? 0) === 0) this.smmuSide.apply(event);
      return;
    }
    if (item.type === 'call') {
      const decision = item.decision;
      const { diagnostics, loss } = this.deps;
      if (item.missingReturn && this.deps.modeOf(decision.kind) === 'return') {
        diagnostics.add('missing-return', { file: decision.span.file, line: decision.span.line, detail: decision.kind });
        loss.markDataLoss(decision);
      }
      if (item.orphanReturn) {
        diagnostics.add('orphan-return', { file: decision.span.file, line: decision.span.line, detail: decision.kind });
        if (decision.vm === undefined) {
          // Nothing says which VM this was: the call cannot be replayed, so what follows is unsure.
          loss.markDataLoss(decision);
          return;
        }
      }
      if (decision.kind === 'vmid-update') this.applyUpdate(item.entry as VmidUpdateEvent | undefined, decision, item.inside);
      else this.applyPin(item.entry as PinGetEvent | undefined, decision, item.inside);
      return;
    }
    const event = item.event;
    if (event.cpu >= 0) this.last = event;
    this.applyEvent(event);
  }

  /** The end of the trace: racy snapshots settled, end-of-trace checks, SMMU settings that applied to nothing. */
  finish(): void {
    this.sideSink?.finish();
    if (this.allocatorModel !== undefined) this.deps.step({ kind: 'trace-end', at: this.last });
    if (this.last !== undefined) this.deps.resolver.warnOfUnseenSmmus(this.last.span);
  }

  private noteUnresolvedItem(item: SequencedItem): void {
    const detail = this.unresolved.get(item);
    if (detail === undefined) return;
    this.unresolved.delete(item);
    const event = item.type === 'call' ? item.decision : item.event;
    this.deps.diagnostics.add('skew-unresolved', { file: event.span.file, line: event.span.line, detail });
    this.deps.loss.markDataLoss(event);
  }

  private ensureAllocator(at: EventBase): VmidAllocator {
    if (this.allocatorModel !== undefined) return this.allocatorModel;
    const allocator = new VmidAllocator(this.deps.resolver.allocatorConfig(at.span));
    this.allocatorModel = allocator;
    this.sideSink = new ReplaySideSink(
      {
        stats: this.deps.stats,
        diagnostics: this.deps.diagnostics,
        diverge: (where, kind, expected, observed, vm) => this.diverge(where, kind, expected, observed, vm),
        cpusInsideUpdate: () => this.deps.cpusInsideUpdate(),
      },
      allocator.config.cpus,
      this.deps.skewBoundUs(),
    );
    this.side = new AllocatorSide(allocator, this.vms, this.sideSink, { showsRollovers: this.options.traceShowsRollovers });
    this.running.length = 0;
    for (let cpu = 0; cpu < allocator.config.cpus; cpu++) this.running.push(undefined);
    this.deps.started(this.state() as ReplayState);
    return allocator;
  }

  private ensureSide(at: EventBase): AllocatorSide {
    this.ensureAllocator(at);
    return this.side as AllocatorSide;
  }

  private checkCpu(cpu: number, at: EventBase, allocator: VmidAllocator): boolean {
    if (cpu >= 0 && cpu < allocator.config.cpus) return true;
    this.deps.diagnostics.add('cpu-out-of-range', { file: at.span.file, line: at.span.line, detail: `CPU ${cpu} with ${counted(allocator.config.cpus, 'CPU')} configured` });
    if (this.options.strict === true) throw new VmidReplayError('MALFORMED_LINE', `CPU ${cpu} is not below the configured CPU count ${allocator.config.cpus}`, at.span);
    return false;
  }

  private diverge(at: EventBase, divergence: DivergenceKind, expected: string, observed: string, vm?: VmState): void {
    this.deps.stats.countDivergence(divergence);
    this.deps.step({ kind: 'divergence', at, divergence, expected, observed, ...(vm === undefined ? {} : { vm }) });
  }

  private applyUpdate(entry: VmidUpdateEvent | undefined, decision: VmidUpdateEvent, inside: readonly InsideEvent[]): void {
    this.last = decision;
    const side = this.ensureSide(decision);
    if (!this.checkCpu(decision.cpu, decision, side.allocator)) return;
    const { vm, idBefore, outcome } = side.update(entry, decision, inside);
    this.afterRollover(outcome.flushes, decision, inside);
    const previouslyRunning = this.running[decision.cpu];
    this.deps.stats.countLoad(outcome.slow);
    this.deps.step({ kind: 'load', event: decision, vm, cpu: decision.cpu, idBefore, outcome, previouslyRunning });
    this.running[decision.cpu] = { vm, vmid: outcome.vmid, loadedBy: decision };
  }

  private applyPin(entry: PinGetEvent | undefined, decision: PinGetEvent, inside: readonly InsideEvent[]): void {
    this.last = decision;
    const side = this.ensureSide(decision);
    if (side.allocator.config.variant === 'mainline') {
      throw new VmidReplayError('CONFIG_INVALID', 'the trace pins VMIDs, which mainline cannot: pass --variant rfc-v2 or rfc-v3 (or add variant= to the header)', decision.span);
    }
    const { vm, outcome } = side.pin(entry, decision, inside);
    this.afterRollover(outcome.flushes, decision, inside);
    if (outcome.exhausted) vm.lastFailedPin = decision;
    else if (vm.kvmVmid.pinned === 1) vm.pinnedBy = decision;
    this.deps.step({ kind: 'pin', event: decision, vm, outcome });
  }

  /**
   * A call's rollovers reach every BTM SMMU as the flush's `TLBI ALLE1IS`, witnessed by the
   * trace's own TLBI line when one fired inside the call. A TLBI inside a call that the model
   * does not roll over in still went out on the hardware (the side reported the mismatch).
   */
  private afterRollover(flushes: number, at: EventBase, inside: readonly InsideEvent[]): void {
    const tlbi = inside.find((event) => event.kind === 'cpu-tlbi');
    if (flushes > 0) {
      this.deps.stats.countRollovers(flushes);
      this.smmuSide.rolloverBroadcast(tlbi ?? at);
    } else if (tlbi !== undefined) {
      this.smmuSide.apply(tlbi);
    }
  }

  private applyEvent(event: TraceEvent): void {
    switch (event.kind) {
      case 'system-config':
        this.deps.resolver.addSystem(event);
        return;
      case 'smmu-config':
        this.deps.resolver.addSmmu(event);
        return;
      case 'lost-events':
        this.deps.loss.markDataLoss(event);
        if (event.late !== true) this.deps.loss.markLostWindow(event.lostCpu);
        return;
      case 'vm-create': {
        const vm = this.ensureSide(event).create(event.vm, event);
        this.deps.step({ kind: 'vm-create', event, vm });
        return;
      }
      case 'vm-destroy': {
        const vm = this.ensureSide(event).destroy(event);
        if (vm === undefined) {
          this.deps.diagnostics.add('unknown-vm', { file: event.span.file, line: event.span.line, detail: `${event.vm} destroyed but never seen alive` });
          return;
        }
        this.deps.step({ kind: 'vm-destroy', event, vm });
        this.running.forEach((running, cpu) => {
          if (running?.vm === vm) this.running[cpu] = undefined;
        });
        return;
      }
      case 'vmid-update':
      case 'pin-get':
        // Calls arrive through the sequencer as `call` items; a bare one here is a bug.
        throw new VmidReplayError('INTERNAL', `call event ${event.kind} reached applyEvent`, { file: event.span.file, line: event.span.line });
      case 'vmid-clear-active': {
        const side = this.ensureSide(event);
        if (!this.checkCpu(event.cpu, event, side.allocator)) return;
        side.put(event);
        const wasRunning = this.running[event.cpu];
        this.running[event.cpu] = undefined;
        this.deps.step({ kind: 'put', event, cpu: event.cpu, wasRunning });
        return;
      }
      case 'pin-put': {
        const { vm, outcome } = this.ensureSide(event).unpin(event);
        if (outcome.released) vm.pinnedBy = undefined;
        this.deps.step({ kind: 'unpin', event, vm, outcome });
        return;
      }
      case 'vmid-rollover':
        this.ensureSide(event).strayRollover(event, this.deps.modeOf('vmid-update') !== 'entry');
        return;
      case 'smmu-ste':
      case 'smmu-vmid-alloc':
      case 'smmu-vmid-free':
      case 'smmu-cmd':
      case 'cpu-tlbi':
        this.smmuSide.apply(event);
        return;
      default:
        assertUnreachable(event, 'event kind');
    }
  }
}
