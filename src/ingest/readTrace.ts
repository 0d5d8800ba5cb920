/**
 * Streams a trace from a file, stdin or any byte source into records, batch by batch (one
 * batch per input chunk), so memory is bounded by the chunk size and the longest line, never
 * by the file size. Gzip is recognised by its magic bytes, not by the file name.
 */

import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { VmidReplayError } from '../errors.js';
import { LineSplitter, defaultMaxLineBytes } from './lineSplitter.js';
import { parseFtraceLine } from './ftraceLine.js';
import type { TraceRecord } from './records.js';

export interface ReadOptions {
  /** Name used in spans and messages; `-` for stdin. */
  readonly file: string;
  readonly maxLineBytes?: number;
}

const gzipMagic0 = 0x1f;
const gzipMagic1 = 0x8b;

/** Yields the bytes of `source`, gunzipped when they start with the gzip magic. */
async function* decompressIfGzip(source: AsyncIterable<Uint8Array>, file: string): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
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
  if (head[0] === gzipMagic0 && head[1] === gzipMagic1) {
    const gunzip = createGunzip();
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
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (error) {
      // A read error of the source reaches here through gunzip.destroy(): keep its own code.
      if (error instanceof VmidReplayError) throw error;
      throw new VmidReplayError('INPUT_UNREADABLE', `gzip stream is corrupt or truncated (${(error as Error).message})`, { file });
    }
    await feed;
    return;
  }
  yield head;
  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
}

/** Parses any byte stream of ftrace text into batches of records. */
export async function* recordsFromBytes(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<TraceRecord[]> {
  const splitter = new LineSplitter(options.maxLineBytes ?? defaultMaxLineBytes);
  let batch: TraceRecord[] = [];
  const emit = (raw: { text: string; line: number; offset: number; truncated: boolean }) => {
    const span = { file: options.file, line: raw.line, offset: raw.offset };
    batch.push(
      raw.truncated
        ? { type: 'malformed', span, text: raw.text.slice(0, 200), expected: `a line of at most ${options.maxLineBytes ?? defaultMaxLineBytes} bytes` }
        : parseFtraceLine(raw.text, span),
    );
  };
  for await (const chunk of decompressIfGzip(source, options.file)) {
    splitter.push(chunk, emit);
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
  }
  splitter.end(emit);
  if (batch.length > 0) yield batch;
}

/** Opens a path (or `-` for the given stdin) as a byte stream, with a clear error when it cannot. */
export function openTraceSource(file: string, stdin: Readable): AsyncIterable<Uint8Array> {
  if (file === '-') return stdin;
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  return (async function* () {
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new VmidReplayError('INPUT_NOT_FOUND', 'no such file', { file });
      if (code === 'EISDIR') throw new VmidReplayError('INPUT_UNREADABLE', 'is a directory, expected a trace file', { file });
      throw new VmidReplayError('INPUT_UNREADABLE', `cannot read (${code ?? (error as Error).message})`, { file });
    }
  })();
}
