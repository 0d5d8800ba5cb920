/** What an importer yields: records with source positions, no KVM knowledge. */

export interface SourceSpan {
  readonly file: string;
  /** 1-based line number in the input. */
  readonly line: number;
  /** Byte offset of the line's first byte in the (decompressed) input. */
  readonly offset: number;
}

/**
 * Where the raw text of a trace line can be had. Every record is one. Events keep their
 * record as their source and read `text` only to quote the line: a reader may make the text
 * on demand (MessagePack's is a template with the timestamp written back, which was a fifth
 * of a dense replay when made for every line).
 */
export interface LineSource {
  readonly text: string;
}

/** One ftrace event line, split into its columns; `body` is the event's own text. */
export interface EventRecord {
  readonly type: 'event';
  readonly span: SourceSpan;
  readonly text: string;
  readonly task: string;
  readonly pid: number;
  /** Present when the `record-tgid` option printed a TGID column; null for `(-----)`. */
  readonly tgid?: number | null;
  readonly cpu: number;
  /** The irq-info flag column (4 or 5 characters); absent when irq-info is off. */
  readonly flags?: string;
  /** Timestamp in whole microseconds, exact (never a float). */
  readonly tsUs: number;
  /** Sub-microsecond nanoseconds (0..999) when the clock printed nanoseconds, else 0. */
  readonly tsNs: number;
  readonly name: string;
  readonly body: string;
  /**
   * What the line means, when a MessagePack version 3 file stored it (events/precoded.ts
   * defines the codes; ingest only carries them): a meaning byte (0 or absent: decode the
   * body), the VM pointer and the integer operand it goes with.
   */
  readonly precodedMeaning?: number;
  readonly precodedVm?: string;
  readonly precodedValue?: number;
}

export interface HeaderRecord {
  readonly type: 'header';
  readonly span: SourceSpan;
  readonly text: string;
}

/** `CPU:2 [LOST 123 EVENTS]`: the ring buffer of that CPU overflowed (`[LOST EVENTS]`: count 1, a lower bound). */
export interface LostEventsRecord {
  readonly type: 'lost';
  readonly span: SourceSpan;
  readonly text: string;
  readonly cpu: number;
  readonly count: number;
}

/** `##### CPU 2 buffer started ####`: that CPU's events before this point were overwritten. */
export interface BufferStartedRecord {
  readonly type: 'buffer-started';
  readonly span: SourceSpan;
  readonly text: string;
  readonly cpu: number;
}

/** A stack-trace or wrapped line that belongs to the event before it. */
export interface ContinuationRecord {
  readonly type: 'continuation';
  readonly span: SourceSpan;
  readonly text: string;
}

export interface MalformedRecord {
  readonly type: 'malformed';
  readonly span: SourceSpan;
  readonly text: string;
  /** What the parser expected at the point it gave up. */
  readonly expected: string;
}

/**
 * Event lines the consumer said it has no use for (`ReadOptions.wantEvent`), counted by name:
 * each was read only as far as needed to know it is a well-formed event line of that name.
 * `span` is the first of them in the batch.
 */
export interface UnusedEventsRecord {
  readonly type: 'unused-events';
  readonly span: SourceSpan;
  readonly countsByName: ReadonlyMap<string, number>;
}

export type TraceRecord =
  | EventRecord
  | HeaderRecord
  | LostEventsRecord
  | BufferStartedRecord
  | ContinuationRecord
  | MalformedRecord;

/** What an importer yields: full records, and `unused-events` counts only when given a filter. */
export type ReadRecord = TraceRecord | UnusedEventsRecord;

/**
 * A record as plain data: the same fields, as own properties, whichever reader made it (the
 * MessagePack reader's event records make `text` on demand, from a class). For comparing
 * records by content.
 */
export function plainRecord(record: TraceRecord): TraceRecord {
  if (record.type !== 'event') return record;
  const { type, span, text, task, pid, tgid, cpu, flags, tsUs, tsNs, name, body } = record;
  return { type, span, text, task, pid, tgid, cpu, flags, tsUs, tsNs, name, body };
}
