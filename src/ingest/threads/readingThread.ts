/**
 * What the two reading threads (skimThread.ts, msgpackThread.ts) share on the replaying side:
 * the sample of a file their plans look at, and waiting for the worker's outcome.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { constants, gunzipSync } from 'node:zlib';
import { VmidReplayError } from '../../errors.js';

/** Below this size a second thread costs more to start (about 40 ms) than it saves: for either reading thread. */
export const defaultReadingThreadMinBytes = 32 << 20;

/**
 * The first `bytes` of `file` (inflated when it is gzip: as much as a cut stream gives), if it
 * is a regular file of at least `minBytes`: what a plan for a reading thread looks at.
 * Undefined for anything else, and on any error, which the in-thread reader then reports with
 * its usual message.
 */
export function readingThreadSample(file: string, minBytes: number, bytes: number): Buffer | undefined {
  try {
    const stat = statSync(file);
    if (!stat.isFile() || stat.size < minBytes) return undefined;
    const head = Buffer.alloc(bytes);
    const descriptor = openSync(file, 'r');
    let length: number;
    try {
      length = readSync(descriptor, head, 0, bytes, 0);
    } finally {
      closeSync(descriptor);
    }
    const start = head.subarray(0, length);
    return start[0] === 0x1f && start[1] === 0x8b ? gunzipSync(start, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, bytes) : start;
  } catch {
    return undefined;
  }
}

/** What a reading thread posts when it fails: the error to raise on the replaying side. */
export interface ReadingThreadError {
  readonly type: 'error';
  readonly code: VmidReplayError['code'];
  readonly message: string;
}

/**
 * The replaying side's wait for a reading thread's outcome. It settles once, terminating the
 * worker then: it resolves with what `take` returns for the message that ends the reading
 * (undefined: not the last, keep listening); it rejects with a worker's posted error, with
 * what `take` threw, or when the worker fails or exits without a last message.
 */
export function readingThreadOutcome<Message extends { readonly type: string }, Outcome>(
  worker: Worker,
  file: string,
  take: (message: Exclude<Message, ReadingThreadError>) => Outcome | undefined,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      worker.removeAllListeners('message');
      void worker.terminate().then(outcome, outcome);
    };
    worker.on('message', (message: Message | ReadingThreadError) => {
      if (message.type === 'error') {
        const failure = message as ReadingThreadError;
        settle(() => reject(new VmidReplayError(failure.code, failure.message)));
        return;
      }
      try {
        const outcome = take(message as Exclude<Message, ReadingThreadError>);
        if (outcome !== undefined) settle(() => resolve(outcome));
      } catch (error) {
        settle(() => reject(error instanceof Error ? error : new Error(String(error))));
      }
    });
    worker.on('error', (error) => settle(() => reject(new VmidReplayError('INTERNAL', `the thread reading ${file} failed: ${error.stack ?? error.message}`))));
    worker.on('exit', (code) => settle(() => reject(new VmidReplayError('INTERNAL', `the thread reading ${file} stopped with code ${code}`))));
  });
}
