/**
 * Reads the MessagePack trace form (docs/msgpack-format.md) back into the records it was written
 * from, frame by frame: memory is bounded by one frame (one block), never by the file. Every
 * frame is length-prefixed and CRC-checked, and every column is checked before a record is
 * built, so a truncated or corrupted file ends in a VmidReplayError naming the file and the
 * byte offset of the bad frame, never in an exception from the decoder or a made-up record.
 */

import { crc32 } from 'node:zlib';
import type { Decoder } from '@msgpack/msgpack';
import { VmidReplayError } from '../../errors.js';
import { endSource } from '../endSource.js';
import type { Importer, ReadOptions } from '../importer.js';
import { ColumnPool, columnsV1, columnsV2, FrameChecker, isDoc, textField, type BlockColumns, type BlockStrings, type Doc } from './msgpackColumns.js';
import { frameHeaderBytes, maxFrameBytes, msgpackFormatName, msgpackMagic, readableFormatVersions } from './msgpackFormat.js';
import { KeptRows, keepRows, recordsOfRows, type RowRefusal } from './msgpackRows.js';
import type { ReadRecord } from '../records.js';

/**
 * Chunks received but not yet taken, with the stream offset of the first unread byte. A chunk
 * is kept as it came, not copied: the frames it holds are read before the source is asked for
 * another, and only what is left of it then (part of a frame) is copied, by `own`, since the
 * source may reuse its buffer for the next chunk (a file is read into reused buffers).
 */
class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes already taken from the stream. */
  consumed = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.size += chunk.length;
  }

  /** Copies the bytes not yet taken out of the source's buffers: called before the source is asked for more. */
  own(): void {
    if (this.size === 0) {
      this.chunks = [];
      return;
    }
    this.chunks = [Buffer.concat(this.chunks, this.size)];
  }

  get available(): number {
    return this.size;
  }

  /** Takes `count` bytes (the caller checked they are available). */
  take(count: number): Buffer {
    if (count === 0) return Buffer.alloc(0);
    const head = this.front(count);
    const out = head.subarray(0, count);
    if (head.length === count) this.chunks.shift();
    else this.chunks[0] = head.subarray(count);
    this.size -= count;
    this.consumed += count;
    return out;
  }

  /** The next `count` bytes (fewer if fewer are queued) without taking them. */
  peek(count: number): Buffer {
    return this.front(Math.min(count, this.size)).subarray(0, count);
  }

  /**
   * The first chunk, made to hold at least `count` bytes by joining only the chunks those
   * bytes span: a frame is copied at most once, the rest of the read never.
   */
  private front(count: number): Buffer {
    const first = this.chunks[0];
    if (first === undefined || count === 0) return Buffer.alloc(0);
    if (first.length >= count) return first;
    // Only the bytes asked for are joined: the rest of the last chunk they reach stays where it is.
    const joined = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length, count - filled);
      chunk.copy(joined, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    this.chunks.unshift(joined);
    return joined;
  }
}

/**
 * Records per batch handed on: a block's 4096 records and their strings, alive together until
 * the replay took them all, would outlive V8's young generation and be promoted.
 */
const batchRecordCount = 512;

/** A frame's payload as a map, or the positioned error. */
function decodeFrame(decoder: Decoder, payload: Uint8Array, fail: (message: string) => never): Doc {
  let doc: unknown;
  try {
    doc = decoder.decode(payload);
  } catch (error) {
    fail(`the frame is not valid MessagePack (${(error as Error).message})`);
  }
  if (!isDoc(doc)) fail('expected the frame to hold a map');
  return doc;
}

/**
 * One block of a MessagePack trace, its columns checked: valid until the next block is asked
 * for (the columns are in reused buffers). `file` is the trace's source as its header names
 * it; `fail` throws the error positioned at the block's frame.
 */
export interface CheckedBlock {
  readonly columns: BlockColumns;
  readonly file: string;
  readonly fail: (message: string) => never;
}

/** The blocks of a (decompressed) MessagePack trace, its header and end frame checked too. */
export async function* msgpackBlocks(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<CheckedBlock> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    yield* framedBlocks(iterator, options);
  } finally {
    await endSource(iterator);
  }
}

async function* framedBlocks(iterator: AsyncIterator<Uint8Array>, options: ReadOptions): AsyncGenerator<CheckedBlock> {
  const queue = new ByteQueue();
  // Strings stay raw UTF-8 until a record needs them (BlockStrings): most of a sparse trace's never do.
  // Loaded on first use (about 8 ms of start-up that a text trace does not need).
  const { Decoder } = await import('@msgpack/msgpack');
  const decoder = new Decoder({ rawStrings: true });
  let ended = false;
  /** Waits until `count` bytes are queued; false when the input ends first. */
  const fill = async (count: number): Promise<boolean> => {
    while (queue.available < count && !ended) {
      queue.own();
      const next = await iterator.next();
      if (next.done === true) ended = true;
      else queue.push(next.value);
    }
    return queue.available >= count;
  };
  const failAt = (at: number, message: string, where = ''): never => {
    throw new VmidReplayError('INPUT_CORRUPT', `MessagePack trace: at byte ${at}: ${message}${where}`, { file: options.file });
  };

  if (!(await fill(msgpackMagic.length)) || !queue.peek(msgpackMagic.length).equals(msgpackMagic)) {
    failAt(0, `expected the magic bytes ${msgpackMagic.toString('hex')} of a vmid-replay MessagePack trace (docs/msgpack-format.md), found ${queue.peek(msgpackMagic.length).toString('hex') || 'the end of the input'}`);
  }
  queue.take(msgpackMagic.length);

  let file = options.file;
  const pool = new ColumnPool();
  let version = 0;
  let frames = 0;
  let records = 0;
  for (;;) {
    const at = queue.consumed;
    // Frames after the header are numbered from 1: block K is frame K, the end frame follows the last block.
    const frameAt = frames === 0 ? '' : ` (frame ${frames})`;
    if (!(await fill(frameHeaderBytes))) {
      if (queue.available === 0) failAt(at, `the file ends after ${frames} frames without the end frame: it is truncated`);
      failAt(at, `the file ends inside a frame header (${queue.available} of ${frameHeaderBytes} bytes): it is truncated`, frameAt);
    }
    const head = queue.take(frameHeaderBytes);
    const length = head.readUInt32BE(0);
    const expectedCrc = head.readUInt32BE(4);
    if (length > maxFrameBytes) failAt(at, `expected a frame of at most ${maxFrameBytes} bytes, found a length of ${length}: the file is corrupt`, frameAt);
    if (!(await fill(length))) failAt(at, `the frame claims ${length} bytes but the file ends after ${queue.available}: it is truncated`, frameAt);
    const payload = queue.take(length);
    if (crc32(payload) !== expectedCrc) failAt(at, `the frame's CRC-32 does not match its ${length} bytes: the file is corrupt`, frameAt);
    const doc = decodeFrame(decoder, payload, (message) => failAt(at, `${message}: the file is corrupt`, frameAt));
    const kind = textField(doc, 'k');
    const fail = (message: string): never => failAt(at, `${message}: the file is corrupt`, kind === 'block' ? ` (block ${frames})` : frameAt);
    const check = new FrameChecker(fail, pool);
    if (frames === 0) {
      if (kind !== 'header' || textField(doc, 'format') !== msgpackFormatName) fail(`expected the header frame of a ${msgpackFormatName} file`);
      const written = doc['version'];
      if (typeof written !== 'number' || !readableFormatVersions.includes(written)) {
        return failAt(at, `expected format version ${readableFormatVersions.slice(0, -1).join(', ')} or ${readableFormatVersions.at(-1)}, found ${JSON.stringify(written)}: written by another vmid-replay version`);
      }
      version = written;
      file = textField(doc, 'source') ?? fail('expected the header to name the source');
    } else if (kind === 'block') {
      const columns = version === 1 ? columnsV1(doc, check, fail) : columnsV2(doc, check, fail, version);
      yield { columns, file, fail };
      records += columns.n;
      frames += 1;
      continue;
    } else if (kind === 'end') {
      const total = check.int(doc, 'records', 0);
      const blocks = check.int(doc, 'blocks', 0);
      if (total !== records || blocks !== frames - 1) fail(`the end frame counts ${total} records in ${blocks} blocks, the file held ${records} in ${frames - 1}`);
      if ((await fill(1)) || queue.available > 0) failAt(queue.consumed, 'expected the end of the file after the end frame, found more bytes: the file is corrupt');
      return;
    } else {
      fail(`expected a block or the end frame, found ${JSON.stringify(kind)}`);
    }
    frames += 1;
  }
}

/**
 * The records of a block's `count` kept rows (msgpackRows.ts), in batches of at most
 * `batchRecordCount`, then what `unused` gives (the refused events' counts, known once every row went through `refuse`).
 */
export function* recordBatches(rows: Float64Array, count: number, strings: BlockStrings, file: string, unused: () => ReadRecord | undefined, refuse?: RowRefusal): Generator<ReadRecord[], void> {
  for (let from = 0; from < count; from += batchRecordCount) {
    const records: ReadRecord[] = [];
    const to = Math.min(count, from + batchRecordCount);
    recordsOfRows(rows, from, to, strings, file, records, refuse);
    if (to === count) {
      const counted = unused();
      if (counted !== undefined) records.push(counted);
    }
    if (records.length > 0) yield records;
  }
  if (count === 0) {
    const counted = unused();
    if (counted !== undefined) yield [counted];
  }
}

/** Refused events as one `unused-events` record, if there were any. */
export function unusedRecord(file: string, first: { line: number; offset: number } | undefined, counts: readonly (readonly [string, number])[]): ReadRecord | undefined {
  return first === undefined ? undefined : { type: 'unused-events', span: { file, line: first.line, offset: first.offset }, countsByName: new Map(counts) };
}

/** Reads a (decompressed) MessagePack trace into batches of records. */
async function* msgpackRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<ReadRecord[]> {
  const kept = new KeptRows();
  for await (const { columns, file, fail } of msgpackBlocks(source, options)) {
    const refused = keepRows(columns, fail, options.wantEvent, kept);
    yield* recordBatches(kept.values, kept.count, columns.strings, file, () => unusedRecord(file, refused.first, refused.counts(columns.strings)));
  }
}

const magicText = msgpackMagic.toString('latin1');

/**
 * A MessagePack trace is known by its magic bytes, whatever the file is called. Input shorter
 * than the magic that starts like it is a MessagePack trace cut inside its magic: the reader
 * then says so, rather than the text importers reading one malformed line.
 */
function sniffMsgpack(head: string): number {
  if (head.startsWith(magicText)) return 1;
  return head.length > 0 && head.length < magicText.length && magicText.startsWith(head) ? 1 : 0;
}

export const msgpackImporter: Importer = {
  format: 'msgpack',
  sniff: sniffMsgpack,
  records: msgpackRecords,
};
