/**
 * Several traces analysed at once, each in a worker thread (analyzeWorker.ts), so `analyze`
 * with several traces uses several cores.
 */
import { Worker } from 'node:worker_threads';
import { VmidReplayError } from '../errors.js';
import type { ReplayOptions } from '../replay/replayTypes.js';
import type { Report } from '../report/report.js';
import type { WorkerMessage } from './analyzeWorker.js';

/**
 * Beside this module, in the compiled tree and in the bundle alike (scripts/bundle.ts): the
 * bundle puts every entry in one folder, so a worker's URL holds only if the module that
 * starts it sits beside the worker's entry here too.
 */
const workerUrl = new URL('./analyzeWorker.js', import.meta.url);

/** Runs one trace in a worker thread; progress comes back as messages. */
function analyzeInWorker(file: string, options: ReplayOptions, onProgress: (bytes: number, records: number) => void): Promise<Report> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: { file, options } });
    let settled = false;
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress(message.bytes, message.records);
      else if (message.type === 'report') {
        settled = true;
        resolve(message.report as Report);
      } else {
        settled = true;
        reject(new VmidReplayError(message.code, message.message));
      }
    });
    worker.on('error', (error) => {
      if (!settled) reject(error);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new VmidReplayError('INTERNAL', `the worker analysing ${file} stopped with code ${code}`));
    });
  });
}

/** Reports in argument order, at most `jobs` traces at once in worker threads. */
export async function analyzeInParallel(traces: readonly string[], options: ReplayOptions, jobs: number, onProgress: (index: number, bytes: number, records: number) => void): Promise<Report[]> {
  const reports = new Array<Report>(traces.length);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < traces.length; index = next++) {
      reports[index] = await analyzeInWorker(traces[index] as string, options, (bytes, records) => onProgress(index, bytes, records));
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, traces.length) }, lane));
  return reports;
}
