/** Byte sources cut into chunks, and the real captures, for the ingest tests. */
import { resolve } from 'node:path';
import { recordsFromBytes, type ReadOptions } from '../../src/ingest/readTrace.js';
import type { TraceRecord } from '../../src/ingest/records.js';

/** ../shared/captures, as ../shared/oracle is found by the oracle test. */
export const capturesRoot = resolve(process.cwd(), '..', 'shared', 'captures');

/**
 * Yields `bytes` in chunks whose sizes cycle through `sizes` (a size of 0 yields an empty chunk).
 * Each chunk is a fresh copy, so no test depends on the source keeping its buffer intact.
 */
export async function* inChunks(bytes: Uint8Array, sizes: number | readonly number[]): AsyncGenerator<Uint8Array> {
  const cycle = typeof sizes === 'number' ? [sizes] : sizes;
  if (cycle.length === 0 || cycle.every((size) => size <= 0)) throw new Error('inChunks needs a positive chunk size');
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    // Each chunk arrives on a later turn of the event loop's microtask queue, as from a stream.
    await Promise.resolve();
    const size = cycle[i % cycle.length] as number;
    // A plain Uint8Array, not a Buffer: sources such as web streams yield those.
    yield new Uint8Array(bytes.subarray(at, at + Math.max(size, 0)));
    at += Math.max(size, 0);
  }
}

/** Yields `bytes` in chunks of `size` through one buffer that is overwritten for every chunk. */
export async function* inReusedBuffer(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  const scratch = Buffer.alloc(size);
  for (let at = 0; at < bytes.length; at += size) {
    await Promise.resolve();
    const part = bytes.subarray(at, at + size);
    scratch.fill(0x23);
    scratch.set(part);
    yield scratch.subarray(0, part.length);
  }
}

/** All records of a source, flattened across batches. */
export async function readAllRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): Promise<TraceRecord[]> {
  const out: TraceRecord[] = [];
  for await (const batch of recordsFromBytes(source, options)) {
    if (batch.length === 0) throw new Error('recordsFromBytes yielded an empty batch');
    out.push(...batch);
  }
  return out;
}
