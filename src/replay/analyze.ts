/** Runs one trace through ingest and replay: the path every command and test uses. */
import type { Readable } from 'node:stream';
import { openTraceSource, readRecords } from '../ingest/readTrace.js';
import { buildReport, type Report } from '../report/report.js';
import { Replay, type ReplayOptions, type ReplayResult } from './replay.js';

/** Bytes read and records replayed so far, for a progress display. */
export type ProgressCallback = (bytes: number, records: number) => void;

async function* counting(source: AsyncIterable<Uint8Array>, count: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    count(chunk.length);
    yield chunk;
  }
}

export async function replayBytes(source: AsyncIterable<Uint8Array>, file: string, options: ReplayOptions, onProgress?: ProgressCallback): Promise<ReplayResult> {
  const replay = new Replay(options);
  let bytes = 0;
  let records = 0;
  const counted = onProgress === undefined ? source : counting(source, (size) => (bytes += size));
  const format = options.inputFormat === 'auto' ? undefined : options.inputFormat;
  for await (const batch of readRecords(counted, { file, csvMap: options.csvMap, format, wantEvent: replay.wantEvent })) {
    for (const record of batch) replay.push(record);
    records += batch.length;
    onProgress?.(bytes, records);
  }
  return replay.finish();
}

export async function analyzeTrace(file: string, stdin: Readable, options: ReplayOptions, onProgress?: ProgressCallback): Promise<Report> {
  const result = await replayBytes(openTraceSource(file, stdin), file, options, onProgress);
  return buildReport(file, result);
}
