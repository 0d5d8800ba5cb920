/**
 * Streams a trace from a file, stdin or any byte source into records, batch by batch (one
 * batch per input chunk), so memory is bounded by the chunk size and the longest line, never
 * by the file size: gunzip when the bytes say gzip, then hand them to the importer whose
 * `sniff` is surest of the first bytes.
 */

import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { VmidReplayError } from '../errors.js';
import { endSource } from './endSource.js';
import { decompressIfGzip, isGzipMagic } from './gzip.js';
import { ftraceImporter } from './ftrace/ftraceImporter.js';
import { csvImporter } from './csv/csvImporter.js';
import { traceCmdImporter } from './traceCmd/traceCmdImporter.js';
import { msgpackImporter } from './msgpack/msgpackReader.js';
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
  try {
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
  } catch (error) {
    await endSource(iterator);
    throw error;
  }
  const head = Buffer.concat(chunks);
  return {
    head,
    bytes: (async function* () {
      try {
        if (head.length > 0) yield head;
        if (done) return;
        for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
      } finally {
        await endSource(iterator);
      }
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
  const { importer, bytes } = await sniffTrace(source, options);
  yield* importer.records(bytes, options);
}

/** The importer for a (plain or gzip) byte stream, and its decompressed bytes from the start. */
export async function sniffTrace(source: AsyncIterable<Uint8Array>, options: ReadOptions): Promise<{ importer: Importer; bytes: AsyncIterable<Uint8Array> }> {
  const { head, bytes } = await peek(decompressIfGzip(source, options.file));
  return { importer: chooseImporter(head.toString('latin1'), options), bytes };
}

/** The importer for a regular file (plain or `gzip`), from its first bytes. */
export async function sniffFile(file: string, gzip: boolean, options: ReadOptions): Promise<Importer> {
  const chunks: Buffer[] = [];
  for await (const chunk of openTraceRange(file, gzip, 0, sniffBytes)) chunks.push(Buffer.from(chunk));
  return chooseImporter(Buffer.concat(chunks).toString('latin1'), options);
}

/** Every record in full (for conversion and tests): no filter, so no `unused-events` counts. */
export function recordsFromBytes(source: AsyncIterable<Uint8Array>, options: Omit<ReadOptions, 'wantEvent'>): AsyncGenerator<TraceRecord[]> {
  return readRecords(source, options) as AsyncGenerator<TraceRecord[]>;
}

/** The chunks of `source`, telling `count` the size of each as it passes (for progress). */
export async function* countingBytes(source: AsyncIterable<Uint8Array>, count: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    count(chunk.length);
    yield chunk;
  }
}

/** Opens a path (or `-` for the given stdin) as a byte stream, with a clear error when it cannot. */
export function openTraceSource(file: string, stdin: Readable): AsyncIterable<Uint8Array> {
  if (file === '-') return stdin;
  return readFileAhead(file, wholeFile);
}

/** Which bytes of a file to read, in reads of what size, how many under way at once. */
interface FileReads {
  readonly from: number;
  /** Where to stop (exclusive); Infinity: the end of the file. */
  readonly to: number;
  readonly readBytes: number;
  readonly readsAhead: number;
}

/**
 * 1 MiB reads: fewer trips to the thread pool than the 64 KiB default (importers cut them into
 * smaller record batches, lineRecords.ts says why), two under way: the next is already read
 * while a chunk is parsed.
 */
const wholeFile: FileReads = { from: 0, to: Infinity, readBytes: 1 << 20, readsAhead: 2 };

/**
 * One of several readers of a file under way at once (one per per-CPU run): small reads, so
 * memory stays small whatever the number of readers.
 */
const oneOfMany = { readBytes: 1 << 16, readsAhead: 1 };
/**
 * How far each of several gzip readers inflates ahead: zlib works on the thread pool, and with
 * a quarter of this a merge of four runs left the main thread idle a quarter of its time.
 */
const oneOfManyInflateAhead = 1 << 20;

/** Whether `file` is a regular file (it can be read again, from any position), and whether it is gzip. */
export async function rereadableFile(file: string): Promise<{ readonly gzip: boolean } | undefined> {
  if (file === '-') return undefined;
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return { gzip: bytesRead === 2 && isGzipMagic(magic) };
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * The decompressed bytes `[from, to)` of a regular file, plain or gzip. A plain file is read
 * from `from` on; a gzip stream can only be inflated from its start, so the bytes before `from`
 * are inflated and dropped.
 */
export function openTraceRange(file: string, gzip: boolean, from: number, to: number): AsyncIterable<Uint8Array> {
  if (!gzip) return readFileAhead(file, { from, to, ...oneOfMany });
  return sliceBytes(decompressIfGzip(readFileAhead(file, { from: 0, to: Infinity, ...oneOfMany }), file, oneOfManyInflateAhead), from, to);
}

/** The bytes `[from, to)` of a stream. */
async function* sliceBytes(source: AsyncIterable<Uint8Array>, from: number, to: number): AsyncGenerator<Uint8Array> {
  let at = 0;
  for await (const chunk of source) {
    const end = at + chunk.length;
    if (end > from) yield chunk.subarray(Math.max(0, from - at), Math.min(chunk.length, to - at));
    at = end;
    if (at >= to) return;
  }
}

function readError(error: unknown, file: string): VmidReplayError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new VmidReplayError('INPUT_NOT_FOUND', 'no such file', { file });
  if (code === 'EISDIR') return new VmidReplayError('INPUT_UNREADABLE', 'is a directory, expected a trace file', { file });
  return new VmidReplayError('INPUT_UNREADABLE', `cannot read (${code ?? (error as Error).message})`, { file });
}

/**
 * A regular file is read by position, `readsAhead` reads at a time, so the thread pool fills the
 * next chunk while this thread parses one (a stream keeps only one read under way, and the
 * parser would wait on it). Anything else (a FIFO, `/dev/fd/N` from a shell's process
 * substitution) cannot be read by position and is streamed.
 *
 * The reads go into a few buffers used over and over: a fresh 1 MiB buffer per read costs page
 * faults and allocator calls. So a chunk holds its bytes only
 * until the next one is asked for, as any byte source may (a stream may reuse its buffer too):
 * every importer copies what it keeps, and the ingest tests read every format through one
 * buffer overwritten for each chunk (`inReusedBuffer`).
 */
async function* readFileAhead(file: string, reads: FileReads): AsyncGenerator<Uint8Array> {
  const { readBytes, readsAhead, to } = reads;
  let handle: FileHandle;
  let regular: boolean;
  const reading: { position: number; length: number; buffer: Buffer; read: Promise<Buffer> }[] = [];
  /** Buffers no read and no chunk handed out uses any more. */
  const free: Buffer[] = [];
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw readError(error, file);
  }
  try {
    try {
      regular = (await handle.stat()).isFile();
    } catch (error) {
      throw readError(error, file);
    }
    if (!regular) {
      if (reads !== wholeFile) throw new VmidReplayError('INPUT_UNREADABLE', 'is not a regular file, so it cannot be read from a position', { file });
      try {
        for await (const chunk of handle.createReadStream({ highWaterMark: readBytes, autoClose: false })) yield chunk as Buffer;
      } catch (error) {
        throw readError(error, file);
      }
      return;
    }
    let next = reads.from;
    /** Starts reads from `next` on until `readsAhead` are under way. */
    const readAhead = (): void => {
      while (reading.length < readsAhead && next < to) {
        const buffer = free.pop() ?? Buffer.allocUnsafe(readBytes);
        const length = Math.min(readBytes, to - next);
        const read = handle.read(buffer, 0, length, next).then(({ bytesRead }) => buffer.subarray(0, bytesRead));
        // Awaited in turn below; until then a failed read must not count as unhandled.
        read.catch(() => undefined);
        reading.push({ position: next, length, buffer, read });
        next += length;
      }
    };
    readAhead();
    for (let head = reading.shift(); head !== undefined; head = reading.shift()) {
      let chunk: Buffer;
      try {
        chunk = await head.read;
      } catch (error) {
        throw readError(error, file);
      }
      if (chunk.length === 0) return;
      if (chunk.length < head.length) {
        // A short read before the end (the file changed under us): the reads after it started
        // at the wrong place, so read on from where this one stopped.
        await Promise.allSettled(reading.map((ahead) => ahead.read));
        reading.length = 0;
        next = head.position + chunk.length;
      }
      readAhead();
      yield chunk;
      // The next chunk is asked for: this one's buffer may be read into again.
      free.push(head.buffer);
    }
  } finally {
    await Promise.allSettled(reading.map((ahead) => ahead.read));
    await handle.close();
  }
}
