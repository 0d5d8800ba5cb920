/**
 * What the skim thread (skimWorker.ts) and the replaying thread (skimThread.ts) say to each
 * other. Kept apart from the worker's entry module, whose top level runs the worker: importing
 * that from any other thread (an `analyze` worker among them) would start it there.
 */
import type { ReadingThreadError } from './readingThread.js';

/** The line formats a skim thread reads: ftrace text (with the WebAssembly skimmer) and `trace-cmd report` text. */
export type SkimFormat = 'ftrace' | 'trace-cmd';

export interface SkimRequest {
  readonly file: string;
  /** The format the plan found; the worker reads the file only if it finds the same. */
  readonly format: SkimFormat;
  /** The user named the format (`--input-format`): no sniffing. */
  readonly formatForced: boolean;
  readonly maxLineBytes: number;
  /**
   * Bytes of batches posted and not yet taken (their buffers' sizes): the worker waits beyond
   * this, so memory stays bounded. In bytes, not batches: a sparse trace's batch is a twentieth
   * of a dense one's, and a count that bounds the dense ones held the sparse worker back while
   * the replaying thread's code was still cold.
   */
  readonly bytesAhead: number;
  /** Names to skip from the first line on: what the replaying thread's parser refused in a sample of the file. */
  readonly lessons: readonly SkimLesson[];
}

/** Lines of this event name (ASCII bytes) with this body flavor (ftraceSkim.ts, for both formats) are refused by the replay. */
export interface SkimLesson {
  readonly name: Uint8Array;
  readonly flavor: number;
}

/**
 * Per line handed on, five numbers in `lines`: its number, its byte offset in the (decompressed)
 * input, where its bytes start and end in `bytes`, and 1 if it was cut at the line limit.
 */
export const numbersPerLine = 5;

/** The buffers of a batch, transferred with it. */
export function batchBuffers(batch: { readonly bytes: Uint8Array; readonly lines: Float64Array; readonly columns: Int32Array }): ArrayBuffer[] {
  return [batch.bytes.buffer as ArrayBuffer, batch.lines.buffer as ArrayBuffer, batch.columns.buffer as ArrayBuffer];
}

/** From the replaying thread: a batch of `bytes` (transferredBytes of its buffers) was taken, or lines of this name (ASCII bytes) and body flavor are skipped. */
export type SkimCommand = { readonly type: 'credit'; readonly bytes: number } | ({ readonly type: 'learn' } & SkimLesson);

export type SkimMessage =
  /** The input is not in the format planned: the replaying thread reads it itself. */
  | { readonly type: 'other-format' }
  | {
      readonly type: 'lines';
      readonly bytes: Uint8Array;
      readonly lines: Float64Array;
      /**
       * Per line, the columns the worker's skimmer found for it (`handedColumnCount` offsets
       * from the line's start, as FtraceColumns.load takes them), or -1 first for none.
       */
      readonly columns: Int32Array;
      /** Lines the skimmer skipped since the last batch, counted by name, from the first of them. */
      readonly skipped: { readonly line: number; readonly offset: number; readonly counts: readonly (readonly [string, number])[] } | undefined;
      /** Bytes read from the file so far (compressed, for gzip), for progress. */
      readonly read: number;
    }
  | { readonly type: 'end' }
  | ReadingThreadError;
