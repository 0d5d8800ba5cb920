/**
 * The loop every line-oriented importer shares: split the byte stream into lines, parse each
 * with the format's grammar, hand records on one batch per chunk. An overlong line becomes a
 * malformed record here, whatever the format.
 */
import { LineSplitter, defaultMaxLineBytes } from './lineSplitter.js';
import type { ReadOptions } from './importer.js';
import type { SourceSpan, TraceRecord } from './records.js';

export type LineParser = (text: string, span: SourceSpan) => TraceRecord;

export async function* lineRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions, parseLine: LineParser): AsyncGenerator<TraceRecord[]> {
  const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  const splitter = new LineSplitter(maxLineBytes);
  let batch: TraceRecord[] = [];
  const emit = (raw: { text: string; line: number; offset: number; truncated: boolean }) => {
    const span = { file: options.file, line: raw.line, offset: raw.offset };
    batch.push(raw.truncated ? { type: 'malformed', span, text: raw.text.slice(0, 200), expected: `a line of at most ${maxLineBytes} bytes` } : parseLine(raw.text, span));
  };
  for await (const chunk of source) {
    splitter.push(chunk, emit);
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
  }
  splitter.end(emit);
  if (batch.length > 0) yield batch;
}
