/**
 * The loop every line-oriented importer shares: split the byte stream into lines, parse each
 * with the format's grammar, hand records on in batches of at most `batchBytes` of input. An
 * overlong line becomes a malformed record here, whatever the format.
 */
import { LineSplitter, defaultMaxLineBytes, type LineSink } from './lineSplitter.js';
import type { EventFilter, ReadOptions } from './importer.js';
import type { ReadRecord, SourceSpan, TraceRecord } from './records.js';

export type LineParser = (text: string, span: SourceSpan) => TraceRecord;

/**
 * A grammar's byte-level fast path: the record for a line's bytes, or undefined to have the
 * decoded text parsed by the `LineParser` instead. Made once per input.
 */
export type LineBytesParser = (bytes: Buffer, start: number, end: number, span: SourceSpan) => ReadRecord | undefined;

export interface LineGrammar {
  readonly parseText: LineParser;
  readonly bytesParser?: (wantEvent: EventFilter | undefined) => LineBytesParser;
}

/**
 * Records of one batch are alive together: a batch per 1 MiB read would outlive V8's young
 * generation and be promoted, so reads are cut into slices this size first.
 */
const batchBytes = 1 << 16;

export async function* lineRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions, grammar: LineGrammar): AsyncGenerator<ReadRecord[]> {
  const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  const splitter = new LineSplitter(maxLineBytes);
  const file = options.file;
  const parseText = grammar.parseText;
  const parseBytes = grammar.bytesParser?.(options.wantEvent);
  let batch: ReadRecord[] = [];
  const sink: LineSink = (bytes, start, end, line, offset, truncated) => {
    const span = { file, line, offset };
    if (truncated) {
      batch.push({ type: 'malformed', span, text: bytes.toString('utf8', start, end).slice(0, 200), expected: `a line of at most ${maxLineBytes} bytes` });
      return;
    }
    batch.push(parseBytes?.(bytes, start, end, span) ?? parseText(bytes.toString('utf8', start, end), span));
  };
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += batchBytes) {
      splitter.pushBytes(chunk.length <= batchBytes ? chunk : chunk.subarray(at, at + batchBytes), sink);
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
  }
  splitter.endBytes(sink);
  if (batch.length > 0) yield batch;
}
