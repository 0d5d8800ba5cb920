/**
 * Reading a large ftrace or `trace-cmd report` file on two cores: skimWorker.ts reads, splits
 * and skims it in a worker thread; this side reads the lines it hands on exactly as the
 * in-thread reader (lineRecords, with a LineReader) reads them, and teaches the worker's
 * skimmer each name its reader skips. On a sparse trace the skim of the
 * lines nobody replays then runs beside the replay of the rest.
 *
 * Records are pushed to the consumer from the message handler, batch by batch (one per 1 MiB
 * read, with the counts of that read's skipped lines at its end). Counts by name take no part
 * in ordering (docs/trace-format.md), so no replay result depends on the batches; tests hold
 * both readers to the same report.
 */
import { Worker } from 'node:worker_threads';
import { handedColumnCount } from '../lines/ftraceSkim.js';
import { ftraceGrammar } from '../ftrace/ftraceImporter.js';
import { traceCmdGrammar } from '../traceCmd/traceCmdImporter.js';
import { LineReader } from '../lines/lineReader.js';
import { LineRecordMaker } from '../lines/lineRecords.js';
import { defaultMaxLineBytes } from '../lines/lineSplitter.js';
import { chooseImporter, type ReadOptions } from '../readTrace.js';
import type { ReadRecord } from '../records.js';
import { transferredBytes } from './inFlightBudget.js';
import { readingThreadOutcome, readingThreadSample } from './readingThread.js';
import { batchBuffers, numbersPerLine, type SkimCommand, type SkimFormat, type SkimLesson, type SkimMessage, type SkimRequest } from './skimProtocol.js';

/** Beside this module, as the bundle also has it (scripts/bundle.ts: every entry in one folder). */
const workerUrl = new URL('./skimWorker.js', import.meta.url);

/**
 * How much of a file's start is read to tell a sparse trace from a dense one: some hundreds of
 * lines tell them apart, and this sample is read before the JIT has warmed up, so no more.
 */
const sampleBytes = 1 << 16;

/**
 * Batches the worker may have posted and not yet seen taken, in bytes: about 8 dense batches
 * (a 1 MiB read each, plus their line numbers and columns), or some hundreds of sparse ones,
 * so the worker runs ahead while the replaying thread's code is still cold.
 */
const skimBytesAhead = 16 << 20;

/** How to read a file with a skim thread: its line format, and the names its worker can skip from the first line. */
export interface SkimThreadPlan {
  readonly format: SkimFormat;
  readonly lessons: readonly SkimLesson[];
}

/**
 * The replaying side's reader of one format's lines, as its importer reads them, which tells
 * the worker each name it skips; without a skimmer of its own (the worker skims).
 */
function lineReaderFor(format: SkimFormat, options: ReadOptions, onSkippedName: (name: Uint8Array, flavor: number) => void): LineReader {
  return new LineReader(options.file, format === 'trace-cmd' ? traceCmdGrammar : ftraceGrammar, options.wantEvent, undefined, false, onSkippedName);
}

/**
 * Whether `file` is worth reading with a skim thread, and if so how: a regular file of at
 * least `minBytes`, read with a filter (without one there is nothing to skip), as ftrace text
 * or sniffed, and sparse: the filter refuses most event lines of a sample of its start. On a
 * dense trace the thread would only copy lines across, which costs more than it saves.
 */
export function skimThreadPlan(file: string, options: ReadOptions, minBytes: number): SkimThreadPlan | undefined {
  if (file === '-' || options.wantEvent === undefined) return undefined;
  const text = readingThreadSample(file, minBytes, sampleBytes);
  if (text === undefined) return undefined;
  // The importer the reader would choose for this head (the worker checks it sniffs the same).
  const format = chooseImporter(text.toString('latin1'), options).format;
  return format === 'ftrace' || format === 'trace-cmd' ? sparseSample(text, file, format, options) : undefined;
}

/**
 * The plan when the filter refuses at least half the lines of the file's first `sampleBytes`
 * (decompressed): the names refused there are taught to the worker at once, so the replaying
 * thread is not handed the lines of its first reads to skip them itself while its code is
 * still cold.
 */
function sparseSample(text: Buffer, file: string, format: SkimFormat, options: ReadOptions): SkimThreadPlan | undefined {
  const lessons: SkimLesson[] = [];
  const reader = lineReaderFor(format, options, (name, flavor) => lessons.push({ name: Uint8Array.from(name), flavor }));
  let lines = 0;
  let refused = 0;
  for (let start = 0, end = text.indexOf(0x0a); end !== -1; start = end + 1, end = text.indexOf(0x0a, start)) {
    lines += 1;
    if (reader.read(text, start, end, lines, start) === null) refused += 1;
  }
  return lines > 0 && refused * 2 >= lines ? { format, lessons } : undefined;
}

/** The records of the lines one batch handed on, as lineRecords makes them. */
function batchRecords(message: Extract<SkimMessage, { type: 'lines' }>, file: string, reader: LineReader, maker: LineRecordMaker): ReadRecord[] {
  const bytes = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
  const lines = message.lines;
  const columns = message.columns;
  const records: ReadRecord[] = [];
  for (let at = 0, columnsAt = 0; at < lines.length; at += numbersPerLine, columnsAt += handedColumnCount) {
    // With the columns the worker's skimmer found (or -1: the string grammar reads the line).
    const record = maker.record(bytes, lines[at + 2] as number, lines[at + 3] as number, lines[at] as number, lines[at + 1] as number, lines[at + 4] === 1, columns, columnsAt);
    if (record !== null) records.push(record);
  }
  const unused = reader.takeUnused();
  if (unused !== undefined) records.push(unused);
  const skipped = message.skipped;
  if (skipped !== undefined) records.push({ type: 'unused-events', span: { file, line: skipped.line, offset: skipped.offset }, countsByName: new Map(skipped.counts) });
  return records;
}

/**
 * Reads a file in the plan's format with a skim thread, pushing each batch of records to
 * `consume` as it arrives. Resolves `'done'`, or `'other-format'` (before any record) when the
 * worker sniffs another format and the file must be read otherwise; rejects with the reader's
 * error, or with what `consume` threw. `onRead` hears how many bytes of the file were read.
 */
export function readWithSkimThread(
  file: string,
  options: ReadOptions,
  plan: SkimThreadPlan,
  consume: (records: ReadRecord[]) => void,
  onRead?: (bytes: number) => void,
): Promise<'done' | 'other-format'> {
  const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  const request: SkimRequest = { file, format: plan.format, formatForced: options.format !== undefined, maxLineBytes, bytesAhead: skimBytesAhead, lessons: plan.lessons };
  const worker = new Worker(workerUrl, { workerData: request });
  const send = (command: SkimCommand): void => worker.postMessage(command);
  const reader = lineReaderFor(plan.format, options, (name, flavor) => send({ type: 'learn', name: Uint8Array.from(name), flavor }));
  const maker = new LineRecordMaker(file, reader, maxLineBytes);
  return readingThreadOutcome<SkimMessage, 'done' | 'other-format'>(worker, file, (message) => {
    switch (message.type) {
      case 'other-format':
        return 'other-format';
      case 'end':
        return 'done';
      case 'lines':
        send({ type: 'credit', bytes: transferredBytes(batchBuffers(message)) });
        onRead?.(message.read);
        consume(batchRecords(message, file, reader, maker));
        return undefined;
    }
  });
}
