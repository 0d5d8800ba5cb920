/**
 * Records, in timestamp order, to typed events: the decoding stage. Every record is counted
 * once under its type and every event line ends in one bucket (decoded by kind, unused by name,
 * unrecognised probe, malformed), which is what lets the report say `all accounted`. Loss
 * markers and events that arrive after later ones were replayed become `lost-events` events,
 * so the calls held downstream are applied before the loss takes effect.
 */
import { VmidReplayError } from '../../errors.js';
import type { Diagnostics, DiagnosticCode } from '../../diagnostics.js';
import type { LineSource, TraceRecord } from '../../ingest/records.js';
import { ProbeArgs } from '../../events/probeBody.js';
import { PointerTable, decodeEventRecord, decodeHeader, mayDecode, type DecodeContext, type DecodeOutcome } from '../../events/decode.js';
import { assertUnreachable, type TraceEvent } from '../../events/index.js';
import { precodedOutcome } from '../../events/precoded.js';
import type { ProbeMap } from '../../events/probeMap.js';
import { counted } from '../../plural.js';
import type { LateReason } from '../reorder/reorderBuffer.js';
import type { ReplayStats } from '../result/stats.js';
import type { DataLoss } from '../findings/findingCollector.js';
import { ProbeInventory } from './probeInventory.js';

const diagnosticForRecord: Partial<Record<TraceRecord['type'], DiagnosticCode>> = {
  malformed: 'malformed-line',
  continuation: 'continuation-line',
};

export interface DecodeStageDeps {
  readonly stats: ReplayStats;
  readonly diagnostics: Diagnostics;
  readonly loss: Pick<DataLoss, 'markLate'>;
  /** The VMID width as known now, for `id=` fields of TLBI lines. */
  vmidBits(): number | undefined;
  /** The next stage. */
  emit(event: TraceEvent): void;
}

export interface DecodeOptions {
  readonly probeMap?: ProbeMap;
  /** Malformed input is an error naming file and line, instead of a counted skip. */
  readonly strict?: boolean;
}

export class DecodeStage {
  /** The probes the decoder had no meaning for, by name and place. */
  readonly probes = new ProbeInventory();
  /** Where each event line's arguments are read, reused from line to line. */
  private readonly probeArgs = new ProbeArgs();
  /** The trace's pointers, one string each, for every line's decoding. */
  private readonly pointers = new PointerTable();
  private contextCache: DecodeContext | undefined;
  /** When the latest decoded event of a CPU happened: a loss marker between lines takes it. */
  private lastDecodedTsUs = 0;

  constructor(
    private readonly deps: DecodeStageDeps,
    private readonly options: DecodeOptions,
  ) {}

  /** Which event lines are needed in full: those that can decode to anything but `unused`. */
  readonly wantEvent = (name: string, opensWithLocation: boolean): boolean => mayDecode(name, opensWithLocation, this.options.probeMap);

  /** `times` event lines named `name` that decode to nothing the replay uses (their records are counted apart). */
  countUnused(name: string, times: number): void {
    this.deps.diagnostics.countUnused(name, times);
    this.deps.stats.countUnused(times);
  }

  /** The context for decoding the next line: the same object while the VMID width stays known the same. */
  private context(): DecodeContext {
    const vmidBits = this.deps.vmidBits();
    if (this.contextCache === undefined || this.contextCache.vmidBits !== vmidBits) {
      this.contextCache = { vmidBits, pointers: this.pointers, ...(this.options.probeMap === undefined ? {} : { probeMap: this.options.probeMap }) };
    }
    return this.contextCache;
  }

  /** One record in timestamp order, or `late`: older than records already replayed. */
  push(record: TraceRecord, late: LateReason | undefined): void {
    const { stats, diagnostics } = this.deps;
    stats.countRecord(record.type);
    switch (record.type) {
      case 'event':
        // A MessagePack version 3 line may carry its meaning already; else its body is read.
        this.handle(precodedOutcome(record, this.options.probeMap) ?? decodeEventRecord(record, this.context(), this.probeArgs), record.span, record.name, record.cpu, late, record);
        return;
      case 'header': {
        const outcome = decodeHeader(record);
        if (outcome !== undefined) this.handle(outcome, record.span, 'header', -1, undefined, record);
        return;
      }
      case 'lost':
        diagnostics.add('lost-events', { file: record.span.file, line: record.span.line, detail: `CPU ${record.cpu}: ${counted(record.count, 'event')} lost` }, record.count);
        this.emitLoss(record.span, record, record.cpu, record.count, false);
        return;
      case 'buffer-started':
        diagnostics.add('buffer-started', { file: record.span.file, line: record.span.line, detail: `CPU ${record.cpu}` });
        this.emitLoss(record.span, record, record.cpu, undefined, false);
        return;
      case 'malformed':
      case 'continuation': {
        const code = diagnosticForRecord[record.type] as DiagnosticCode;
        if (record.type === 'malformed' && this.options.strict === true) {
          throw new VmidReplayError('MALFORMED_LINE', `expected ${record.expected}, found "${record.text.slice(0, 120)}"`, { file: record.span.file, line: record.span.line });
        }
        diagnostics.add(code, { file: record.span.file, line: record.span.line, detail: record.type === 'malformed' ? `expected ${record.expected}` : record.text.slice(0, 80) });
        if (record.type === 'malformed') stats.countMalformedLine(record.span, record.text);
        return;
      }
      default:
        assertUnreachable(record, 'record type');
    }
  }

  /** End of input: the probes the trace's own map would have read. */
  finish(): void {
    if (this.options.probeMap === undefined) this.probes.suggestMaps(this.deps.diagnostics);
  }

  private handle(outcome: DecodeOutcome, span: { file: string; line: number }, name: string, cpu: number, late: LateReason | undefined, source: LineSource): void {
    const { stats, diagnostics } = this.deps;
    switch (outcome.type) {
      case 'event': {
        if (late !== undefined) {
          // Its place in time was already replayed: what follows is unsure, what came before stays sure.
          const code = late === 'cpu-backwards' ? 'timestamp-backwards' : 'reorder-window-exceeded';
          diagnostics.add(code, { file: span.file, line: span.line, detail: late === 'cpu-backwards' ? `CPU ${cpu} went back in time by more than the reorder window` : `CPU ${cpu}: older than events of other CPUs already replayed, by more than the reorder window` });
          this.emitLoss(outcome.event.span, source, cpu, undefined, true);
          this.deps.loss.markLate(outcome.event.tsUs);
        }
        stats.countEvent(outcome.event.kind, cpu < 0);
        if (cpu >= 0) this.lastDecodedTsUs = outcome.event.tsUs;
        this.deps.emit(outcome.event);
        return;
      }
      case 'unused':
        this.countUnused(outcome.name, 1);
        return;
      case 'unrecognised-probe':
        diagnostics.add('unrecognised-probe', { file: span.file, line: span.line, detail: `${name}: ${outcome.detail}` });
        diagnostics.countUnused(name);
        stats.countUnrecognised();
        this.probes.note(name, outcome.location, span);
        return;
      case 'malformed':
        if (this.options.strict === true) {
          throw new VmidReplayError('MALFORMED_LINE', `expected ${outcome.expected}, found "${source.text.slice(0, 120)}"`, span);
        }
        diagnostics.add('malformed-event', { file: span.file, line: span.line, detail: `expected ${outcome.expected}` });
        if (cpu >= 0) stats.countMalformedEvent(span);
        return;
      default:
        assertUnreachable(outcome, 'decode outcome');
    }
  }

  /**
   * A loss goes through the stages like any event, so calls still held (read before the loss)
   * are applied before it takes effect. Not tied to a CPU's own order (cpu -1): a lost marker
   * says nothing about a pending call.
   */
  private emitLoss(span: { file: string; line: number; offset: number }, source: LineSource, cpu: number, count: number | undefined, late: boolean): void {
    this.deps.emit({ kind: 'lost-events', span, source, cpu: -1, tsUs: this.lastDecodedTsUs, tsNs: 0, ...(count === undefined ? {} : { count }), lostCpu: cpu, ...(late ? { late: true } : {}) });
  }
}
