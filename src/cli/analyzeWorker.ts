/**
 * One trace analysed in a worker thread, so several traces given to `analyze` use several
 * cores. Receives the file and the (structured-cloneable) options, posts progress and then the
 * report, or the error the main thread re-raises.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Readable } from 'node:stream';
import { postableError, type ErrorCode } from '../errors.js';
import { analyzeTraceWithVisuals } from './analyzeTrace.js';
import type { ReplayOptions } from '../replay/replayTypes.js';

export interface WorkerRequest {
  readonly file: string;
  readonly options: ReplayOptions;
  /** Collect the timeline; stream Perfetto events as this pid (they come back as messages). */
  readonly visuals?: { readonly timeline: boolean; readonly perfettoPid?: number };
}

export type WorkerMessage =
  | { readonly type: 'progress'; readonly bytes: number; readonly records: number }
  | { readonly type: 'report'; readonly report: unknown; readonly timeline?: unknown }
  | { readonly type: 'perfetto'; readonly chunk: string }
  | { readonly type: 'error'; readonly code: ErrorCode; readonly message: string };

const port = parentPort;
if (port !== null) {
  const request = workerData as WorkerRequest;
  const post = (message: WorkerMessage) => port.postMessage(message);
  try {
    // Workers never read stdin: `-` is analysed on the main thread.
    const visuals = request.visuals;
    const perfettoPid = visuals?.perfettoPid;
    const { report, timeline } = await analyzeTraceWithVisuals(
      request.file,
      Readable.from([]),
      request.options,
      (bytes, records) => post({ type: 'progress', bytes, records }),
      undefined,
      visuals === undefined ? undefined : { timeline: visuals.timeline, ...(perfettoPid === undefined ? {} : { perfetto: { pid: perfettoPid, emit: (chunk: string) => post({ type: 'perfetto', chunk }) } }) },
    );
    post({ type: 'report', report, ...(timeline === undefined ? {} : { timeline }) });
  } catch (error) {
    post(postableError(error));
  }
}
