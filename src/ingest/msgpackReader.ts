/**
 * Reads the MessagePack trace form (docs/msgpack-format.md) back into the records it was written
 * from, frame by frame: memory is bounded by one frame (one block), never by the file. Every
 * frame is length-prefixed and CRC-checked, and every column is checked before a record is
 * built, so a truncated or corrupted file ends in a VmidReplayError naming the file and the
 * byte offset of the bad frame, never in an exception from the decoder or a made-up record.
 */

import { crc32 } from 'node:zlib';
import { Decoder } from '@msgpack/msgpack';
import { VmidReplayError } from '../errors.js';
import type { EventFilter, Importer, ReadOptions } from './importer.js';
import {
  frameHeaderBytes,
  maxFrameBytes,
  msgpackFormatName,
  msgpackFormatVersion,
  msgpackMagic,
  recordTypeCodes,
  shapeFlagsUndefined,
  shapeTgidNull,
  shapeTgidUndefined,
  shapeBits,
  shapeTextStamp6,
  shapeTextStamp9,
  stampText,
  templateMark,
} from './msgpackFormat.js';
import type { ReadRecord, SourceSpan } from './records.js';

/** Chunks received but not yet taken, with the stream offset of the first unread byte. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes already taken from the stream. */
  consumed = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    // Copied: the source may reuse its buffer for the next chunk.
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
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
    let spanned = 0;
    let bytes = 0;
    while (bytes < count && spanned < this.chunks.length) bytes += (this.chunks[spanned++] as Buffer).length;
    const joined = Buffer.concat(this.chunks.slice(0, spanned), bytes);
    this.chunks.splice(0, spanned, joined);
    return joined;
  }
}

type Doc = Record<string, unknown>;

function isDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Checks of one frame's columns; `fail` throws the positioned error. */
class FrameChecker {
  constructor(private readonly fail: (message: string) => never) {}

  int(doc: Doc, key: string, min: number): number {
    const value = doc[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) this.fail(`expected ${key} to be an integer of at least ${min}`);
    return value;
  }

  ints(doc: Doc, key: string, length: number): number[] {
    const value = doc[key];
    if (!Array.isArray(value) || value.length !== length) this.fail(`expected ${key} to be an array of ${length} integers`);
    for (const item of value) if (typeof item !== 'number' || !Number.isSafeInteger(item)) this.fail(`expected ${key} to hold integers only`);
    return value as number[];
  }

  bytes(doc: Doc, key: string, length: number): Uint8Array {
    const value = doc[key];
    if (!(value instanceof Uint8Array) || value.length !== length) this.fail(`expected ${key} to be ${length} bytes`);
    return value;
  }

  doc(doc: Doc, key: string): Doc {
    const value = doc[key];
    if (!isDoc(value)) this.fail(`expected ${key} to be a map`);
    return value;
  }

  /** An integer column of string-table indexes, -1 allowed when `optional`. */
  indexes(doc: Doc, key: string, length: number, strings: number, optional = false): number[] {
    const values = this.ints(doc, key, length);
    for (const value of values) if (value >= strings || value < (optional ? -1 : 0)) this.fail(`expected ${key} to index the block's ${strings} strings, found ${value}`);
    return values;
  }
}

/** A string the decoder left as raw UTF-8 bytes (rawStrings), decoded. */
function utf8Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * A block's string table, decoded string by string when first asked for: an event the
 * replay has no use for needs its name and template, not its body (Decoder with rawStrings).
 */
class BlockStrings {
  private readonly decoded: (string | undefined)[];
  /** Per string: 0 not looked at yet, 1 holds a NUL, -1 does not. */
  private readonly nul: Int8Array;

  constructor(private readonly raw: readonly Uint8Array[]) {
    this.decoded = new Array<string | undefined>(raw.length);
    this.nul = new Int8Array(raw.length);
  }

  get length(): number {
    return this.raw.length;
  }

  at(index: number): string {
    let text = this.decoded[index];
    if (text === undefined) {
      text = utf8Of(this.raw[index] as Uint8Array);
      this.decoded[index] = text;
    }
    return text;
  }

  /** The first byte of a string, -1 for an empty one. */
  firstByte(index: number): number {
    return (this.raw[index] as Uint8Array)[0] ?? -1;
  }

  /** Whether a string holds a NUL (a template's timestamp mark), without decoding it. */
  hasNul(index: number): boolean {
    if (this.nul[index] === 0) this.nul[index] = (this.raw[index] as Uint8Array).includes(0) ? 1 : -1;
    return this.nul[index] === 1;
  }
}

/** A string field of a frame decoded with rawStrings (raw UTF-8 bytes); undefined when it is not a string. */
function textField(doc: Doc, key: string): string | undefined {
  const value = doc[key];
  return value instanceof Uint8Array ? utf8Of(value) : undefined;
}

/**
 * Turns one block's columns into records, after checking every column; `read` counts the
 * records the block holds (events refused by `wantEvent` come back as one count).
 */
function blockRecords(block: Doc, file: string, check: FrameChecker, fail: (message: string) => never, wantEvent: EventFilter | undefined): { records: ReadRecord[]; read: number } {
  const n = check.int(block, 'n', 1);
  const strings = block['strings'];
  if (!Array.isArray(strings) || !strings.every((value) => value instanceof Uint8Array)) fail('expected strings to be an array of strings');
  const str = new BlockStrings(strings);
  const types = check.bytes(block, 'type', n);
  const counts = [0, 0, 0, 0, 0, 0];
  for (const code of types) {
    if (code >= recordTypeCodes.length) fail(`expected record types below ${recordTypeCodes.length}, found ${code}`);
    counts[code] = (counts[code] as number) + 1;
  }
  const [events, , lostCount, bufferCount, , malformedCount] = counts as [number, number, number, number, number, number];
  const text = check.indexes(block, 'text', n, str.length);
  const dLine = check.ints(block, 'dLine', n);
  const dOffset = check.ints(block, 'dOffset', n);
  const ev = check.doc(block, 'event');
  const task = check.indexes(ev, 'task', events, str.length);
  const pid = check.ints(ev, 'pid', events);
  const tgid = check.ints(ev, 'tgid', events);
  const cpu = check.ints(ev, 'cpu', events);
  const flags = check.indexes(ev, 'flags', events, str.length, true);
  const ts = check.ints(ev, 'ts', events);
  const ns = check.ints(ev, 'ns', events);
  const name = check.indexes(ev, 'name', events, str.length);
  const body = check.indexes(ev, 'body', events, str.length);
  const shape = check.bytes(ev, 'shape', events);
  const lostDoc = check.doc(block, 'lost');
  const lostCpu = check.ints(lostDoc, 'cpu', lostCount);
  const lostEvents = check.ints(lostDoc, 'count', lostCount);
  const bufferCpu = check.ints(check.doc(block, 'bufferStarted'), 'cpu', bufferCount);
  const expected = check.indexes(check.doc(block, 'malformed'), 'expected', malformedCount, str.length);

  const records: ReadRecord[] = [];
  // Refused events are counted by their name's string index (names are interned per block), in
  // the order their names first appear; the filter is asked once per name and body flavor.
  const unusedByNameIndex = new Int32Array(wantEvent === undefined ? 0 : str.length);
  const unusedNames: number[] = [];
  const wanted = new Int8Array(wantEvent === undefined ? 0 : str.length * 2);
  let firstUnused: SourceSpan | undefined;
  let line = check.int(block, 'line', 1);
  let offset = check.int(block, 'offset', 0);
  let tsUs = 0;
  let e = 0;
  let lost = 0;
  let buffer = 0;
  let malformed = 0;
  for (let i = 0; i < n; i++) {
    line += dLine[i] as number;
    offset += dOffset[i] as number;
    if (line < 1 || offset < 0 || !Number.isSafeInteger(line + offset)) fail(`expected record ${i} to have a line of at least 1 and a non-negative offset`);
    const textIndex = text[i] as number;
    switch (recordTypeCodes[types[i] as number]) {
      case 'event': {
        tsUs += ts[e] as number;
        const nsValue = ns[e] as number;
        const cpuValue = cpu[e] as number;
        const bits = shape[e] as number;
        const tgidValue = tgid[e] as number;
        if (!Number.isSafeInteger(tsUs) || tsUs < 0 || nsValue < 0 || nsValue > 999 || cpuValue < 0 || (pid[e] as number) < -1 || tgidValue < 0 || bits > shapeBits) {
          fail(`expected event ${e} to have a timestamp, CPU, PID, TGID and shape in range`);
        }
        const templated = (bits & (shapeTextStamp6 | shapeTextStamp9)) !== 0;
        if (templated && (!str.hasNul(textIndex) || (bits & shapeTextStamp6) === (bits & shapeTextStamp9) >> 1)) fail(`expected event ${e}'s text template to hold one timestamp mark`);
        const bodyIndex = body[e] as number;
        const flagsIndex = flags[e] as number;
        if ((flagsIndex === -1) !== ((bits & shapeFlagsUndefined) !== 0)) fail(`expected event ${e}'s flags and shape to agree`);
        const nameIndex = name[e] as number;
        if (wantEvent !== undefined) {
          const slot = nameIndex * 2 + (str.firstByte(bodyIndex) === 0x28 /* ( */ ? 1 : 0);
          if (wanted[slot] === 0) wanted[slot] = wantEvent(str.at(nameIndex), slot % 2 === 1) ? 1 : -1;
          if (wanted[slot] === -1) {
            // Checked like any event above; only counted, its text is not put back together.
            const counted = unusedByNameIndex[nameIndex] as number;
            if (counted === 0) unusedNames.push(nameIndex);
            unusedByNameIndex[nameIndex] = counted + 1;
            firstUnused ??= { file, line, offset };
            e++;
            break;
          }
        }
        const span: SourceSpan = { file, line, offset };
        const recordText = str.at(textIndex);
        const mark = recordText.indexOf(templateMark);
        const eventName = str.at(nameIndex);
        const bodyText = str.at(bodyIndex);
        const eventText = templated ? `${recordText.slice(0, mark)}${stampText(tsUs, nsValue, (bits & shapeTextStamp9) !== 0)}${recordText.slice(mark + 1)}${bodyText}` : recordText;
        records.push({
          type: 'event',
          span,
          text: eventText,
          task: str.at(task[e] as number),
          pid: pid[e] as number,
          tgid: (bits & shapeTgidUndefined) !== 0 ? undefined : (bits & shapeTgidNull) !== 0 ? null : (tgid[e]),
          cpu: cpuValue,
          flags: flagsIndex === -1 ? undefined : str.at(flagsIndex),
          tsUs,
          tsNs: nsValue,
          name: eventName,
          body: bodyText,
        });
        e++;
        break;
      }
      case 'header':
        records.push({ type: 'header', span: { file, line, offset }, text: str.at(textIndex) });
        break;
      case 'lost':
        if ((lostCpu[lost] as number) < 0 || (lostEvents[lost] as number) < 0) fail(`expected lost record ${lost} to have a CPU and a count of at least 0`);
        records.push({ type: 'lost', span: { file, line, offset }, text: str.at(textIndex), cpu: lostCpu[lost] as number, count: lostEvents[lost] as number });
        lost++;
        break;
      case 'buffer-started':
        if ((bufferCpu[buffer] as number) < 0) fail(`expected buffer-started record ${buffer} to have a CPU of at least 0`);
        records.push({ type: 'buffer-started', span: { file, line, offset }, text: str.at(textIndex), cpu: bufferCpu[buffer] as number });
        buffer++;
        break;
      case 'continuation':
        records.push({ type: 'continuation', span: { file, line, offset }, text: str.at(textIndex) });
        break;
      case 'malformed':
        records.push({ type: 'malformed', span: { file, line, offset }, text: str.at(textIndex), expected: str.at(expected[malformed] as number) });
        malformed++;
        break;
      default:
        fail(`expected a record type code, found ${types[i]}`);
    }
  }
  if (firstUnused !== undefined) {
    const countsByName = new Map<string, number>();
    for (const nameIndex of unusedNames) countsByName.set(str.at(nameIndex), unusedByNameIndex[nameIndex] as number);
    records.push({ type: 'unused-events', span: firstUnused, countsByName });
  }
  return { records, read: n };
}

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

/** Reads a (decompressed) MessagePack trace into batches of records, one batch per block. */
async function* msgpackRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<ReadRecord[]> {
  const queue = new ByteQueue();
  const iterator = source[Symbol.asyncIterator]();
  // Strings stay raw UTF-8 until a record needs them (BlockStrings): most of a sparse trace's never do.
  const decoder = new Decoder({ rawStrings: true });
  let ended = false;
  /** Waits until `count` bytes are queued; false when the input ends first. */
  const fill = async (count: number): Promise<boolean> => {
    while (queue.available < count && !ended) {
      const next = await iterator.next();
      if (next.done === true) ended = true;
      else queue.push(next.value);
    }
    return queue.available >= count;
  };
  const failAt = (at: number, message: string): never => {
    throw new VmidReplayError('INPUT_CORRUPT', `MessagePack trace: at byte ${at}: ${message}`, { file: options.file });
  };

  if (!(await fill(msgpackMagic.length)) || !queue.peek(msgpackMagic.length).equals(msgpackMagic)) {
    failAt(0, `expected the magic bytes ${msgpackMagic.toString('hex')} of a vmid-replay MessagePack trace (docs/msgpack-format.md), found ${queue.peek(msgpackMagic.length).toString('hex') || 'the end of the input'}`);
  }
  queue.take(msgpackMagic.length);

  let file = options.file;
  let frames = 0;
  let records = 0;
  for (;;) {
    const at = queue.consumed;
    if (!(await fill(frameHeaderBytes))) {
      if (queue.available === 0) failAt(at, `the file ends after ${frames} frames without the end frame: it is truncated`);
      failAt(at, `the file ends inside a frame header (${queue.available} of ${frameHeaderBytes} bytes): it is truncated`);
    }
    const head = queue.take(frameHeaderBytes);
    const length = head.readUInt32BE(0);
    const expectedCrc = head.readUInt32BE(4);
    if (length > maxFrameBytes) failAt(at, `expected a frame of at most ${maxFrameBytes} bytes, found a length of ${length}: the file is corrupt`);
    if (!(await fill(length))) failAt(at, `the frame claims ${length} bytes but the file ends after ${queue.available}: it is truncated`);
    const payload = queue.take(length);
    if (crc32(payload) !== expectedCrc) failAt(at, `the frame's CRC-32 does not match its ${length} bytes: the file is corrupt`);
    const fail = (message: string): never => failAt(at, `${message}: the file is corrupt`);
    const doc = decodeFrame(decoder, payload, fail);
    const check = new FrameChecker(fail);
    const kind = textField(doc, 'k');
    if (frames === 0) {
      if (kind !== 'header' || textField(doc, 'format') !== msgpackFormatName) fail(`expected the header frame of a ${msgpackFormatName} file`);
      if (doc['version'] !== msgpackFormatVersion) failAt(at, `expected format version ${msgpackFormatVersion}, found ${JSON.stringify(doc['version'])}: written by another vmid-replay version`);
      file = textField(doc, 'source') ?? fail('expected the header to name the source');
    } else if (kind === 'block') {
      const block = blockRecords(doc, file, check, fail, options.wantEvent);
      records += block.read;
      frames += 1;
      yield block.records;
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
