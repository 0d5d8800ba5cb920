/** Runs one trace through ingest and replay: the path every command and test uses. */
import type { Readable } from 'node:stream';
import { countingBytes, openTraceSource, readRecords, type ReadOptions } from '../ingest/readTrace.js';
import type { ReadRecord } from '../ingest/records.js';
import { msgpackThreadPlan, readMsgpackWithThread } from '../ingest/msgpackThread.js';
import { defaultReadingThreadMinBytes } from '../ingest/readingThread.js';
import { readWithSkimThread, skimThreadPlan } from '../ingest/skimThread.js';
import { buildReport, type Report } from '../report/report.js';
import { Replay, type ReplayOptions, type ReplayResult } from './replay.js';
import { requireEvents } from './nothingToReplay.js';

/** Bytes read and records replayed so far, for a progress display. */
export type ProgressCallback = (bytes: number, records: number) => void;

/**
 * Whether a large file may be read on a second thread (not when the cores are taken already,
 * as by `analyze` of several traces): a sparse ftrace or trace-cmd file is skimmed there, a
 * MessagePack file checked and filtered there.
 */
export interface IngestPlacement {
  readonly readingThread: boolean;
  /** The smallest file read so; tests lower it. */
  readonly minBytes?: number;
}

function readOptionsFor(file: string, options: ReplayOptions, replay: Replay): ReadOptions {
  const format = options.inputFormat === 'auto' ? undefined : options.inputFormat;
  return { file, csvMap: options.csvMap, format, wantEvent: replay.wantEvent };
}

/** Hands batches of records to the replay and reports progress; the reader keeps `bytes` (read so far) up to date. */
class ReplayFeed {
  bytes = 0;
  private records = 0;

  constructor(
    private readonly replay: Replay,
    private readonly onProgress: ProgressCallback | undefined,
  ) {}

  push(batch: readonly ReadRecord[]): void {
    for (const record of batch) this.replay.push(record);
    this.records += batch.length;
    this.onProgress?.(this.bytes, this.records);
  }
}

async function replayFrom(source: AsyncIterable<Uint8Array>, readOptions: ReadOptions, replay: Replay, onProgress?: ProgressCallback): Promise<ReplayResult> {
  const feed = new ReplayFeed(replay, onProgress);
  const counted = onProgress === undefined ? source : countingBytes(source, (size) => (feed.bytes += size));
  for await (const batch of readRecords(counted, readOptions)) feed.push(batch);
  return replay.finish();
}

export async function replayBytes(source: AsyncIterable<Uint8Array>, file: string, options: ReplayOptions, onProgress?: ProgressCallback): Promise<ReplayResult> {
  const replay = new Replay(options);
  return replayFrom(source, readOptionsFor(file, options, replay), replay, onProgress);
}

/** Replays a trace file (or `-` for `stdin`), with a reading thread for a large file when `ingest` allows it. */
export async function replayFile(file: string, stdin: Readable, options: ReplayOptions, onProgress?: ProgressCallback, ingest: IngestPlacement = { readingThread: false }): Promise<ReplayResult> {
  const replay = new Replay(options);
  const readOptions = readOptionsFor(file, options, replay);
  if (ingest.readingThread) {
    const minBytes = ingest.minBytes ?? defaultReadingThreadMinBytes;
    const feed = new ReplayFeed(replay, onProgress);
    const consume = (batch: ReadRecord[]): void => feed.push(batch);
    const onRead = (read: number): void => {
      feed.bytes = read;
    };
    if (msgpackThreadPlan(file, readOptions, minBytes)) {
      await readMsgpackWithThread(file, readOptions, consume, onRead);
      return replay.finish();
    }
    const plan = skimThreadPlan(file, readOptions, minBytes);
    if (plan !== undefined && (await readWithSkimThread(file, readOptions, plan, consume, onRead)) === 'done') return replay.finish();
  }
  return replayFrom(openTraceSource(file, stdin), readOptions, replay, onProgress);
}

/** The report of one trace; a trace with nothing to replay is a `NO_EVENTS` error, never an `ok` report. */
export async function analyzeTrace(file: string, stdin: Readable, options: ReplayOptions, onProgress?: ProgressCallback, ingest?: IngestPlacement): Promise<Report> {
  const result = await replayFile(file, stdin, options, onProgress, ingest);
  requireEvents(file, result, options);
  return buildReport(file, result);
}
