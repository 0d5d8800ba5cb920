/**
 * One trace from file to report: replayed (src/replay/analyze.ts), then judged. A trace with
 * nothing to replay is a `NO_EVENTS` error, never an `ok` report. With `visuals`, the replay
 * also collects the timeline (HTML) and streams the Perfetto events (src/timeline/visualPasses.ts).
 */
import type { Readable } from 'node:stream';
import { buildReport, type Report } from '../report/report.js';
import { replayFile, type IngestPlacement, type ProgressCallback } from '../replay/analyze.js';
import { mergeableSource } from '../replay/read/perCpuRuns.js';
import { requireEvents } from '../replay/result/nothingToReplay.js';
import type { ReplayOptions } from '../replay/replayTypes.js';
import type { Timeline } from '../timeline/types.js';
import { VisualPasses, type VisualOutputs } from '../timeline/visualPasses.js';

export async function analyzeTrace(file: string, stdin: Readable, options: ReplayOptions, onProgress?: ProgressCallback, ingest?: IngestPlacement): Promise<Report> {
  const result = await replayFile(file, stdin, options, onProgress, ingest);
  requireEvents(file, result, options);
  return buildReport(file, result);
}

/** A report, and the timeline when one was asked for. */
export interface AnalyzedTrace {
  readonly report: Report;
  readonly timeline?: Timeline;
}

export async function analyzeTraceWithVisuals(file: string, stdin: Readable, options: ReplayOptions, onProgress: ProgressCallback | undefined, ingest: IngestPlacement | undefined, visuals: VisualOutputs | undefined): Promise<AnalyzedTrace> {
  if (visuals === undefined) return { report: await analyzeTrace(file, stdin, options, onProgress, ingest) };
  const passes = new VisualPasses(file, visuals, typeof (await mergeableSource(file, options)) !== 'string');
  const result = await replayFile(file, stdin, options, onProgress, ingest, passes.observers);
  requireEvents(file, result, options);
  const report = buildReport(file, result);
  const timeline = passes.timeline();
  const analyzed = timeline === undefined ? { report } : { report, timeline };
  if (!passes.needsPerfettoPass) {
    passes.finish(report);
    return analyzed;
  }
  // The same file replays the same way: this pass stands as the first did, and streams as it goes.
  const again = new VisualPasses(file, { timeline: false, ...(visuals.perfetto === undefined ? {} : { perfetto: visuals.perfetto }) }, false);
  await replayFile(file, stdin, options, undefined, ingest, again.observers);
  again.finish(report);
  return analyzed;
}
