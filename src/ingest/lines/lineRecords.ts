/**
 * The loop every line-oriented importer shares: split the byte stream into lines, read each
 * with the format's grammar (LineReader: from the columns the skimmer found, or by the string
 * grammar), hand records on in batches of at most `batchBytes` of input. An overlong line
 * becomes a malformed record here, whatever the format.
 */
import { LineSplitter, defaultMaxLineBytes, type LineSink } from './lineSplitter.js';
import { skimmerFor } from './ftraceSkim.js';
import { LineReader } from './lineReader.js';
import type { ReadOptions } from '../importer.js';
import type { EventRecord, MalformedRecord, ReadRecord, SourceSpan, TraceRecord } from '../records.js';

export type LineParser = (text: string, span: SourceSpan) => TraceRecord;

/**
 * A line's columns as the WebAssembly skimmer found them (ftraceSkim.ts), read by the format
 * the skimmer read them in: where the event's name is, and the record they make. One per
 * input; it holds the last line `load`ed.
 */
export interface SkimmedColumns {
  /**
   * Takes the columns found for the line `buf[start, end)`: `handedColumnCount` numbers from
   * `columns[at]` on. False where they do not give the record the string grammar would
   * (none found, or a number only computing it tells about): the string grammar reads it then.
   */
  load(buf: Buffer, start: number, end: number, columns: Int32Array, at: number): boolean;
  readonly nameStart: number;
  readonly nameEnd: number;
  /** Whether the body opens with a probe's `(location)`, as the filter is asked. */
  readonly opensWithLocation: boolean;
  /**
   * The record of the line last loaded, named `name`, field for field the string grammar's;
   * undefined where the line's bytes do not each decode to one character, so positions in
   * the bytes are not positions in the text (the string grammar reads it then).
   */
  record(buf: Buffer, start: number, end: number, span: SourceSpan, name: string): EventRecord | undefined;
}

export interface LineGrammar {
  /** The grammar itself: the record of one line's text. */
  readonly parseText: LineParser;
  /** Whether the skimmer reads these lines as `trace-cmd report` text (else as ftrace text). */
  readonly traceCmd: boolean;
  /** A reader of the columns the skimmer finds, one per input. */
  readonly skimmedColumns: () => SkimmedColumns;
}

/** The record for a line cut at `maxLineBytes` (`bytes[start, end)` is what was kept of it). */
function overlongLine(bytes: Buffer, start: number, end: number, span: SourceSpan, maxLineBytes: number): MalformedRecord {
  return { type: 'malformed', span, text: bytes.toString('utf8', start, end).slice(0, 200), expected: `a line of at most ${maxLineBytes} bytes` };
}

/**
 * Makes the record of each line of one input, as every line-oriented reader does (this
 * thread's, and the skim thread's for the lines its worker hands over): a line cut at the
 * line limit is malformed; every other line is the reader's (null: a line it skipped, counted
 * for its `takeUnused`).
 */
export class LineRecordMaker {
  constructor(
    private readonly file: string,
    private readonly reader: LineReader,
    private readonly maxLineBytes: number,
  ) {}

  /** The record for the line `bytes[start, end)` (no newline; `truncated` if cut), or null for a skipped one; `columns` as LineSink has them. */
  record(bytes: Buffer, start: number, end: number, line: number, offset: number, truncated: boolean, columns?: Int32Array, columnsAt?: number): ReadRecord | null {
    if (truncated) return overlongLine(bytes, start, end, { file: this.file, line, offset }, this.maxLineBytes);
    return this.reader.read(bytes, start, end, line, offset, columns, columnsAt);
  }
}

/**
 * Records of one batch are alive together: a batch per 1 MiB read would outlive V8's young
 * generation and be promoted, so reads are cut into slices this size first.
 */
const batchBytes = 1 << 16;

export async function* lineRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions, grammar: LineGrammar): AsyncGenerator<ReadRecord[]> {
  const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  const splitter = new LineSplitter(maxLineBytes, options.from);
  const reader = new LineReader(options.file, grammar, options.wantEvent, skimmerFor(options, grammar.traceCmd), options.wasmSkim === 'always');
  const maker = new LineRecordMaker(options.file, reader, maxLineBytes);
  let batch: ReadRecord[] = [];
  const sink: LineSink = (bytes, start, end, line, offset, truncated, columns, columnsAt) => {
    const record = maker.record(bytes, start, end, line, offset, truncated, columns, columnsAt);
    if (record !== null) batch.push(record);
  };
  /** The batch so far, with the counts of the lines skipped in it; undefined when empty. */
  const takeBatch = (): ReadRecord[] | undefined => {
    const unused = reader.takeUnused();
    if (unused !== undefined) batch.push(unused);
    if (batch.length === 0) return undefined;
    const full = batch;
    batch = [];
    return full;
  };
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += batchBytes) {
      splitter.pushBytes(chunk.length <= batchBytes ? chunk : chunk.subarray(at, at + batchBytes), sink, reader.wholeLinesReader());
      const full = takeBatch();
      if (full !== undefined) yield full;
    }
  }
  splitter.endBytes(sink);
  const last = takeBatch();
  if (last !== undefined) yield last;
}
