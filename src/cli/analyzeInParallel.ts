/**
 * Several traces analysed at once, each in a worker thread (analyzeWorker.ts), so `analyze`
 * with several traces uses several cores.
 */
import { Worker } from 'node:worker_threads';
import { describeError, VmidReplayError } from '../errors.js';
import type { ReplayOptions } from '../replay/replayTypes.js';
import type { Report } from '../report/report.js';
import type { TraceOutcome } from '../report/summary.js';
import type { WorkerMessage, WorkerRequest } from './analyzeWorker.js';
import type { Timeline } from '../timeline/types.js';
import type { VisualOutputs } from '../timeline/visualPasses.js';

/**
 * Beside this module, in the compiled tree and in the bundle alike (scripts/bundle.ts): the
 * bundle puts every entry in one folder, so a worker's URL holds only if the module that
 * starts it sits beside the worker's entry here too.
 */
const workerUrl = new URL('./analyzeWorker.js', import.meta.url);

/**
 * Runs one trace in a worker thread; progress comes back as messages. Never rejects: a trace
 * that fails (its own error, or a worker that dies) has an error outcome, and the others go on.
 */
function analyzeInWorker(file: string, options: ReplayOptions, onProgress: (bytes: number, records: number) => void, visuals: VisualOutputs | undefined): Promise<TraceOutcome> {
  return new Promise((resolve) => {
    const request: WorkerRequest = { file, options, ...(visuals === undefined ? {} : { visuals: { timeline: visuals.timeline, ...(visuals.perfetto === undefined ? {} : { perfettoPid: visuals.perfetto.pid }) } }) };
    const worker = new Worker(workerUrl, { workerData: request });
    let settled = false;
    const settle = (outcome: TraceOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const failed = (error: VmidReplayError) => settle({ file, error: describeError(error) });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress(message.bytes, message.records);
      else if (message.type === 'perfetto') visuals?.perfetto?.emit(message.chunk);
      else if (message.type === 'report') settle({ file, report: message.report as Report, ...(message.timeline === undefined ? {} : { timeline: message.timeline as Timeline }) });
      else failed(new VmidReplayError(message.code, message.message));
    });
    worker.on('error', (error) => failed(new VmidReplayError('INTERNAL', `the worker analysing ${file} failed: ${error.stack ?? error.message}`)));
    worker.on('exit', (code) => failed(new VmidReplayError('INTERNAL', `the worker analysing ${file} stopped with code ${code}`)));
  });
}

/** Outcomes in argument order, at most `jobs` traces at once in worker threads. */
export async function analyzeInParallel(
  traces: readonly string[],
  options: ReplayOptions,
  jobs: number,
  onProgress: (index: number, bytes: number, records: number) => void,
  visualsFor: (index: number) => VisualOutputs | undefined = () => undefined,
): Promise<TraceOutcome[]> {
  const outcomes = new Array<TraceOutcome>(traces.length);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < traces.length; index = next++) {
      outcomes[index] = await analyzeInWorker(traces[index] as string, options, (bytes, records) => onProgress(index, bytes, records), visualsFor(index));
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, traces.length) }, lane));
  return outcomes;
}
