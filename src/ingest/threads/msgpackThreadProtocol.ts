/**
 * What the MessagePack reading thread (msgpackWorker.ts) and the replaying thread
 * (msgpackThread.ts) say to each other. Kept apart from the worker's entry module, whose top
 * level runs the worker.
 */
import type { ReadingThreadError } from './readingThread.js';

export interface MsgpackThreadRequest {
  readonly file: string;
  /** Bytes of blocks posted and not yet taken before the worker waits (inFlightBudget.ts). */
  readonly bytesAhead: number;
}

/**
 * From the replaying thread: a block of `bytes` was taken, its buffers handed back for the
 * next blocks; or events of this name and body flavor are refused.
 */
export type MsgpackThreadCommand =
  | { readonly type: 'credit'; readonly bytes: number; readonly buffers: readonly ArrayBuffer[] }
  | { readonly type: 'learn'; readonly name: string; readonly opensWithLocation: boolean };

/** The buffers of a block, to transfer. */
export function keptBlockBuffers(block: KeptBlock): ArrayBuffer[] {
  return [block.blob.buffer as ArrayBuffer, block.ends.buffer as ArrayBuffer, block.rows.buffer as ArrayBuffer];
}

/** One block's kept rows (msgpackRows.ts), with its string table and the events the worker refused. */
export interface KeptBlock {
  readonly type: 'block';
  /** The trace's source, as the file's header names it. */
  readonly file: string;
  readonly blob: Uint8Array;
  readonly ends: Float64Array;
  /** `rowFields` numbers per kept row. */
  readonly rows: Float64Array;
  /** Events refused by what the worker was taught: the first one's position and the counts by name. */
  readonly refused: { readonly first: { readonly line: number; readonly offset: number }; readonly counts: readonly (readonly [string, number])[] } | undefined;
  /** Bytes read from the file so far (compressed, for gzip), for progress. */
  readonly read: number;
}

export type MsgpackThreadMessage = KeptBlock | { readonly type: 'end' } | ReadingThreadError;

/** The key a name and body flavor are taught under. */
export function lessonKey(name: string, opensWithLocation: boolean): string {
  return `${opensWithLocation ? '(' : '-'}${name}`;
}
