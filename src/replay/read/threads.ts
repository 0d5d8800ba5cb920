/**
 * Where the reading goes: every choice of a thread is made here. Several traces in one call
 * run in worker threads, one per core (each trace's replay is single-threaded); one trace
 * alone may have its large file read on a second thread while the replay runs on the first:
 * a sparse ftrace or trace-cmd file skimmed there, a MessagePack file checked and filtered
 * there. A trace read by a worker never gets a reading thread of its own: the cores are taken.
 */
import type { ReadOptions } from '../../ingest/readTrace.js';
import type { ReadRecord } from '../../ingest/records.js';
import { msgpackThreadPlan, readMsgpackWithThread } from '../../ingest/threads/msgpackThread.js';
import { defaultReadingThreadMinBytes } from '../../ingest/threads/readingThread.js';
import { readWithSkimThread, skimThreadPlan } from '../../ingest/threads/skimThread.js';

/** Whether a large file may be read on a second thread, and from what size (tests lower it). */
export interface IngestPlacement {
  readonly readingThread: boolean;
  readonly minBytes?: number;
}

export interface ThreadPlan {
  /** Traces analysed at once, each in a worker thread; 1: one after another on this thread. */
  readonly workers: number;
  /** For traces analysed on this thread. */
  readonly placement: IngestPlacement;
}

/** `traces` to analyse with `cores` cores (`--jobs`, else the machine's). */
export function planThreads(traces: readonly string[], cores: number): ThreadPlan {
  const workers = traces.length > 1 && !traces.includes('-') && cores > 1 ? cores : 1;
  return { workers, placement: { readingThread: workers === 1 && cores > 1 } };
}

/**
 * Reads `file` on a second thread when `placement` allows it and the file is worth it, handing
 * each batch of records to `consume` and the bytes read so far to `onRead`; false when it is
 * to be read on this thread after all.
 */
export async function readOnThread(file: string, readOptions: ReadOptions, placement: IngestPlacement, consume: (batch: ReadRecord[]) => void, onRead: (bytes: number) => void): Promise<boolean> {
  if (!placement.readingThread) return false;
  const minBytes = placement.minBytes ?? defaultReadingThreadMinBytes;
  if (msgpackThreadPlan(file, readOptions, minBytes)) {
    await readMsgpackWithThread(file, readOptions, consume, onRead);
    return true;
  }
  const plan = skimThreadPlan(file, readOptions, minBytes);
  return plan !== undefined && (await readWithSkimThread(file, readOptions, plan, consume, onRead)) === 'done';
}
