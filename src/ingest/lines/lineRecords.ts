/**
 * The loop every line-oriented importer shares: split the byte stream into lines, parse each
 * with the format's grammar, hand records on in batches of at most `batchBytes` of input. An
 * overlong line becomes a malformed record here, whatever the format.
 */
import { utf8Text } from '../bufferText.js';
import { LineSplitter, defaultMaxLineBytes, type LineSink, type WholeLinesReader } from './lineSplitter.js';
import type { ReadOptions } from '../importer.js';
import type { MalformedRecord, ReadRecord, SourceSpan, TraceRecord } from '../records.js';

export type LineParser = (text: string, span: SourceSpan) => TraceRecord;

/**
 * A grammar's byte-level fast path, made once per input: the record for a line's bytes, null
 * for a line it skipped (refused by the filter: counted, handed on by `takeUnused`), or
 * undefined to have the decoded text parsed by the `LineParser` instead.
 */
export interface LineBytesParser {
  parse(bytes: Buffer, start: number, end: number, line: number, offset: number, columns?: Int32Array, columnsAt?: number): ReadRecord | null | undefined;
  /** The lines skipped since the last call, as one `unused-events` record. */
  takeUnused(): ReadRecord | undefined;
  /** A reader of the next chunk's whole lines in bulk, skipping what it can without `parse` (see LineSplitter.pushBytes); undefined: line by line. */
  wholeLinesReader?(): WholeLinesReader | undefined;
  /** Told before each chunk's lines: what `parse` remembers of a buffer holds for one chunk only (a source may reuse its buffer). */
  startChunk?(): void;
}

export interface LineGrammar {
  readonly parseText: LineParser;
  /**
   * The byte-level fast path for one input, if the grammar has one for these options;
   * `onSkippedName` is told once per name and body flavor it skips (a skimmer in another
   * thread learns so: skimThread.ts).
   */
  readonly bytesParser?: (options: ReadOptions, onSkippedName?: (name: Uint8Array, flavor: number) => void) => LineBytesParser | undefined;
}

/** The record for a line cut at `maxLineBytes` (`bytes[start, end)` is what was kept of it). */
function overlongLine(bytes: Buffer, start: number, end: number, span: SourceSpan, maxLineBytes: number): MalformedRecord {
  return { type: 'malformed', span, text: bytes.toString('utf8', start, end).slice(0, 200), expected: `a line of at most ${maxLineBytes} bytes` };
}

/**
 * Makes the record of each line of one input, as every line-oriented reader does (this
 * thread's, and the skim thread's for the lines its worker hands over): a line cut at the
 * line limit is malformed; otherwise the byte parser reads it (null: a line it skipped,
 * counted for its `takeUnused`) and the text grammar reads what it declines.
 */
export class LineRecordMaker {
  constructor(
    private readonly file: string,
    private readonly parseText: LineParser,
    private readonly bytesParser: LineBytesParser | undefined,
    private readonly maxLineBytes: number,
  ) {}

  /** The record for the line `bytes[start, end)` (no newline; `truncated` if cut), or null for a skipped one; `columns` as LineSink has them. */
  record(bytes: Buffer, start: number, end: number, line: number, offset: number, truncated: boolean, columns?: Int32Array, columnsAt?: number): ReadRecord | null {
    if (truncated) return overlongLine(bytes, start, end, { file: this.file, line, offset }, this.maxLineBytes);
    const fast = this.bytesParser?.parse(bytes, start, end, line, offset, columns, columnsAt);
    if (fast === null) return null;
    return fast ?? this.parseText(utf8Text(bytes, start, end), { file: this.file, line, offset });
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
  const bytesParser = grammar.bytesParser?.(options);
  const maker = new LineRecordMaker(options.file, grammar.parseText, bytesParser, maxLineBytes);
  let batch: ReadRecord[] = [];
  const sink: LineSink = (bytes, start, end, line, offset, truncated, columns, columnsAt) => {
    const record = maker.record(bytes, start, end, line, offset, truncated, columns, columnsAt);
    if (record !== null) batch.push(record);
  };
  /** The batch so far, with the counts of the lines skipped in it; undefined when empty. */
  const takeBatch = (): ReadRecord[] | undefined => {
    const unused = bytesParser?.takeUnused();
    if (unused !== undefined) batch.push(unused);
    if (batch.length === 0) return undefined;
    const full = batch;
    batch = [];
    return full;
  };
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += batchBytes) {
      bytesParser?.startChunk?.();
      splitter.pushBytes(chunk.length <= batchBytes ? chunk : chunk.subarray(at, at + batchBytes), sink, bytesParser?.wholeLinesReader?.());
      const full = takeBatch();
      if (full !== undefined) yield full;
    }
  }
  splitter.endBytes(sink);
  const last = takeBatch();
  if (last !== undefined) yield last;
}
