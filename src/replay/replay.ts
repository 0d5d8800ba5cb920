/**
 * The replay: one pass over the records drives the allocator and SMMU models and every check
 * (each handler sees each step once), and ends by accounting for every record it was given.
 */

import { Diagnostics, type DiagnosticCode } from '../diagnostics.js';
import { VmidReplayError } from '../errors.js';
import type { LineSource, ReadRecord, TraceRecord } from '../ingest/records.js';
import { ProbeArgs } from '../ingest/probeBody.js';
import { PointerTable, decodeEventRecord, decodeHeader, mayDecode, type DecodeContext, type DecodeOutcome } from '../events/decode.js';
import { assertUnreachable, type TraceEvent } from '../events/index.js';
import type { PinGetEvent, VmidUpdateEvent } from '../events/kvmEvents.js';
import { VmidAllocator } from '../model/vmidAllocator.js';
import { AllocatorSide } from './allocatorSide.js';
import { ReplaySideSink } from './replaySideSink.js';
import { refOf, type EventRef } from '../model/eventRef.js';
import { allChecks } from '../checks/index.js';
import { formatMessage, type Check, type Finding } from '../checks/types.js';
import { CallSequencer, type InsideEvent, type SequencedItem } from './callSequencer.js';
import { StepListeners } from './stepListeners.js';
import { ConfigResolver } from './config.js';
import type { ReplayOptions, ReplayResult } from './replayTypes.js';
import type { ReplayStep, DivergenceKind } from './steps.js';
import type { ReplayState, RunningVm, VmState } from './state.js';
import { ReplayStats } from './stats.js';
import type { EventBase } from '../events/common.js';
import { SmmuReplay } from './smmuReplay.js';
import { VmRegistry } from './vmRegistry.js';
import { ProbeInventory } from './probeInventory.js';
import { judgeUnreadable, type UnreadableFrom } from './unreadable.js';
import { counted } from '../plural.js';
import type { CpuRunDetector } from '../ingest/runs/detect.js';
import { ReorderBuffer, defaultReorderMaxRecords, defaultReorderWindowUs, type LateReason } from './reorderBuffer.js';
import { SkewOrder, skewBoundForClock } from './skew/skewOrder.js';
import type { ShadowBase } from './skew/shadowReplay.js';

export type { Decision, ReplayOptions, ReplayResult } from './replayTypes.js';

const diagnosticForRecord: Partial<Record<TraceRecord['type'], DiagnosticCode>> = {
  malformed: 'malformed-line',
  continuation: 'continuation-line',
};

export class Replay {
  private readonly diagnostics = new Diagnostics();
  readonly stats = new ReplayStats();
  private readonly resolver: ConfigResolver;
  private readonly sequencer: CallSequencer;
  private readonly checks: readonly Check[];
  private readonly listeners = new StepListeners();
  private readonly findings: Finding[] = [];
  private allocator: VmidAllocator | undefined;
  /** The allocator model and what the trace observed of it, compared call by call. */
  private side: AllocatorSide | undefined;
  private sideSink: ReplaySideSink | undefined;
  private readonly vms: VmRegistry;
  /** Per CPU; filled in place (never replaced) so the state handed to checks stays current. */
  private readonly running: (RunningVm | undefined)[] = [];
  private dataLossAt: EventRef | undefined;
  /** Per CPU, how many findings existed once its last event was applied (see `markLostWindow`). */
  private readonly findingsAtLastEventOf: number[] = [];
  /** The newest timestamp replayed so far: what a finding reported now was decided on. */
  private replayedUpToUs = -Infinity;
  /** Per finding, `replayedUpToUs` when it was reported (so never decreasing). */
  private readonly findingDecidedAtUs: number[] = [];
  /** The oldest event that arrived after newer ones were replayed: findings decided at or after it lacked it. */
  private lateFromUs = Infinity;
  /** The last event with a CPU that was applied: where the trace ends, for end-of-trace checks. */
  private lastEvent: EventBase | undefined;
  /** When the latest decoded event of a CPU happened: a loss marker between lines takes it. */
  private lastDecodedTsUs = 0;
  private readonly reorder: ReorderBuffer;
  /** Holds events within the skew bound and adopts the order the trace's observations show. */
  private readonly order: SkewOrder | undefined;
  /** Items whose observation depends on an order the clocks cannot settle: what follows them is unsure. */
  private readonly unresolvedOrder = new Map<SequencedItem, string>();
  private finished = false;
  private readonly smmuSide: SmmuReplay;
  private decodeContextCache: DecodeContext | undefined;
  /** The probe map names a probe right after flush_context(): every rollover must show. */
  private readonly traceShowsRollovers: boolean;
  /** Where each event line's arguments are read, reused from line to line. */
  private readonly probeArgs = new ProbeArgs();
  /** The trace's pointers, one string each, for every line's decoding. */
  private readonly pointers = new PointerTable();
  private readonly probes = new ProbeInventory();
  private unreadableFrom: UnreadableFrom | undefined;

  constructor(private readonly options: ReplayOptions = {}) {
    this.resolver = new ConfigResolver(options, this.diagnostics);
    this.vms = new VmRegistry(this.diagnostics);
    const order =
      options.skewBoundUs === 0
        ? undefined
        : new SkewOrder({
            boundUs: () => this.skewBoundUs(),
            apply: (item) => this.apply(item),
            shadowBase: () => this.shadowBase(),
            adopted: (at, detail) => this.diagnostics.add('cross-cpu-skew', { file: at.span.file, line: at.span.line, detail }),
            unresolved: (item, detail) => this.unresolvedOrder.set(item, detail),
          });
    this.order = order;
    this.sequencer = new CallSequencer(order === undefined ? (item) => this.apply(item) : (item) => order.push(item));
    this.reorder = new ReorderBuffer(
      { windowUs: options.reorderWindowUs ?? defaultReorderWindowUs, maxRecords: options.reorderMaxRecords ?? defaultReorderMaxRecords },
      {
        inOrder: (record) => this.pushInOrder(record, undefined),
        late: (record, reason) => this.pushInOrder(record, reason),
        reordered: (record) => this.diagnostics.add('reordered', { file: record.span.file, line: record.span.line, detail: 'merged back into timestamp order' }),
      },
    );
    this.checks = options.checks ?? allChecks;
    this.smmuSide = new SmmuReplay({
      resolver: this.resolver,
      diagnostics: this.diagnostics,
      step: (step) => this.step(step),
      markDataLoss: (at) => this.markDataLoss(at),
      ensureAllocator: (at) => this.ensureAllocator(at),
      vmAt: (pointer, at) => this.vms.at(pointer, at),
    });
    this.traceShowsRollovers = [...(options.probeMap?.events.values() ?? [])].some((mapped) => mapped.args.has('newgen'));
  }

  /** What tells the per-CPU runs of the input: it sees the records the replay orders, in input order. */
  get inputRuns(): CpuRunDetector {
    return this.reorder.runs;
  }

  /** Which event lines the replay needs in full: those that can decode to anything but `unused`. */
  readonly wantEvent = (name: string, opensWithLocation: boolean): boolean => mayDecode(name, opensWithLocation, this.options.probeMap);

  /** Feeds one record, in file order; the reorder buffer merges it into timestamp order. */
  push(record: ReadRecord): void {
    if (record.type === 'unused-events') {
      for (const [name, count] of record.countsByName) {
        this.stats.countRecord('event', count);
        this.countUnused(name, count);
      }
      return;
    }
    // Lines that can only decode to `unused` are counted on arrival, whichever reader read
    // them: they take no part in ordering, so skipping them while reading changes nothing.
    if (record.type === 'event' && !this.wantEvent(record.name, record.body.charCodeAt(0) === 0x28 /* ( */)) {
      this.stats.countRecord('event');
      this.countUnused(record.name, 1);
      return;
    }
    this.reorder.push(record);
  }

  /** The context for decoding the next line: the same object while the VMID width stays known the same. */
  private decodeContext(): DecodeContext {
    const vmidBits = this.allocator?.config.vmidBits ?? this.resolver.knownVmidBits();
    if (this.decodeContextCache === undefined || this.decodeContextCache.vmidBits !== vmidBits) {
      this.decodeContextCache = { vmidBits, pointers: this.pointers, ...(this.options.probeMap === undefined ? {} : { probeMap: this.options.probeMap }) };
    }
    return this.decodeContextCache;
  }

  /** `times` event lines named `name` that decode to nothing the replay uses (their records are counted apart). */
  private countUnused(name: string, times: number): void {
    this.diagnostics.countUnused(name, times);
    this.stats.countUnused(times);
  }

  /** One record in timestamp order, or `late`: older than records already replayed. */
  private pushInOrder(record: TraceRecord, late: LateReason | undefined): void {
    this.stats.countRecord(record.type);
    switch (record.type) {
      case 'event': {
        const outcome = decodeEventRecord(record, this.decodeContext(), this.probeArgs);
        this.handleDecoded(outcome, record.span, record.name, record.cpu, late, record);
        return;
      }
      case 'header': {
        const outcome = decodeHeader(record);
        if (outcome !== undefined) this.handleDecoded(outcome, record.span, 'header', -1, undefined, record);
        return;
      }
      case 'lost': {
        this.diagnostics.add('lost-events', { file: record.span.file, line: record.span.line, detail: `CPU ${record.cpu}: ${counted(record.count, 'event')} lost` }, record.count);
        this.pushLoss(record.span, record, record.cpu, record.count, false);
        return;
      }
      case 'buffer-started': {
        this.diagnostics.add('buffer-started', { file: record.span.file, line: record.span.line, detail: `CPU ${record.cpu}` });
        this.pushLoss(record.span, record, record.cpu, undefined, false);
        return;
      }
      case 'malformed':
      case 'continuation': {
        const code = diagnosticForRecord[record.type] as DiagnosticCode;
        if (record.type === 'malformed' && this.options.strict === true) {
          throw new VmidReplayError('MALFORMED_LINE', `expected ${record.expected}, found "${record.text.slice(0, 120)}"`, { file: record.span.file, line: record.span.line });
        }
        this.diagnostics.add(code, { file: record.span.file, line: record.span.line, detail: record.type === 'malformed' ? `expected ${record.expected}` : record.text.slice(0, 80) });
        if (record.type === 'malformed') this.stats.countMalformedLine(record.span, record.text);
        return;
      }
      default:
        assertUnreachable(record, 'record type');
    }
  }

  private handleDecoded(outcome: DecodeOutcome, span: { file: string; line: number }, name: string, cpu: number, late: LateReason | undefined, source: LineSource): void {
    switch (outcome.type) {
      case 'event': {
        if (late !== undefined) {
          // Its place in time was already replayed: what follows is unsure, what came before stays sure.
          const code = late === 'cpu-backwards' ? 'timestamp-backwards' : 'reorder-window-exceeded';
          this.diagnostics.add(code, { file: span.file, line: span.line, detail: late === 'cpu-backwards' ? `CPU ${cpu} went back in time by more than the reorder window` : `CPU ${cpu}: older than events of other CPUs already replayed, by more than the reorder window` });
          this.pushLoss(outcome.event.span, source, cpu, undefined, true);
          this.lateFromUs = Math.min(this.lateFromUs, outcome.event.tsUs);
        }
        this.stats.countEvent(outcome.event.kind, cpu < 0);
        if (cpu >= 0) this.lastDecodedTsUs = outcome.event.tsUs;
        this.sequencer.push(outcome.event);
        return;
      }
      case 'unused':
        this.countUnused(outcome.name, 1);
        return;
      case 'unrecognised-probe':
        this.diagnostics.add('unrecognised-probe', { file: span.file, line: span.line, detail: `${name}: ${outcome.detail}` });
        this.diagnostics.countUnused(name);
        this.stats.countUnrecognised();
        this.probes.note(name, outcome.location, span);
        return;
      case 'malformed':
        if (this.options.strict === true) {
          throw new VmidReplayError('MALFORMED_LINE', `expected ${outcome.expected}, found "${source.text.slice(0, 120)}"`, span);
        }
        this.diagnostics.add('malformed-event', { file: span.file, line: span.line, detail: `expected ${outcome.expected}` });
        if (cpu >= 0) this.stats.countMalformedEvent(span);
        return;
      default:
        assertUnreachable(outcome, 'decode outcome');
    }
  }

  /**
   * A loss goes through the sequencer like any event, so events it still holds (read before
   * the loss) are applied before the loss takes effect.
   */
  private pushLoss(span: { file: string; line: number; offset: number }, source: LineSource, cpu: number, count: number | undefined, late: boolean): void {
    // Not tied to the CPU's own order (cpu -1): a lost marker says nothing about the pending call.
    this.sequencer.push({ kind: 'lost-events', span, source, cpu: -1, tsUs: this.lastDecodedTsUs, tsNs: 0, ...(count === undefined ? {} : { count }), lostCpu: cpu, ...(late ? { late: true } : {}) });
  }

  /**
   * A CPU's ring buffer loses events after the last one it printed: the kernel prints
   * `CPU:N [LOST M EVENTS]` (or `##### CPU N buffer started ####`) with that CPU's next event
   * (`print_trace_line()`), so events of other CPUs already replayed may have come after the
   * lost ones. Findings made since CPU N's last event (since the start if it had none, or when
   * the CPU is unknown) become inconclusive, as do all later ones (`dataLossAt`).
   */
  private markLostWindow(cpu: number): void {
    const from = cpu >= 0 ? (this.findingsAtLastEventOf[cpu] ?? 0) : 0;
    for (let i = from; i < this.findings.length; i++) {
      const finding = this.findings[i] as Finding;
      if (!finding.inconclusive) this.findings[i] = { ...finding, inconclusive: true };
    }
  }

  /**
   * A late event belongs before findings already reported: those decided on a replay that had
   * reached its time lacked it, so they are unsure too, wherever their lines are in the input
   * (per-CPU files pasted one after another: the first file's findings were decided without the
   * other CPUs). Decision times never decrease, so they are the last findings.
   */
  private markFindingsDecidedWithoutLateEvents(): void {
    for (let i = this.findings.length - 1; i >= 0 && (this.findingDecidedAtUs[i] as number) >= this.lateFromUs; i--) {
      const finding = this.findings[i] as Finding;
      if (!finding.inconclusive) this.findings[i] = { ...finding, inconclusive: true };
    }
  }

  private markDataLoss(at: EventBase): void {
    this.dataLossAt ??= refOf(at);
  }

  // ---- model setup -------------------------------------------------------------------

  private ensureAllocator(at: EventBase): VmidAllocator {
    if (this.allocator !== undefined) return this.allocator;
    const allocator = new VmidAllocator(this.resolver.allocatorConfig(at.span));
    this.allocator = allocator;
    this.sideSink = new ReplaySideSink(
      {
        stats: this.stats,
        diagnostics: this.diagnostics,
        diverge: (where, kind, expected, observed, vm) => this.diverge(where, kind, expected, observed, vm),
        cpusInsideUpdate: () => this.sequencer.cpusInsideUpdate(),
      },
      allocator.config.cpus,
      this.skewBoundUs(),
    );
    this.side = new AllocatorSide(allocator, this.vms, this.sideSink, { showsRollovers: this.traceShowsRollovers });
    this.running.length = 0;
    for (let cpu = 0; cpu < allocator.config.cpus; cpu++) this.running.push(undefined);
    const state = this.state(allocator);
    for (const check of this.checks) {
      const listeners = check.create({
        state,
        report: (where, draft) => {
          const template = check.meta.messages[draft.messageId] ?? draft.messageId;
          this.findingDecidedAtUs.push(this.replayedUpToUs);
          this.findings.push({
            checkId: check.meta.id,
            severity: draft.severity ?? check.meta.severity,
            messageId: draft.messageId,
            message: formatMessage(template, draft.data),
            file: where.span.file,
            line: where.span.line,
            tsUs: where.tsUs,
            witnesses: draft.witnesses.map((witness) => ({ role: witness.role, ref: refOf(witness.event) })),
            explanation: draft.explanation,
            ...(draft.needed === undefined ? {} : { needed: draft.needed }),
            parties: draft.parties,
            scenario: draft.scenario,
            ...(draft.remedy === undefined ? {} : { remedy: draft.remedy }),
            inconclusive: this.dataLossAt !== undefined,
            data: draft.data,
          });
        },
      });
      this.listeners.add(listeners);
    }
    return allocator;
  }

  /** How far apart in time two CPUs' events may be stamped out of their real order (µs): the flag, else what the trace's clock allows. */
  private skewBoundUs(): number {
    return this.options.skewBoundUs ?? skewBoundForClock(this.resolver.knownTraceClock());
  }

  /** Where the skew search's shadows start: the state after everything applied so far. */
  private shadowBase(): ShadowBase {
    return {
      side: this.side,
      vms: this.vms.byPointer,
      freshAllocator: () => {
        try {
          return new VmidAllocator(this.resolver.allocatorConfig({ file: '', line: 0 }));
        } catch {
          return undefined;
        }
      },
      shape: { showsRollovers: this.traceShowsRollovers },
      rolloverCallStillToCome: () => this.sequencer.modeOf('vmid-update') !== 'entry',
    };
  }

  private state(allocator: VmidAllocator): ReplayState {
    return { allocator, smmus: this.smmuSide.smmus, vmsByPointer: this.vms.byPointer, running: this.running };
  }

  private step(step: ReplayStep): void {
    this.listeners.dispatch(step);
  }


  private checkCpu(cpu: number, at: EventBase, allocator: VmidAllocator): boolean {
    if (cpu >= 0 && cpu < allocator.config.cpus) return true;
    this.diagnostics.add('cpu-out-of-range', { file: at.span.file, line: at.span.line, detail: `CPU ${cpu} with ${counted(allocator.config.cpus, 'CPU')} configured` });
    if (this.options.strict === true) throw new VmidReplayError('MALFORMED_LINE', `CPU ${cpu} is not below the configured CPU count ${allocator.config.cpus}`, at.span);
    return false;
  }

  private diverge(at: EventBase, divergence: DivergenceKind, expected: string, observed: string, vm?: VmState): void {
    this.stats.countDivergence(divergence);
    this.step({ kind: 'divergence', at, divergence, expected, observed, ...(vm === undefined ? {} : { vm }) });
  }

  // ---- applying events ---------------------------------------------------------------

  private apply(item: SequencedItem): void {
    if (this.unresolvedOrder.size > 0) this.noteUnresolvedOrder(item);
    const tsUs = item.type === 'call' ? item.decision.tsUs : item.event.tsUs;
    if (tsUs > this.replayedUpToUs) this.replayedUpToUs = tsUs;
    this.applyItem(item);
    const cpu = item.type === 'call' ? item.decision.cpu : item.event.cpu;
    if (cpu >= 0) this.findingsAtLastEventOf[cpu] = this.findings.length;
  }

  /** An observation whose answer the trace's clocks cannot settle: from it on, findings are inconclusive. */
  private noteUnresolvedOrder(item: SequencedItem): void {
    const detail = this.unresolvedOrder.get(item);
    if (detail === undefined) return;
    this.unresolvedOrder.delete(item);
    const event = item.type === 'call' ? item.decision : item.event;
    this.diagnostics.add('skew-unresolved', { file: event.span.file, line: event.span.line, detail });
    this.markDataLoss(event);
  }

  private applyItem(item: SequencedItem): void {
    if (item.type === 'observation') {
      const event = item.event;
      this.lastEvent = event;
      const side = this.ensureSide(event);
      this.stats.countObservation();
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
      if (item.missingReturn && this.sequencer.modeOf(item.decision.kind) === 'return') {
        this.diagnostics.add('missing-return', { file: item.decision.span.file, line: item.decision.span.line, detail: item.decision.kind });
        this.markDataLoss(item.decision);
      }
      if (item.orphanReturn) {
        this.diagnostics.add('orphan-return', { file: item.decision.span.file, line: item.decision.span.line, detail: item.decision.kind });
        if (item.decision.vm === undefined) {
          // Nothing says which VM this was: the call cannot be replayed, so what follows is unsure.
          this.markDataLoss(item.decision);
          return;
        }
      }
      if (item.decision.kind === 'vmid-update') this.applyUpdate(item.entry as VmidUpdateEvent | undefined, item.decision, item.inside);
      else this.applyPin(item.entry as PinGetEvent | undefined, item.decision, item.inside);
      return;
    }
    const event = item.event;
    if (event.cpu >= 0) this.lastEvent = event;
    this.applyEvent(event);
  }

  private ensureSide(at: EventBase): AllocatorSide {
    this.ensureAllocator(at);
    return this.side as AllocatorSide;
  }

  private applyUpdate(entry: VmidUpdateEvent | undefined, decision: VmidUpdateEvent, inside: readonly InsideEvent[]): void {
    const at = decision;
    this.lastEvent = at;
    const side = this.ensureSide(at);
    if (!this.checkCpu(decision.cpu, at, side.allocator)) return;
    const { vm, idBefore, outcome } = side.update(entry, decision, inside);
    this.afterRollover(outcome.flushes, at, inside);
    const previouslyRunning = this.running[decision.cpu];
    this.stats.countLoad(outcome.slow);
    this.step({ kind: 'load', event: decision, vm, cpu: decision.cpu, idBefore, outcome, previouslyRunning });
    this.running[decision.cpu] = { vm, vmid: outcome.vmid, loadedBy: at };
    this.options.onDecision?.({
      line: decision.span.line,
      op: 'load',
      vm: vm.pointer,
      cpu: decision.cpu,
      vmid: outcome.vmid,
      gen: outcome.gen,
      flushes: outcome.flushes,
      slow: outcome.slow,
      vm_id_after: String(outcome.idAfter),
    });
  }

  private applyPin(entry: PinGetEvent | undefined, decision: PinGetEvent, inside: readonly InsideEvent[]): void {
    const at = decision;
    this.lastEvent = at;
    const side = this.ensureSide(at);
    if (side.allocator.config.variant === 'mainline') {
      throw new VmidReplayError('CONFIG_INVALID', 'the trace pins VMIDs, which mainline cannot: pass --variant rfc-v2 or rfc-v3 (or add variant= to the header)', at.span);
    }
    const { vm, outcome } = side.pin(entry, decision, inside);
    this.afterRollover(outcome.flushes, at, inside);
    if (outcome.exhausted) vm.lastFailedPin = at;
    else if (vm.kvmVmid.pinned === 1) vm.pinnedBy = at;
    this.step({ kind: 'pin', event: decision, vm, outcome });
    this.options.onDecision?.({
      line: decision.span.line,
      op: 'pin',
      vm: vm.pointer,
      ret: outcome.ret,
      flushes: outcome.flushes,
      vm_id_after: String(outcome.idAfter),
      nr_pinned: outcome.nrPinned,
    });
  }

  /**
   * A call's rollovers reach every BTM SMMU as the flush's `TLBI ALLE1IS`, witnessed by the
   * trace's own TLBI line when one fired inside the call. A TLBI inside a call that the model
   * does not roll over in still went out on the hardware (the side reported the mismatch).
   */
  private afterRollover(flushes: number, at: EventBase, inside: readonly InsideEvent[]): void {
    const tlbi = inside.find((event) => event.kind === 'cpu-tlbi');
    if (flushes > 0) {
      this.stats.countRollovers(flushes);
      this.smmuSide.rolloverBroadcast(tlbi ?? at);
    } else if (tlbi !== undefined) {
      this.smmuSide.apply(tlbi);
    }
  }

  private applyEvent(event: TraceEvent): void {
    switch (event.kind) {
      case 'system-config':
        this.resolver.addSystem(event);
        return;
      case 'smmu-config':
        this.resolver.addSmmu(event);
        return;
      case 'lost-events':
        this.markDataLoss(event);
        if (event.late !== true) this.markLostWindow(event.lostCpu);
        return;
      case 'vm-create': {
        this.ensureSide(event).create(event.vm, event);
        this.options.onDecision?.({ line: event.span.line, op: 'create', vm: event.vm });
        return;
      }
      case 'vm-destroy': {
        const vm = this.ensureSide(event).destroy(event);
        if (vm === undefined) {
          this.diagnostics.add('unknown-vm', { file: event.span.file, line: event.span.line, detail: `${event.vm} destroyed but never seen alive` });
          return;
        }
        this.step({ kind: 'vm-destroy', event, vm });
        this.running.forEach((running, cpu) => {
          if (running?.vm === vm) this.running[cpu] = undefined;
        });
        this.options.onDecision?.({ line: event.span.line, op: 'destroy', vm: event.vm });
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
        this.step({ kind: 'put', event, cpu: event.cpu, wasRunning });
        this.options.onDecision?.({ line: event.span.line, op: 'put', cpu: event.cpu });
        return;
      }
      case 'pin-put': {
        const { vm, outcome } = this.ensureSide(event).unpin(event);
        if (outcome.released) vm.pinnedBy = undefined;
        this.step({ kind: 'unpin', event, vm, outcome });
        this.options.onDecision?.({ line: event.span.line, op: 'unpin', vm: vm.pointer, nr_pinned: outcome.nrPinned });
        return;
      }
      case 'vmid-rollover':
        this.ensureSide(event).strayRollover(event, this.sequencer.modeOf('vmid-update') !== 'entry');
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

  /** Ends the replay: decides pending calls, runs end-of-trace checks, returns the result. */
  finish(): ReplayResult {
    if (!this.finished) {
      this.finished = true;
      this.reorder.flush();
      this.sequencer.finish();
      this.order?.finish();
      this.sideSink?.finish();
      if (this.allocator !== undefined) this.step({ kind: 'trace-end', at: this.lastEvent });
      if (this.lastEvent !== undefined) this.resolver.warnOfUnseenSmmus(this.lastEvent.span);
      if (this.options.probeMap === undefined) this.probes.suggestMaps(this.diagnostics);
      this.unreadableFrom = judgeUnreadable(this.stats, this.diagnostics);
      this.markFindingsDecidedWithoutLateEvents();
    }
    return {
      findings: this.findings,
      diagnostics: this.diagnostics,
      stats: this.stats,
      state: this.allocator === undefined ? undefined : this.state(this.allocator),
      configOrigins: this.resolver.origins(),
      dataLossAt: this.dataLossAt,
      lastRef: this.lastEvent === undefined ? undefined : refOf(this.lastEvent),
      unreadableFrom: this.unreadableFrom,
      probes: this.probes,
    };
  }
}
