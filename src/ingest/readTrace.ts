/**
 * Streams a trace from a file, stdin or any byte source into records, batch by batch (one
 * batch per input chunk), so memory is bounded by the chunk size and the longest line, never
 * by the file size: gunzip when the bytes say gzip, then hand them to the importer whose
 * `sniff` is surest of the first bytes.
 */

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { VmidReplayError } from '../errors.js';
import { decompressIfGzip } from './gzip.js';
import { ftraceImporter } from './ftraceImporter.js';
import { csvImporter } from './csvImporter.js';
import { traceCmdImporter } from './traceCmdImporter.js';
import { msgpackImporter } from './msgpackReader.js';
import type { Importer, ReadOptions } from './importer.js';
import type { ReadRecord, TraceRecord } from './records.js';

export type { ReadOptions } from './importer.js';

export const importers: readonly Importer[] = [ftraceImporter, traceCmdImporter, csvImporter, msgpackImporter];

/** Bytes the sniffers see: enough for a header block and a few event lines. */
const sniffBytes = 64 * 1024;

/** Reads up to `sniffBytes` from the stream and returns them with the stream re-assembled. */
async function peek(source: AsyncIterable<Uint8Array>): Promise<{ head: Buffer; bytes: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < sniffBytes) {
    const next = await iterator.next();
    if (next.done === true) {
      done = true;
      break;
    }
    // Copied: a source may reuse its buffer for the next chunk.
    const chunk = Buffer.from(next.value);
    chunks.push(chunk);
    size += chunk.length;
  }
  const head = Buffer.concat(chunks);
  return {
    head,
    bytes: (async function* () {
      if (head.length > 0) yield head;
      if (done) return;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
    })(),
  };
}

export function chooseImporter(head: string, options: ReadOptions): Importer {
  if (options.format !== undefined) {
    const forced = importers.find((importer) => importer.format === options.format);
    if (forced === undefined) throw new VmidReplayError('USAGE', `no importer for format ${options.format}`, { file: options.file });
    return forced;
  }
  let best = ftraceImporter;
  let bestScore = -1;
  for (const importer of importers) {
    const score = importer.sniff(head, options.file);
    if (score > bestScore) {
      best = importer;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Parses any byte stream (plain or gzip, any supported format) into batches of records; event
 * lines refused by `options.wantEvent` may come only as `unused-events` counts.
 */
export async function* readRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<ReadRecord[]> {
  const { head, bytes } = await peek(decompressIfGzip(source, options.file));
  const importer = chooseImporter(head.toString('latin1'), options);
  yield* importer.records(bytes, options);
}

/** Every record in full (for conversion and tests): no filter, so no `unused-events` counts. */
export function recordsFromBytes(source: AsyncIterable<Uint8Array>, options: Omit<ReadOptions, 'wantEvent'>): AsyncGenerator<TraceRecord[]> {
  return readRecords(source, options) as AsyncGenerator<TraceRecord[]>;
}

/** Opens a path (or `-` for the given stdin) as a byte stream, with a clear error when it cannot. */
export function openTraceSource(file: string, stdin: Readable): AsyncIterable<Uint8Array> {
  if (file === '-') return stdin;
  // 1 MiB reads: fewer trips to the thread pool than the 64 KiB default. Importers cut them
  // into smaller record batches (lineRecords.ts says why).
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
