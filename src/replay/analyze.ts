/** Runs one trace through ingest and replay: the path every command and test uses. */
import type { Readable } from 'node:stream';
import { ReplayFeed, readIntoReplay, readOptionsFor, replayFrom, type IngestPlacement, type ProgressCallback } from './read/feed.js';
import { samplesGoBack } from '../ingest/runs/sample.js';
import { mergeableSource, noteUnmergedRuns, replayMergedRuns } from './read/perCpuRuns.js';
import { defaultReorderWindowUs } from './reorder/reorderBuffer.js';
import { Replay, type ReplayOptions, type ReplayResult } from './replay.js';
import type { StepObserver } from '../steps/step.js';

export type { IngestPlacement, ProgressCallback } from './read/feed.js';

/** Replays a byte stream in one pass: per-CPU runs it holds are not merged (a stream is read once). */
export async function replayBytes(source: AsyncIterable<Uint8Array>, file: string, options: ReplayOptions, onProgress?: ProgressCallback): Promise<ReplayResult> {
  const replay = new Replay(options);
  await replayFrom(source, readOptionsFor(file, options, replay), new ReplayFeed(replay, onProgress));
  const result = replay.finish();
  noteUnmergedRuns(result, file, replay.inputRuns.verdict(), 'stream');
  return result;
}

/**
 * Replays a trace file (or `-` for `stdin`), with a reading thread for a large file when `ingest`
 * allows it. A file of per-CPU runs (perCpuRuns.ts) is read a second time, its runs merged by
 * timestamp; a sorted file is read once. `observePass` makes step observers for each replay
 * (a timeline, a Perfetto stream): the first pass may be thrown away, and the observers made
 * last are those of the result.
 */
export async function replayFile(
  file: string,
  stdin: Readable,
  options: ReplayOptions,
  onProgress?: ProgressCallback,
  ingest: IngestPlacement = { readingThread: false },
  observePass?: () => readonly StepObserver[],
): Promise<ReplayResult> {
  const forPass = (): ReplayOptions => (observePass === undefined ? options : { ...options, stepObservers: [...(options.stepObservers ?? []), ...observePass()] });
  const source = await mergeableSource(file, options);
  const replay = new Replay(forPass());
  const feed = new ReplayFeed(replay, onProgress, typeof source !== 'string');
  const readOptions = readOptionsFor(file, options, replay);
  if (typeof source !== 'string' && !source.gzip) feed.scanningForRuns = await samplesGoBack(file, source.importer, readOptions, options.reorderWindowUs ?? defaultReorderWindowUs);
  await readIntoReplay(file, stdin, readOptions, feed, ingest);
  if (!feed.scanningForRuns || typeof source === 'string') {
    const result = replay.finish();
    noteUnmergedRuns(result, file, replay.inputRuns.verdict(), source);
    return result;
  }
  const runs = replay.inputRuns.verdict();
  if (runs.kind === 'per-cpu-runs') return replayMergedRuns(file, source, runs.runs, forPass(), feed);
  // A CPU went back in time after the runs began (or the samples misled): not per-CPU files
  // after all. The replay was left where the runs began, so the file is replayed again, windowed.
  const windowed = new Replay(forPass());
  await readIntoReplay(file, stdin, readOptionsFor(file, options, windowed), new ReplayFeed(windowed, feed.laterPass()), ingest);
  const result = windowed.finish();
  noteUnmergedRuns(result, file, windowed.inputRuns.verdict(), source);
  return result;
}
