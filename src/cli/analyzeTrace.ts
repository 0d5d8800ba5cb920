/**
 * One trace from file to report: replayed (src/replay/analyze.ts), then judged. A trace with
 * nothing to replay is a `NO_EVENTS` error, never an `ok` report.
 */
import type { Readable } from 'node:stream';
import { buildReport, type Report } from '../report/report.js';
import { replayFile, type IngestPlacement, type ProgressCallback } from '../replay/analyze.js';
import { requireEvents } from '../replay/result/nothingToReplay.js';
import type { ReplayOptions } from '../replay/replayTypes.js';

export async function analyzeTrace(file: string, stdin: Readable, options: ReplayOptions, onProgress?: ProgressCallback, ingest?: IngestPlacement): Promise<Report> {
  const result = await replayFile(file, stdin, options, onProgress, ingest);
  requireEvents(file, result, options);
  return buildReport(file, result);
}
