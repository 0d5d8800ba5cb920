/** Reading a trace into a replay: the readers, and the feed that hands their batches on. */
import type { Readable } from 'node:stream';
import { countingBytes, openTraceSource, readRecords, type ReadOptions } from '../../ingest/readTrace.js';
import type { ReadRecord } from '../../ingest/records.js';
import { readOnThread, type IngestPlacement } from './threads.js';
import type { Replay, ReplayOptions } from '../replay.js';

/** Bytes read and records replayed so far, for a progress display. */
export type ProgressCallback = (bytes: number, records: number) => void;

export type { IngestPlacement } from './threads.js';

export function readOptionsFor(file: string, options: ReplayOptions, replay: Replay): ReadOptions {
  const format = options.inputFormat === 'auto' ? undefined : options.inputFormat;
  return { file, csvMap: options.csvMap, format, wantEvent: replay.wantEvent };
}

/**
 * Hands batches of records to the replay and reports progress; the reader keeps `bytes` (read
 * so far) up to date. With `scanForRuns`, once the input shows per-CPU runs the replay is
 * left where it is and the rest only goes to the run detector: a second pass will merge the
 * runs, and the windowed replay of what follows would be thrown away (it was the slowest part:
 * a disordered replay diverges at every call).
 */
export class ReplayFeed {
  bytes = 0;
  records = 0;
  /** Whether the replay was left for the run detector (from the start: when samples of the file showed runs). */
  scanningForRuns = false;

  constructor(
    private readonly replay: Replay,
    readonly onProgress: ProgressCallback | undefined,
    private readonly scanForRuns = false,
  ) {}

  /**
   * Progress for another pass over the same input: it goes on from this pass's records, and its
   * bytes are this pass's in proportion to the records (several readers at once, or a second
   * read of the same bytes, make a byte count say little).
   */
  laterPass(): ProgressCallback | undefined {
    const onProgress = this.onProgress;
    if (onProgress === undefined) return undefined;
    const bytes = this.bytes;
    const records = Math.max(1, this.records);
    return (_, more) => onProgress(Math.round(bytes * Math.min(1, more / records)), records + more);
  }

  push(batch: readonly ReadRecord[]): void {
    const replay = this.replay;
    if (this.scanningForRuns) {
      replay.inputRuns.observe(batch, replay.wantEvent);
    } else {
      for (const record of batch) replay.push(record);
      if (this.scanForRuns && replay.inputRuns.perCpuRunsSoFar()) this.scanningForRuns = true;
    }
    this.records += batch.length;
    this.onProgress?.(this.bytes, this.records);
  }
}

export async function replayFrom(source: AsyncIterable<Uint8Array>, readOptions: ReadOptions, feed: ReplayFeed): Promise<void> {
  const counted = feed.onProgress === undefined ? source : countingBytes(source, (size) => (feed.bytes += size));
  for await (const batch of readRecords(counted, readOptions)) feed.push(batch);
}

/** Reads a trace file (or `-` for `stdin`) into `feed`, on a second thread when `placement` allows it (threads.ts). */
export async function readIntoReplay(file: string, stdin: Readable, readOptions: ReadOptions, feed: ReplayFeed, placement: IngestPlacement): Promise<void> {
  const consume = (batch: ReadRecord[]): void => feed.push(batch);
  const onRead = (read: number): void => {
    feed.bytes = read;
  };
  if (await readOnThread(file, readOptions, placement, consume, onRead)) return;
  await replayFrom(openTraceSource(file, stdin), readOptions, feed);
}
