/** Gzip is recognised by its magic bytes, not by the file name, and inflated as a stream. */
import { createGunzip, type ZlibOptions } from 'node:zlib';
import type { TransformOptions } from 'node:stream';
import { VmidReplayError } from '../errors.js';
import { endSource } from './endSource.js';

const gzipMagic0 = 0x1f;
const gzipMagic1 = 0x8b;

export function isGzipMagic(head: Uint8Array): boolean {
  return head[0] === gzipMagic0 && head[1] === gzipMagic1;
}

/**
 * Up to 4 MiB inflated ahead of the reader: zlib works on the thread pool, so it overlaps with
 * parsing only when it may run that far ahead.
 */
const defaultInflateAheadBytes = 1 << 22;

/**
 * Yields the bytes of `source`, gunzipped when they start with the gzip magic, with up to
 * `inflateAheadBytes` inflated before they are asked for (less when many streams are inflated at once).
 */
export async function* decompressIfGzip(source: AsyncIterable<Uint8Array>, file: string, inflateAheadBytes = defaultInflateAheadBytes): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    yield* inflateIfGzip(iterator, file, inflateAheadBytes);
  } finally {
    await endSource(iterator);
  }
}

async function* inflateIfGzip(iterator: AsyncIterator<Uint8Array>, file: string, inflateAheadBytes: number): AsyncGenerator<Uint8Array> {
  // The two magic bytes may arrive in separate chunks (a pipe or socket can deliver one byte,
  // or an empty chunk, first): gather at least two bytes before deciding.
  let head: Uint8Array = new Uint8Array(0);
  while (head.length < 2) {
    const next = await iterator.next();
    if (next.done === true) {
      if (head.length > 0) yield head;
      return;
    }
    // A short head is kept across the next read, so it is copied: the source may reuse its buffer.
    head = head.length === 0 && next.value.length >= 2 ? next.value : Buffer.concat([head, next.value]);
  }
  if (isGzipMagic(head)) {
    const options: ZlibOptions & TransformOptions = { chunkSize: 1 << 16, readableHighWaterMark: inflateAheadBytes };
    const gunzip = createGunzip(options);
    const feed = (async () => {
      // zlib reads a written chunk later, on its own thread, while this loop already pulls the
      // next one: copy, so a source that reuses its buffer cannot change bytes not yet inflated.
      gunzip.write(Buffer.from(head));
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
        if (!gunzip.write(Buffer.from(next.value))) await new Promise((resolve) => gunzip.once('drain', resolve));
      }
      gunzip.end();
    })();
    feed.catch((error: unknown) => gunzip.destroy(error instanceof Error ? error : new Error(String(error))));
    // Where the damage shows, in the decompressed bytes, so that the lines read so far can be found.
    let inflated = 0;
    try {
      for await (const chunk of gunzip) {
        inflated += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    } catch (error) {
      // A read error of the source reaches here through gunzip.destroy(): keep its own code.
      if (error instanceof VmidReplayError) throw error;
      // Counted in what zlib inflated, not in what was taken: inflated bytes still buffered when
      // it failed are dropped with the stream, and how many depends on how far it ran ahead.
      const at = inflated + gunzip.readableLength;
      throw new VmidReplayError('INPUT_CORRUPT', `gzip stream is corrupt or truncated after byte ${at} of the decompressed input (${(error as Error).message})`, { file });
    }
    await feed;
    return;
  }
  yield head;
  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
}
