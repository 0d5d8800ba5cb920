/**
 * One MessagePack block's columns (docs/msgpack-format.md), checked and put in one form
 * whichever format version stored them; msgpackRows.ts reads rows out of them.
 */
import {
  columnWidths,
  recordTypeCodes,
} from './msgpackFormat.js';
import { utf8Text } from '../bufferText.js';

export type Doc = Record<string, unknown>;

export function isDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * Buffers for version 2 columns, reused from block to block (a block's columns are read into
 * kept rows, msgpackRows.ts, before the next block is read): a block of 4096 events would otherwise allocate half
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
export class FrameChecker {
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
export class BlockStrings {
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

  /** The table's bytes and string ends, as they are (in buffers the reader reuses: copy what must outlive the block). */
  table(): { blob: Uint8Array; ends: Float64Array } {
    return { blob: this.blob, ends: this.ends };
  }

  private start(index: number): number {
    return index === 0 ? 0 : (this.ends[index - 1] as number);
  }

  at(index: number): string {
    let text = this.decoded[index];
    if (text === undefined) {
      // Most of a dense block's strings are event bodies, each decoded once: straight to the decoder (bufferText.ts).
      text = utf8Text(this.blob, this.start(index), this.ends[index] as number);
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
export function textField(doc: Doc, key: string): string | undefined {
  const value = doc[key];
  return value instanceof Uint8Array ? utf8Of(value) : undefined;
}

/** One block's columns, checked, in one form whichever version stored them. */
export interface BlockColumns {
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
  /** Version 3's meaning columns (EventColumnsV3); absent before. */
  readonly meaning?: Uint8Array;
  readonly vm?: Float64Array;
  readonly value?: Float64Array;
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
export function columnsV1(block: Doc, check: FrameChecker, fail: (message: string) => never): BlockColumns {
  const n = check.int(block, 'n', 1);
  const raw = block['strings'];
  if (!Array.isArray(raw) || !raw.every((value) => value instanceof Uint8Array)) fail('expected strings to be an array of strings');
  const strings = BlockStrings.fromRaw(raw);
  const types = check.bytes(block, 'type', n);
  const counts = typeCounts(types, fail);
  const ev = check.doc(block, 'event');
  const lost = check.doc(block, 'lost');
  // A loop, not `new Float64Array(values)`: the decoder's arrays are holey, which sends the
  // typed-array constructor down its slow generic path.
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

/** The largest meaning byte (events/precoded.ts: a code in the low five bits, the value bit above). */
const meaningByteMax = 0x3f;

/** Version 3's meaning columns, checked as far as ingest knows them: bytes in range, VM indexes into the strings. */
function meaningColumns(ev: Doc, check: FrameChecker, fail: (message: string) => never, events: number, strings: number): Pick<BlockColumns, 'meaning' | 'vm' | 'value'> {
  const meaning = check.bytes(ev, 'meaning', events);
  for (let e = 0; e < events; e++) if ((meaning[e] as number) > meaningByteMax) fail(`expected event ${e}'s meaning byte to be at most ${meaningByteMax}, found ${meaning[e]}`);
  return { meaning, vm: check.indexColumn(ev, 'vm', events, strings, true, 'event.vm'), value: check.column(ev, 'value', events, 'event.value') };
}

/** A version 2 or 3 block's columns (encodeColumn, one string blob), checked. */
export function columnsV2(block: Doc, check: FrameChecker, fail: (message: string) => never, version: number): BlockColumns {
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
    ...(version >= 3 ? meaningColumns(ev, check, fail, counts.events, strings.length) : {}),
    lostCpu: check.column(lost, 'cpu', counts.lost, 'lost.cpu'),
    lostCount: check.column(lost, 'count', counts.lost),
    bufferCpu: check.column(check.doc(block, 'bufferStarted'), 'cpu', counts.buffers, 'bufferStarted.cpu'),
    expected: check.indexColumn(check.doc(block, 'malformed'), 'expected', counts.malformed, strings.length),
  };
}
