/**
 * The ftrace text importer: `/sys/kernel/tracing/trace` and `trace_pipe` output, line by line
 * (see ftraceLine.ts for the grammar).
 */
import { LineSplitter, defaultMaxLineBytes } from './lineSplitter.js';
import { parseFtraceLine } from './ftraceLine.js';
import type { Importer, ReadOptions } from './importer.js';
import type { TraceRecord } from './records.js';

/** Parses a (decompressed) byte stream of ftrace text into batches of records. */
async function* ftraceRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<TraceRecord[]> {
  const splitter = new LineSplitter(options.maxLineBytes ?? defaultMaxLineBytes);
  let batch: TraceRecord[] = [];
  const emit = (raw: { text: string; line: number; offset: number; truncated: boolean }) => {
    const span = { file: options.file, line: raw.line, offset: raw.offset };
    batch.push(
      raw.truncated
        ? { type: 'malformed', span, text: raw.text.slice(0, 200), expected: `a line of at most ${options.maxLineBytes ?? defaultMaxLineBytes} bytes` }
        : parseFtraceLine(raw.text, span),
    );
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

/** What ftrace text looks like in its first bytes: a `# tracer:` header or a `[NNN]` CPU column. */
function sniffFtrace(head: string): number {
  if (head.startsWith('# tracer:')) return 1;
  return /^\s*\S.*?-\d+\s+(\(\s*[-\d]+\)\s+)?\[\d+\]\s/m.test(head) ? 0.9 : 0.1;
}

export const ftraceImporter: Importer = {
  format: 'ftrace',
  sniff: sniffFtrace,
  records: ftraceRecords,
};
