/** Runs one trace through ingest and replay: the path every command and test uses. */
import type { Readable } from 'node:stream';
import { openTraceSource, recordsFromBytes } from '../ingest/readTrace.js';
import { buildReport, type Report } from '../report/report.js';
import { Replay, type ReplayOptions, type ReplayResult } from './replay.js';

export async function replayBytes(source: AsyncIterable<Uint8Array>, file: string, options: ReplayOptions): Promise<ReplayResult> {
  const replay = new Replay(options);
  for await (const batch of recordsFromBytes(source, { file, csvMap: options.csvMap, format: options.inputFormat === 'auto' ? undefined : options.inputFormat })) {
    for (const record of batch) replay.push(record);
  }
  return replay.finish();
}

export async function analyzeTrace(file: string, stdin: Readable, options: ReplayOptions): Promise<Report> {
  const result = await replayBytes(openTraceSource(file, stdin), file, options);
  return buildReport(file, result);
}
