/**
 * The replaying side of a reading thread (skimThread.ts, msgpackThread.ts): waits for the
 * worker's outcome, settling once and terminating the worker then, on its last message, its
 * error, its failure or exit, or an error thrown while taking its data.
 */
import type { Worker } from 'node:worker_threads';
import { VmidReplayError } from '../errors.js';

/** What a reading thread posts when it fails: the error to raise on the replaying side. */
export interface ReadingThreadError {
  readonly type: 'error';
  readonly code: VmidReplayError['code'];
  readonly message: string;
}

/**
 * Resolves with what `take` returns for the message that ends the reading (undefined: not
 * the last, keep listening); rejects with a worker's posted error, with what `take` threw, or
 * when the worker fails or exits without a last message.
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
