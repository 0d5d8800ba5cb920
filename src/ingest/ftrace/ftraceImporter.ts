/**
 * The ftrace text importer: `/sys/kernel/tracing/trace` and `trace_pipe` output, line by line
 * (see ftraceLine.ts for the grammar).
 */
import { lineRecords, type LineGrammar } from '../lines/lineRecords.js';
import { parseFtraceLine } from './ftraceLine.js';
import { FtraceColumns } from './ftraceColumns.js';
import type { Importer, ReadOptions } from '../importer.js';
import type { ReadRecord } from '../records.js';

export const ftraceGrammar: LineGrammar = {
  parseText: parseFtraceLine,
  traceCmd: false,
  skimmedColumns: () => new FtraceColumns(),
};

/** Parses a (decompressed) byte stream of ftrace text into batches of records. */
function ftraceRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<ReadRecord[]> {
  return lineRecords(source, options, ftraceGrammar);
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
