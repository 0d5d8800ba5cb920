/**
 * The replay: one pass over a trace's records, through stages with one job each, and an account
 * of every record at the end.
 *
 *   records (file order)
 *     -> reorder/   merged into timestamp order within a window; later ones flagged late
 *     -> decode/    typed events; every record counted, every event line in one bucket
 *     -> sequence/  allocator calls put where their decision is visible (return, in-lock probe)
 *     -> skew/      held within the skew bound; the order the allocator's observations show adopted
 *     -> models/    allocator, SMMUs and VMs; what the trace observed compared; one step per item
 *     -> findings/  the checks, each handler seeing each step once; data loss marks what is unsure
 *
 * This class only wires them and answers for the whole: what to read, and the result.
 */
import type { ReadRecord } from '../ingest/records.js';
import type { CpuRunDetector } from '../ingest/runs/detect.js';
import { DecodeStage } from './decode/decodeStage.js';
import { ModelsAndChecks } from './modelsAndChecks.js';
import { ReorderBuffer, defaultReorderMaxRecords, defaultReorderWindowUs } from './reorder/reorderBuffer.js';
import type { ReplayOptions, ReplayResult } from './replayTypes.js';
import { CallSequencer, type SequencedItem } from './sequence/callSequencer.js';
import { SkewOrder, skewBoundForClock } from './skew/skewOrder.js';
import type { ReplayStats } from './result/stats.js';
import { judgeUnreadable } from './result/unreadable.js';

export type { ReplayOptions, ReplayResult } from './replayTypes.js';

const noItemObservers: readonly ((item: SequencedItem) => void)[] = [];

export class Replay {
  private readonly reorder: ReorderBuffer;
  private readonly decode: DecodeStage;
  private readonly sequencer: CallSequencer;
  /** Holds events within the skew bound; absent when the caller trusts the stamps (`skewBoundUs: 0`). */
  private readonly order: SkewOrder | undefined;
  private readonly back: ModelsAndChecks;
  private readonly itemObservers: readonly ((item: SequencedItem) => void)[];
  private result: ReplayResult | undefined;

  constructor(private readonly options: ReplayOptions = {}) {
    this.back = new ModelsAndChecks(
      { ...options, traceShowsRollovers: [...(options.probeMap?.events.values() ?? [])].some((mapped) => mapped.args.has('newgen')) },
      {
        modeOf: (family) => this.sequencer.modeOf(family),
        cpusInsideUpdate: () => this.sequencer.cpusInsideUpdate(),
        skewBoundUs: () => this.skewBoundUs(),
      },
    );
    this.itemObservers = options.itemObservers ?? noItemObservers;
    const { diagnostics, stats, collector, models } = this.back;
    const order =
      options.skewBoundUs === 0
        ? undefined
        : new SkewOrder({
            boundUs: () => this.skewBoundUs(),
            apply: (item) => this.apply(item),
            shadowBase: () => models.shadowBase(),
            adopted: (at, detail) => diagnostics.add('cross-cpu-skew', { file: at.span.file, line: at.span.line, detail }),
            unresolved: (item, detail) => models.noteUnresolved(item, detail),
          });
    this.order = order;
    this.sequencer = new CallSequencer(order === undefined ? (item) => this.apply(item) : (item) => order.push(item));
    this.decode = new DecodeStage(
      {
        stats,
        diagnostics,
        loss: collector,
        vmidBits: () => models.allocator?.config.vmidBits ?? this.back.resolver.knownVmidBits(),
        emit: (event) => this.sequencer.push(event),
      },
      options,
    );
    this.reorder = new ReorderBuffer(
      { windowUs: options.reorderWindowUs ?? defaultReorderWindowUs, maxRecords: options.reorderMaxRecords ?? defaultReorderMaxRecords },
      {
        inOrder: (record) => this.decode.push(record, undefined),
        late: (record, reason) => this.decode.push(record, reason),
        reordered: (record) => diagnostics.add('reordered', { file: record.span.file, line: record.span.line, detail: 'merged back into timestamp order' }),
      },
    );
  }

  get stats(): ReplayStats {
    return this.back.stats;
  }

  /** What tells the per-CPU runs of the input: it sees the records the replay orders, in input order. */
  get inputRuns(): CpuRunDetector {
    return this.reorder.runs;
  }

  /** Which event lines the replay needs in full: those that can decode to anything but `unused`. */
  get wantEvent(): (name: string, opensWithLocation: boolean) => boolean {
    return this.decode.wantEvent;
  }

  /** Feeds one record, in file order; the reorder buffer merges it into timestamp order. */
  push(record: ReadRecord): void {
    if (record.type === 'unused-events') {
      for (const [name, count] of record.countsByName) {
        this.stats.countRecord('event', count);
        this.decode.countUnused(name, count);
      }
      return;
    }
    // Lines that can only decode to `unused` are counted on arrival, whichever reader read
    // them: they take no part in ordering, so skipping them while reading changes nothing.
    if (record.type === 'event' && !this.decode.wantEvent(record.name, record.body.charCodeAt(0) === 0x28 /* ( */)) {
      this.stats.countRecord('event');
      this.decode.countUnused(record.name, 1);
      return;
    }
    this.reorder.push(record);
  }

  /** Ends the replay: everything held is applied, end-of-trace checks run, every record accounted for. */
  finish(): ReplayResult {
    if (this.result !== undefined) return this.result;
    this.reorder.flush();
    this.sequencer.finish();
    this.order?.finish();
    this.back.finishModels();
    this.decode.finish();
    const { diagnostics, stats, resolver } = this.back;
    const unreadableFrom = judgeUnreadable(stats, diagnostics);
    const { findings, dataLossAt, state, lastRef } = this.back.finishFindings();
    this.result = { findings, diagnostics, stats, state, configOrigins: resolver.origins(), dataLossAt, lastRef, unreadableFrom, probes: this.decode.probes };
    return this.result;
  }

  /** How far apart in time two CPUs' events may be stamped out of their real order (µs): the flag, else what the trace's clock allows. */
  private skewBoundUs(): number {
    return this.options.skewBoundUs ?? skewBoundForClock(this.back.resolver.knownTraceClock());
  }

  private apply(item: SequencedItem): void {
    this.back.apply(item);
    for (let i = 0; i < this.itemObservers.length; i++) (this.itemObservers[i] as (item: SequencedItem) => void)(item);
  }
}
