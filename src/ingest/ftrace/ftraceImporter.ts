/**
 * The ftrace text importer: `/sys/kernel/tracing/trace` and `trace_pipe` output, line by line
 * (see ftraceLine.ts for the grammar).
 */
import { lineRecords } from '../lines/lineRecords.js';
import { parseFtraceLine } from './ftraceLine.js';
import { FtraceByteParser } from './ftraceBytes.js';
import { skimmerFor } from '../lines/ftraceSkim.js';
import type { Importer, ReadOptions } from '../importer.js';
import type { LineGrammar } from '../lines/lineRecords.js';
import type { ReadRecord } from '../records.js';

export const ftraceGrammar: LineGrammar = {
  parseText: parseFtraceLine,
  bytesParser: (options, onSkippedName) => new FtraceByteParser(options.file, options.wantEvent, skimmerFor(options, false), options.wasmSkim === 'always', onSkippedName),
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
