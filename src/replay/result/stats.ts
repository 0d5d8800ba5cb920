import type { TraceRecord } from '../../ingest/records.js';
import { isBinaryText } from '../../ingest/binaryText.js';
import type { EventKind } from '../../events/index.js';
import type { DivergenceKind } from '../../steps/step.js';

/**
 * The replay's proof that it read the whole trace: every record is counted once under its
 * type, and every event line as decoded (by kind), unused (by name, in the diagnostics),
 * unrecognised or malformed. `accounted()` checks the sums add up.
 */
export class ReplayStats {
  /**
   * Event records apart from the rest: counted for nearly every record, where a store under a
   * type name held in a variable cost more than the counting. `records` gives all by type.
   */
  private eventRecords = 0;
  private readonly otherRecords: Record<Exclude<TraceRecord['type'], 'event'>, number> = { header: 0, lost: 0, 'buffer-started': 0, continuation: 0, malformed: 0 };
  /** A cell per kind, so counting an event is one lookup, not a get and a set. */
  private readonly kindCounts = new Map<EventKind, { count: number }>();
  /** Config events that came from header comment lines rather than event lines. */
  headerEvents = 0;
  unusedEvents = 0;
  unrecognisedProbes = 0;
  malformedEvents = 0;
  /** Malformed lines (not trace lines at all) that hold binary data. */
  binaryLines = 0;
  /** The earliest line, by line number, that could not be read: a malformed line or event. */
  firstUnreadable: { readonly file: string; readonly line: number } | undefined;
  loads = 0;
  slowLoads = 0;
  rollovers = 0;
  readonly divergences = new Map<DivergenceKind, number>();

  get records(): Readonly<Record<TraceRecord['type'], number>> {
    return { event: this.eventRecords, ...this.otherRecords };
  }
  get eventsByKind(): ReadonlyMap<EventKind, number> {
    return new Map([...this.kindCounts].map(([kind, cell]) => [kind, cell.count]));
  }

  countRecord(type: TraceRecord['type'], times = 1): void {
    if (type === 'event') this.eventRecords += times;
    else this.otherRecords[type] += times;
  }
  countEvent(kind: EventKind, fromHeader: boolean): void {
    const cell = this.kindCounts.get(kind);
    if (cell === undefined) this.kindCounts.set(kind, { count: 1 });
    else cell.count += 1;
    if (fromHeader) this.headerEvents += 1;
  }
  countUnused(times = 1): void {
    this.unusedEvents += times;
  }
  countUnrecognised(): void {
    this.unrecognisedProbes += 1;
  }
  countMalformedEvent(span: { readonly file: string; readonly line: number }): void {
    this.malformedEvents += 1;
    this.noteUnreadable(span);
  }
  /** A line that is no trace line (its record is counted by `countRecord`). */
  countMalformedLine(span: { readonly file: string; readonly line: number }, text: string): void {
    if (isBinaryText(text)) this.binaryLines += 1;
    this.noteUnreadable(span);
  }
  private noteUnreadable(span: { readonly file: string; readonly line: number }): void {
    if (this.firstUnreadable === undefined || span.line < this.firstUnreadable.line) this.firstUnreadable = { file: span.file, line: span.line };
  }
  /** Later probes of already-replayed calls, compared with the model. */
  observations = 0;
  /** How many times each observed allocator field was compared with the model. */
  readonly observedFields = new Map<string, number>();
  countObservation(): void {
    this.observations += 1;
  }
  countObservedFields(fields: Iterable<string>): void {
    for (const field of fields) this.countObservedField(field);
  }
  countObservedField(field: string): void {
    this.observedFields.set(field, (this.observedFields.get(field) ?? 0) + 1);
  }
  countLoad(slow: boolean): void {
    this.loads += 1;
    if (slow) this.slowLoads += 1;
  }
  countRollovers(flushes: number): void {
    this.rollovers += flushes;
  }
  countDivergence(kind: DivergenceKind): void {
    this.divergences.set(kind, (this.divergences.get(kind) ?? 0) + 1);
  }

  /** Events that give the replay something to do: every decoded event but configuration. */
  replayableEvents(): number {
    let total = 0;
    for (const [kind, cell] of this.kindCounts) if (kind !== 'system-config' && kind !== 'smmu-config') total += cell.count;
    return total;
  }

  /** Event lines that became typed events (config lines from headers included). */
  decodedEvents(): number {
    let total = 0;
    for (const cell of this.kindCounts.values()) total += cell.count;
    return total;
  }

  /** True when every event line is in exactly one bucket. */
  accounted(): boolean {
    const fromEventLines = this.decodedEvents() - this.headerEvents;
    return fromEventLines + this.unusedEvents + this.unrecognisedProbes + this.malformedEvents === this.eventRecords;
  }
}
