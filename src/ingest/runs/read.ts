/**
 * Reads a file's per-CPU runs, each from its own place, and merges them back into timestamp
 * order (merge.ts). Spans keep the file's own lines and byte offsets.
 *
 * Which formats: those read line by line with no state carried from line to line, so that
 * reading can start at any line: ftrace text (`per_cpu/cpuN/trace` pasted together is the case
 * this is for) and `trace-cmd report` text (reports of single CPUs, `--cpu N`, pasted
 * together). Not CSV: its header row names the columns, and a run starting further down has
 * none. Not MessagePack: records sit in blocks of thousands and a run may start inside one;
 * `convert` writes records in the order it read them, so runs appear there only when it was
 * given per-CPU files, and converting a sorted trace avoids them.
 */
import type { Importer, ReadOptions, TraceFormat } from '../importer.js';
import { openTraceRange } from '../readTrace.js';
import type { ReadRecord } from '../records.js';
import type { CpuRun } from './detect.js';
import { mergeRuns } from './merge.js';

export const mergeableFormats: ReadonlySet<TraceFormat> = new Set(['ftrace', 'trace-cmd']);

/**
 * Runs read with the WebAssembly skimmer at most: each reader's module holds about 9 MiB, so
 * beyond this the readers read by the string grammar alone (the same records, slower on
 * sparse traces).
 */
const maxRunsSkimmedInWasm = 8;

/** The records of `file` (a regular file, plain or `gzip`), its `runs` merged back into timestamp order. */
export function readMergedRuns(file: string, gzip: boolean, runs: readonly CpuRun[], importer: Importer, options: ReadOptions): AsyncGenerator<ReadRecord[]> {
  const wasmSkim = runs.length <= maxRunsSkimmedInWasm ? options.wasmSkim : false;
  const readers = runs.map((run, index) => {
    const end = runs[index + 1]?.offset ?? Infinity;
    const runOptions: ReadOptions = { ...options, format: importer.format, from: { line: run.line, offset: run.offset }, ...(wasmSkim === undefined ? {} : { wasmSkim }) };
    return importer.records(openTraceRange(file, gzip, run.offset, end), runOptions)[Symbol.asyncIterator]();
  });
  return mergeRuns(readers);
}
