/**
 * Reads the MessagePack trace form (docs/msgpack-format.md) back into the records it was written
 * from, frame by frame: memory is bounded by one frame (one block), never by the file. Every
 * frame is length-prefixed and CRC-checked, and every column is checked before a record is
 * built, so a truncated or corrupted file ends in a VmidReplayError naming the file and the
 * byte offset of the bad frame, never in an exception from the decoder or a made-up record.
 */

import { crc32 } from 'node:zlib';
import type { Decoder } from '@msgpack/msgpack';
import { VmidReplayError } from '../errors.js';
import type { EventFilter, Importer, ReadOptions } from './importer.js';
import {
  frameHeaderBytes,
  maxFrameBytes,
  columnWidths,
  msgpackFormatName,
  msgpackMagic,
  readableFormatVersions,
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

type Doc = Record<string, unknown>;

function isDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * Buffers for version 2 columns, reused from block to block (a block's columns are made into
 * records before the next block is read): a block of 4096 events would otherwise allocate half
 * a megabyte of typed arrays, and the collector ran for a sixth of a sparse run.
 */
export class ColumnPool {
  private scratch = new ArrayBuffer(0);
  private readonly columns = new Map<string, Float64Array>();

  /** The values of a column (after its width byte), copied to the start of an aligned buffer. */
  aligned(bytes: Uint8Array): ArrayBuffer {
    const length = bytes.length - 1;
    if (this.scratch.byteLength < length) this.scratch = new ArrayBuffer(Math.max(length, this.scratch.byteLength * 2));
    new Uint8Array(this.scratch, 0, length).set(bytes.subarray(1));
    return this.scratch;
  }

  /** The buffer for column `slot`, at least `length` long; its first `length` values. */
  values(slot: string, length: number): Float64Array {
    let values = this.columns.get(slot);
    if (values === undefined || values.length < length) {
      values = new Float64Array(Math.max(length, 4096));
      this.columns.set(slot, values);
    }
    return values.subarray(0, length);
  }
}

/** Checks of one frame's columns; `fail` throws the positioned error. */
class FrameChecker {
  constructor(
    private readonly fail: (message: string) => never,
    private readonly pool: ColumnPool,
  ) {}

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

  /**
   * A version 2 column (encodeColumn) of `length` integers, in the pool's buffer for `slot`
   * (valid until the next block): the values are copied to an aligned buffer, then widened by
   * the engine in one call (a typed array set from a typed array), not read one by one.
   * Little-endian as written, as every platform Node runs on is.
   */
  column(doc: Doc, key: string, length: number, slot = key): Float64Array {
    const bytes = doc[key];
    const width = bytes instanceof Uint8Array ? (bytes[0] ?? 0) : 0;
    if (!(bytes instanceof Uint8Array) || !columnWidths.includes(width) || bytes.length !== 1 + length * width) this.fail(`expected ${key} to be a column of ${length} integers`);
    const aligned = this.pool.aligned(bytes);
    const values = this.pool.values(slot, length);
    if (width === 1) values.set(new Int8Array(aligned, 0, length));
    else if (width === 2) values.set(new Int16Array(aligned, 0, length));
    else if (width === 4) values.set(new Int32Array(aligned, 0, length));
    else {
      values.set(new Float64Array(aligned, 0, length));
      for (const value of values) if (!Number.isSafeInteger(value)) this.fail(`expected ${key} to hold integers only`);
    }
    return values;
  }

  /** A version 2 column of string-table indexes, -1 allowed when `optional`. */
  indexColumn(doc: Doc, key: string, length: number, strings: number, optional = false, slot = key): Float64Array {
    const values = this.column(doc, key, length, slot);
    const min = optional ? -1 : 0;
    // One pass over the whole column first (an indexed loop: every record of a sparse trace goes through here); the message only on failure.
    let inRange = true;
    for (let i = 0; i < length; i++) {
      const value = values[i] as number;
      inRange &&= value < strings && value >= min;
    }
    if (!inRange) {
      const bad = values.find((value) => !(value < strings && value >= min));
      this.fail(`expected ${key} to index the block's ${strings} strings, found ${bad}`);
    }
    return values;
  }
}

/** A string the decoder left as raw UTF-8 bytes (rawStrings), decoded. */
function utf8Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * A block's string table: every string's UTF-8 end to end, decoded string by string when first
 * asked for (an event the replay has no use for needs its name and template, not its body).
 * Version 2 stores it so; version 1's strings (raw, from the decoder's rawStrings) are joined
 * into the same form.
 */
class BlockStrings {
  private readonly decoded: (string | undefined)[];
  /** Per string: 0 not looked at yet, 1 holds a NUL, -1 does not. */
  private readonly nul: Int8Array;

  /** `ends[i]` is where string i ends in `blob`; it starts where string i - 1 ends (0 for the first). */
  constructor(
    private readonly blob: Buffer,
    private readonly ends: Float64Array,
  ) {
    this.decoded = new Array<string | undefined>(ends.length);
    this.nul = new Int8Array(ends.length);
  }

  static fromRaw(raw: readonly Uint8Array[]): BlockStrings {
    const ends = new Float64Array(raw.length);
    let end = 0;
    for (let i = 0; i < raw.length; i++) ends[i] = end += (raw[i] as Uint8Array).length;
    return new BlockStrings(Buffer.concat(raw, end), ends);
  }

  get length(): number {
    return this.ends.length;
  }

  private start(index: number): number {
    return index === 0 ? 0 : (this.ends[index - 1] as number);
  }

  at(index: number): string {
    let text = this.decoded[index];
    if (text === undefined) {
      text = this.blob.toString('utf8', this.start(index), this.ends[index]);
      this.decoded[index] = text;
    }
    return text;
  }

  /** The first byte of a string, -1 for an empty one. */
  firstByte(index: number): number {
    const start = this.start(index);
    return start < (this.ends[index] as number) ? (this.blob[start] as number) : -1;
  }

  /** Whether a string holds a NUL (a template's timestamp mark), without decoding it. */
  hasNul(index: number): boolean {
    if (this.nul[index] === 0) {
      let found = false;
      for (let at = this.start(index), end = this.ends[index] as number; at < end && !found; at++) found = this.blob[at] === 0;
      this.nul[index] = found ? 1 : -1;
    }
    return this.nul[index] === 1;
  }
}

/** A string field of a frame decoded with rawStrings (raw UTF-8 bytes); undefined when it is not a string. */
function textField(doc: Doc, key: string): string | undefined {
  const value = doc[key];
  return value instanceof Uint8Array ? utf8Of(value) : undefined;
}

/** One block's columns, checked, in one form whichever version stored them. */
interface BlockColumns {
  readonly n: number;
  readonly line: number;
  readonly offset: number;
  /** What the first `ts` delta is taken from (version 1: 0). */
  readonly ts0: number;
  readonly strings: BlockStrings;
  readonly types: Uint8Array;
  readonly text: Float64Array;
  readonly dLine: Float64Array;
  readonly dOffset: Float64Array;
  readonly task: Float64Array;
  readonly pid: Float64Array;
  readonly tgid: Float64Array;
  readonly cpu: Float64Array;
  readonly flags: Float64Array;
  readonly ts: Float64Array;
  readonly ns: Float64Array;
  readonly name: Float64Array;
  readonly body: Float64Array;
  readonly shape: Uint8Array;
  readonly lostCpu: Float64Array;
  readonly lostCount: Float64Array;
  readonly bufferCpu: Float64Array;
  readonly expected: Float64Array;
}

/** How many records of each type a block's `type` column holds. */
function typeCounts(types: Uint8Array, fail: (message: string) => never): { events: number; lost: number; buffers: number; malformed: number } {
  const counts = [0, 0, 0, 0, 0, 0];
  for (const code of types) {
    if (code >= recordTypeCodes.length) fail(`expected record types below ${recordTypeCodes.length}, found ${code}`);
    counts[code] = (counts[code] as number) + 1;
  }
  const [events, , lost, buffers, , malformed] = counts as [number, number, number, number, number, number];
  return { events, lost, buffers, malformed };
}

/** A version 1 block's columns (MessagePack arrays and strings), checked. */
function columnsV1(block: Doc, check: FrameChecker, fail: (message: string) => never): BlockColumns {
  const n = check.int(block, 'n', 1);
  const raw = block['strings'];
  if (!Array.isArray(raw) || !raw.every((value) => value instanceof Uint8Array)) fail('expected strings to be an array of strings');
  const strings = BlockStrings.fromRaw(raw);
  const types = check.bytes(block, 'type', n);
  const counts = typeCounts(types, fail);
  const ev = check.doc(block, 'event');
  const lost = check.doc(block, 'lost');
  // A loop, not `new Float64Array(values)`: the decoder's arrays are holey, which sends the
  // typed-array constructor down its slow generic path (measured 25 % of a version 1 read).
  const column = (values: number[]): Float64Array => {
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = values[i] as number;
    return out;
  };
  return {
    n,
    line: check.int(block, 'line', 1),
    offset: check.int(block, 'offset', 0),
    ts0: 0,
    strings,
    types,
    text: column(check.indexes(block, 'text', n, strings.length)),
    dLine: column(check.ints(block, 'dLine', n)),
    dOffset: column(check.ints(block, 'dOffset', n)),
    task: column(check.indexes(ev, 'task', counts.events, strings.length)),
    pid: column(check.ints(ev, 'pid', counts.events)),
    tgid: column(check.ints(ev, 'tgid', counts.events)),
    cpu: column(check.ints(ev, 'cpu', counts.events)),
    flags: column(check.indexes(ev, 'flags', counts.events, strings.length, true)),
    ts: column(check.ints(ev, 'ts', counts.events)),
    ns: column(check.ints(ev, 'ns', counts.events)),
    name: column(check.indexes(ev, 'name', counts.events, strings.length)),
    body: column(check.indexes(ev, 'body', counts.events, strings.length)),
    shape: check.bytes(ev, 'shape', counts.events),
    lostCpu: column(check.ints(lost, 'cpu', counts.lost)),
    lostCount: column(check.ints(lost, 'count', counts.lost)),
    bufferCpu: column(check.ints(check.doc(block, 'bufferStarted'), 'cpu', counts.buffers)),
    expected: column(check.indexes(check.doc(block, 'malformed'), 'expected', counts.malformed, strings.length)),
  };
}

/** A version 2 block's columns (encodeColumn, one string blob), checked. */
function columnsV2(block: Doc, check: FrameChecker, fail: (message: string) => never): BlockColumns {
  const n = check.int(block, 'n', 1);
  const blob = block['strings'];
  if (!(blob instanceof Uint8Array)) fail('expected strings to be the block\'s strings as bytes');
  const endsBytes = block['stringEnds'];
  const width = endsBytes instanceof Uint8Array ? (endsBytes[0] ?? 0) : 0;
  if (!(endsBytes instanceof Uint8Array) || !columnWidths.includes(width) || (endsBytes.length - 1) % width !== 0) fail('expected stringEnds to be a column of string ends');
  const ends = check.column(block, 'stringEnds', (endsBytes.length - 1) / width);
  let previous = 0;
  for (const end of ends) {
    if (end < previous || end > blob.length) fail(`expected stringEnds to rise within the ${blob.length} bytes of strings`);
    previous = end;
  }
  const strings = new BlockStrings(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength), ends);
  const types = check.bytes(block, 'type', n);
  const counts = typeCounts(types, fail);
  const ev = check.doc(block, 'event');
  const lost = check.doc(block, 'lost');
  return {
    n,
    line: check.int(block, 'line', 1),
    offset: check.int(block, 'offset', 0),
    ts0: check.int(block, 'ts0', 0),
    strings,
    types,
    text: check.indexColumn(block, 'text', n, strings.length),
    dLine: check.column(block, 'dLine', n),
    dOffset: check.column(block, 'dOffset', n),
    task: check.indexColumn(ev, 'task', counts.events, strings.length),
    pid: check.column(ev, 'pid', counts.events),
    tgid: check.column(ev, 'tgid', counts.events),
    cpu: check.column(ev, 'cpu', counts.events),
    flags: check.indexColumn(ev, 'flags', counts.events, strings.length, true),
    ts: check.column(ev, 'ts', counts.events),
    ns: check.column(ev, 'ns', counts.events),
    name: check.indexColumn(ev, 'name', counts.events, strings.length),
    body: check.indexColumn(ev, 'body', counts.events, strings.length),
    shape: check.bytes(ev, 'shape', counts.events),
    lostCpu: check.column(lost, 'cpu', counts.lost, 'lost.cpu'),
    lostCount: check.column(lost, 'count', counts.lost),
    bufferCpu: check.column(check.doc(block, 'bufferStarted'), 'cpu', counts.buffers, 'bufferStarted.cpu'),
    expected: check.indexColumn(check.doc(block, 'malformed'), 'expected', counts.malformed, strings.length),
  };
}

/**
 * Records per batch handed on: a block's 4096 records and their strings, alive together until
 * the replay took them all, outlived V8's young generation (the collector took a quarter of a
 * dense read).
 */
const batchRecordCount = 512;

/** Record type codes as numbers, so a block's rows are told apart without comparing strings. */
const eventCode = recordTypeCodes.indexOf('event');
const headerCode = recordTypeCodes.indexOf('header');
const lostCode = recordTypeCodes.indexOf('lost');
const bufferStartedCode = recordTypeCodes.indexOf('buffer-started');
const continuationCode = recordTypeCodes.indexOf('continuation');
const malformedCode = recordTypeCodes.indexOf('malformed');

const bothStamps = shapeTextStamp6 | shapeTextStamp9;

/**
 * Checks the event columns that need no running sum, every event of the block, used or not,
 * in one pass before any record is made: in the row loop they cost a sparse read a fifth of
 * its time, mostly for events only counted. The message names the first bad event.
 */
function checkEventColumns(columns: BlockColumns, fail: (message: string) => never): void {
  const { ns, cpu, pid, tgid, shape, flags } = columns;
  let bad = -1;
  for (let e = 0; e < shape.length; e++) {
    const bits = shape[e] as number;
    const nsValue = ns[e] as number;
    if (
      nsValue < 0 ||
      nsValue > 999 ||
      (cpu[e] as number) < 0 ||
      (pid[e] as number) < -1 ||
      (tgid[e] as number) < 0 ||
      bits > shapeBits ||
      (bits & bothStamps) === bothStamps ||
      ((flags[e] as number) === -1) !== ((bits & shapeFlagsUndefined) !== 0)
    ) {
      bad = e;
      break;
    }
  }
  if (bad === -1) return;
  const bits = shape[bad] as number;
  if (bits <= shapeBits && (bits & bothStamps) === bothStamps) fail(`expected event ${bad}'s text template to hold one timestamp mark`);
  if (bits <= shapeBits && ((flags[bad] as number) === -1) !== ((bits & shapeFlagsUndefined) !== 0)) fail(`expected event ${bad}'s flags and shape to agree`);
  fail(`expected event ${bad} to have a timestamp, CPU, PID, TGID and shape in range`);
}

/** Where the row loop stands in a block: what it carries from one batch of records to the next. */
class BlockCursor {
  row = 0;
  line: number;
  offset: number;
  tsUs: number;
  event = 0;
  lost = 0;
  bufferStarted = 0;
  malformed = 0;
  /**
   * Refused events are counted by their name's string index (names are interned per block), in
   * the order their names first appear; the filter is asked once per name and body flavor.
   */
  readonly unusedByNameIndex: Int32Array;
  readonly unusedNames: number[] = [];
  /** Per name index and body flavor: 0 not asked yet, 1 wanted, -1 refused. */
  readonly wanted: Int8Array;
  firstUnused: SourceSpan | undefined;

  constructor(columns: BlockColumns, filtered: boolean) {
    this.line = columns.line;
    this.offset = columns.offset;
    this.tsUs = columns.ts0;
    this.unusedByNameIndex = new Int32Array(filtered ? columns.strings.length : 0);
    this.wanted = new Int8Array(filtered ? columns.strings.length * 2 : 0);
  }
}

/**
 * Reads rows from the cursor on into `records` until the block ends or `batchRecordCount`
 * records are made. A plain function over locals, not the generator it used to be inline in:
 * V8 kept a generator's loop variables in memory, and the loop runs for every row of a block.
 */
function readRows(columns: BlockColumns, cursor: BlockCursor, file: string, fail: (message: string) => never, wantEvent: EventFilter | undefined, records: ReadRecord[]): void {
  const { n, strings: str, types, text, dLine, dOffset, task, pid, tgid, cpu, flags, ts, ns, name, body, shape, lostCpu, lostCount, bufferCpu, expected } = columns;
  const { unusedByNameIndex, unusedNames, wanted } = cursor;
  let { row: i, line, offset, tsUs, event: e, lost, bufferStarted, malformed } = cursor;
  for (; i < n && records.length < batchRecordCount; i++) {
    line += dLine[i] as number;
    offset += dOffset[i] as number;
    if (line < 1 || offset < 0 || !Number.isSafeInteger(line + offset)) fail(`expected record ${i} to have a line of at least 1 and a non-negative offset`);
    const textIndex = text[i] as number;
    const type = types[i] as number;
    if (type === eventCode) {
      // The rest of the event's columns were checked by checkEventColumns.
      tsUs += ts[e] as number;
      if (!Number.isSafeInteger(tsUs) || tsUs < 0) fail(`expected event ${e} to have a timestamp, CPU, PID, TGID and shape in range`);
      const bits = shape[e] as number;
      const templated = (bits & bothStamps) !== 0;
      if (templated && !str.hasNul(textIndex)) fail(`expected event ${e}'s text template to hold one timestamp mark`);
      const bodyIndex = body[e] as number;
      const nameIndex = name[e] as number;
      if (wantEvent !== undefined) {
        const slot = nameIndex * 2 + (str.firstByte(bodyIndex) === 0x28 /* ( */ ? 1 : 0);
        if (wanted[slot] === 0) wanted[slot] = wantEvent(str.at(nameIndex), slot % 2 === 1) ? 1 : -1;
        if (wanted[slot] === -1) {
          // Checked like any event; only counted, its text is not put back together.
          const counted = unusedByNameIndex[nameIndex] as number;
          if (counted === 0) unusedNames.push(nameIndex);
          unusedByNameIndex[nameIndex] = counted + 1;
          cursor.firstUnused ??= { file, line, offset };
          e++;
          continue;
        }
      }
      const nsValue = ns[e] as number;
      const flagsIndex = flags[e] as number;
      const recordText = str.at(textIndex);
      const mark = recordText.indexOf(templateMark);
      const bodyText = str.at(bodyIndex);
      const eventText = templated ? `${recordText.slice(0, mark)}${stampText(tsUs, nsValue, (bits & shapeTextStamp9) !== 0)}${recordText.slice(mark + 1)}${bodyText}` : recordText;
      records.push({
        type: 'event',
        span: { file, line, offset },
        text: eventText,
        task: str.at(task[e] as number),
        pid: pid[e] as number,
        tgid: (bits & shapeTgidUndefined) !== 0 ? undefined : (bits & shapeTgidNull) !== 0 ? null : (tgid[e]),
        cpu: cpu[e] as number,
        flags: flagsIndex === -1 ? undefined : str.at(flagsIndex),
        tsUs,
        tsNs: nsValue,
        name: str.at(nameIndex),
        body: bodyText,
      });
      e++;
    } else if (type === headerCode) {
      records.push({ type: 'header', span: { file, line, offset }, text: str.at(textIndex) });
    } else if (type === lostCode) {
      if ((lostCpu[lost] as number) < 0 || (lostCount[lost] as number) < 0) fail(`expected lost record ${lost} to have a CPU and a count of at least 0`);
      records.push({ type: 'lost', span: { file, line, offset }, text: str.at(textIndex), cpu: lostCpu[lost] as number, count: lostCount[lost] as number });
      lost++;
    } else if (type === bufferStartedCode) {
      if ((bufferCpu[bufferStarted] as number) < 0) fail(`expected buffer-started record ${bufferStarted} to have a CPU of at least 0`);
      records.push({ type: 'buffer-started', span: { file, line, offset }, text: str.at(textIndex), cpu: bufferCpu[bufferStarted] as number });
      bufferStarted++;
    } else if (type === continuationCode) {
      records.push({ type: 'continuation', span: { file, line, offset }, text: str.at(textIndex) });
    } else if (type === malformedCode) {
      records.push({ type: 'malformed', span: { file, line, offset }, text: str.at(textIndex), expected: str.at(expected[malformed] as number) });
      malformed++;
    } else {
      fail(`expected a record type code, found ${type}`);
    }
  }
  Object.assign(cursor, { row: i, line, offset, tsUs, event: e, lost, bufferStarted, malformed });
}

/**
 * Turns one block's checked columns into records, in batches of at most `batchRecordCount`
 * (events refused by `wantEvent` come back as one count, at the end).
 */
function* blockRecords(columns: BlockColumns, file: string, fail: (message: string) => never, wantEvent: EventFilter | undefined): Generator<ReadRecord[], void> {
  checkEventColumns(columns, fail);
  const cursor = new BlockCursor(columns, wantEvent !== undefined);
  while (cursor.row < columns.n) {
    const records: ReadRecord[] = [];
    readRows(columns, cursor, file, fail, wantEvent, records);
    if (cursor.row === columns.n && cursor.firstUnused !== undefined) {
      const countsByName = new Map<string, number>();
      for (const nameIndex of cursor.unusedNames) countsByName.set(columns.strings.at(nameIndex), cursor.unusedByNameIndex[nameIndex] as number);
      records.push({ type: 'unused-events', span: cursor.firstUnused, countsByName });
    }
    if (records.length > 0) yield records;
  }
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
  const failAt = (at: number, message: string): never => {
    throw new VmidReplayError('INPUT_CORRUPT', `MessagePack trace: at byte ${at}: ${message}`, { file: options.file });
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
    const check = new FrameChecker(fail, pool);
    const kind = textField(doc, 'k');
    if (frames === 0) {
      if (kind !== 'header' || textField(doc, 'format') !== msgpackFormatName) fail(`expected the header frame of a ${msgpackFormatName} file`);
      const written = doc['version'];
      if (typeof written !== 'number' || !readableFormatVersions.includes(written)) {
        return failAt(at, `expected format version ${readableFormatVersions.join(' or ')}, found ${JSON.stringify(written)}: written by another vmid-replay version`);
      }
      version = written;
      file = textField(doc, 'source') ?? fail('expected the header to name the source');
    } else if (kind === 'block') {
      const columns = version === 1 ? columnsV1(doc, check, fail) : columnsV2(doc, check, fail);
      yield* blockRecords(columns, file, fail, options.wantEvent);
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
