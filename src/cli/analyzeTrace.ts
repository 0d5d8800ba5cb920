/**
 * One trace from file to report: replayed (src/replay/analyze.ts), then judged. A trace with
 * nothing to replay is a `NO_EVENTS` error, never an `ok` report. With `visuals`, the report
 * carries the timeline (HTML) and the Perfetto events are streamed (src/timeline/visualPasses.ts).
 */
import type { Readable } from 'node:stream';
import { buildReport, type Report } from '../report/report.js';
import { replayFile, type IngestPlacement, type ProgressCallback } from '../replay/analyze.js';
import { mergeableSource } from '../replay/read/perCpuRuns.js';
import { requireEvents } from '../replay/result/nothingToReplay.js';
import type { ReplayOptions } from '../replay/replayTypes.js';
import { VisualPasses, type VisualOutputs } from '../timeline/visualPasses.js';

export async function analyzeTrace(file: string, stdin: Readable, options: ReplayOptions, onProgress?: ProgressCallback, ingest?: IngestPlacement, visuals?: VisualOutputs): Promise<Report> {
  if (visuals === undefined) {
    const result = await replayFile(file, stdin, options, onProgress, ingest);
    requireEvents(file, result, options);
    return buildReport(file, result);
  }
  const passes = new VisualPasses(file, visuals, typeof (await mergeableSource(file, options)) !== 'string');
  const result = await replayFile(file, stdin, options, onProgress, ingest, passes.observers);
  requireEvents(file, result, options);
  const built = buildReport(file, result);
  const timeline = passes.timeline();
  const report = timeline === undefined ? built : { ...built, timeline };
  if (!passes.needsPerfettoPass) {
    passes.finish(report);
    return report;
  }
  // The same file replays the same way: this pass stands as the first did, and streams as it goes.
  const again = new VisualPasses(file, { timeline: false, ...(visuals.perfetto === undefined ? {} : { perfetto: visuals.perfetto }) }, false);
  await replayFile(file, stdin, options, undefined, ingest, again.observers);
  again.finish(report);
  return report;
}
