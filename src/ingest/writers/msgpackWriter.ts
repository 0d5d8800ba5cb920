/**
 * Writes records in the MessagePack trace form (docs/msgpack-format.md), streaming: records are
 * gathered into one block at a time (4096 records, or fewer when their strings pass 4 MiB), so
 * memory is bounded by the block, never by the trace.
 */

import { crc32 } from 'node:zlib';
import {
  blockStringBytes,
  defaultBlockRecords,
  encodeColumn,
  frameHeaderBytes,
  msgpackFormatName,
  msgpackFormatVersion,
  msgpackMagic,
  recordTypeCodes,
  shapeFlagsUndefined,
  shapeTgidNull,
  shapeTgidUndefined,
  shapeTextStamp6,
  shapeTextStamp9,
  stampText,
  templateMark,
  type BlockDoc,
  type EndDoc,
  type HeaderDoc,
} from '../msgpack/msgpackFormat.js';
import type { EventRecord, TraceRecord } from '../records.js';

/** One frame: length, CRC-32 of the payload, the payload. */
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  out.set(payload, frameHeaderBytes);
  return out;
}

/**
 * An event line's text as a template plus a shape bit (see shapeTextStamp6), when the text is
 * the head, then the body, and the head holds the timestamp exactly once as printed from the
 * record; else the text itself and 0.
 */
function eventTemplate(record: EventRecord): { text: string; bits: number } {
  const { text, body } = record;
  if (!text.endsWith(body) || text.includes(templateMark)) return { text, bits: 0 };
  const head = text.slice(0, text.length - body.length);
  for (const nine of [false, true]) {
    const stamp = stampText(record.tsUs, record.tsNs, nine);
    const at = head.indexOf(stamp);
    if (at === -1 || head.indexOf(stamp, at + 1) !== -1) continue;
    // A 6-digit stamp followed by more digits is the start of a 9-digit one: not this form.
    const after = head.charCodeAt(at + stamp.length);
    if (after >= 0x30 && after <= 0x39) continue;
    return { text: `${head.slice(0, at)}${templateMark}${head.slice(at + stamp.length)}`, bits: nine ? shapeTextStamp9 : shapeTextStamp6 };
  }
  return { text, bits: 0 };
}

const typeCode = new Map<TraceRecord['type'], number>(recordTypeCodes.map((type, index) => [type, index]));

/**
 * What an event line means, as version 3 stores it (EventColumnsV3): given by the caller, who
 * knows events (`convert`: events/precoded.ts); ingest only stores it.
 */
export interface LineMeaning {
  readonly meaning: number;
  readonly vm: string | undefined;
  readonly value: number;
}

/** Tells each event line's meaning; without one, every line's is 0 (decode the body). */
export type MeaningOf = (record: EventRecord) => LineMeaning;

const noMeaning: LineMeaning = { meaning: 0, vm: undefined, value: 0 };

/** Collects the records of one block into columns. */
class BlockBuilder {
  private readonly strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();
  private stringBytes = 0;
  private readonly types: number[] = [];
  private readonly text: number[] = [];
  private readonly dLine: number[] = [];
  private readonly dOffset: number[] = [];
  private firstLine = 0;
  private firstOffset = 0;
  private lastLine = 0;
  private lastOffset = 0;
  /** The block's first event's tsUs, once it has one: deltas start from it (BlockDoc.ts0). */
  private firstTsUs: number | undefined;
  private lastTsUs = 0;
  private readonly event = { task: [] as number[], pid: [] as number[], tgid: [] as number[], cpu: [] as number[], flags: [] as number[], ts: [] as number[], ns: [] as number[], name: [] as number[], body: [] as number[], shape: [] as number[], meaning: [] as number[], vm: [] as number[], value: [] as number[] };
  private readonly lost = { cpu: [] as number[], count: [] as number[] };
  private readonly bufferStarted = { cpu: [] as number[] };
  private readonly malformed = { expected: [] as number[] };

  constructor(private readonly meaningOf: MeaningOf | undefined) {}

  get size(): number {
    return this.types.length;
  }

  get bytes(): number {
    return this.stringBytes;
  }

  private intern(value: string): number {
    let index = this.stringIndex.get(value);
    if (index === undefined) {
      index = this.strings.length;
      this.strings.push(value);
      this.stringIndex.set(value, index);
      this.stringBytes += value.length;
    }
    return index;
  }

  add(record: TraceRecord): void {
    const { line, offset } = record.span;
    if (this.types.length === 0) {
      this.firstLine = line;
      this.firstOffset = offset;
      this.lastLine = line;
      this.lastOffset = offset;
    }
    this.types.push(typeCode.get(record.type) as number);
    const template = record.type === 'event' ? eventTemplate(record) : { text: record.text, bits: 0 };
    this.text.push(this.intern(template.text));
    this.dLine.push(line - this.lastLine);
    this.dOffset.push(offset - this.lastOffset);
    this.lastLine = line;
    this.lastOffset = offset;
    switch (record.type) {
      case 'event': {
        const e = this.event;
        e.task.push(this.intern(record.task));
        e.pid.push(record.pid);
        e.tgid.push(typeof record.tgid === 'number' ? record.tgid : 0);
        e.cpu.push(record.cpu);
        e.flags.push(record.flags === undefined ? -1 : this.intern(record.flags));
        if (this.firstTsUs === undefined) {
          this.firstTsUs = record.tsUs;
          this.lastTsUs = record.tsUs;
        }
        e.ts.push(record.tsUs - this.lastTsUs);
        this.lastTsUs = record.tsUs;
        e.ns.push(record.tsNs);
        e.name.push(this.intern(record.name));
        e.body.push(this.intern(record.body));
        const meaning = this.meaningOf === undefined ? noMeaning : this.meaningOf(record);
        e.meaning.push(meaning.meaning);
        e.vm.push(meaning.vm === undefined ? -1 : this.intern(meaning.vm));
        e.value.push(meaning.value);
        e.shape.push((record.tgid === undefined ? shapeTgidUndefined : 0) | (record.tgid === null ? shapeTgidNull : 0) | (record.flags === undefined ? shapeFlagsUndefined : 0) | template.bits);
        break;
      }
      case 'lost':
        this.lost.cpu.push(record.cpu);
        this.lost.count.push(record.count);
        break;
      case 'buffer-started':
        this.bufferStarted.cpu.push(record.cpu);
        break;
      case 'malformed':
        this.malformed.expected.push(this.intern(record.expected));
        break;
      case 'header':
      case 'continuation':
        break;
    }
  }

  doc(): BlockDoc {
    const encoded = this.strings.map((text) => Buffer.from(text, 'utf8'));
    const ends: number[] = [];
    let end = 0;
    for (const bytes of encoded) ends.push((end += bytes.length));
    const e = this.event;
    return {
      k: 'block',
      n: this.types.length,
      line: this.firstLine,
      offset: this.firstOffset,
      ts0: this.firstTsUs ?? 0,
      strings: Buffer.concat(encoded, end),
      stringEnds: encodeColumn(ends),
      type: Uint8Array.from(this.types),
      text: encodeColumn(this.text),
      dLine: encodeColumn(this.dLine),
      dOffset: encodeColumn(this.dOffset),
      event: {
        task: encodeColumn(e.task),
        pid: encodeColumn(e.pid),
        tgid: encodeColumn(e.tgid),
        cpu: encodeColumn(e.cpu),
        flags: encodeColumn(e.flags),
        ts: encodeColumn(e.ts),
        ns: encodeColumn(e.ns),
        name: encodeColumn(e.name),
        body: encodeColumn(e.body),
        shape: Uint8Array.from(e.shape),
        meaning: Uint8Array.from(e.meaning),
        vm: encodeColumn(e.vm),
        value: encodeColumn(e.value),
      },
      lost: { cpu: encodeColumn(this.lost.cpu), count: encodeColumn(this.lost.count) },
      bufferStarted: { cpu: encodeColumn(this.bufferStarted.cpu) },
      malformed: { expected: encodeColumn(this.malformed.expected) },
    };
  }
}

export interface MsgpackWriteOptions {
  /** The header's source when there are no records; otherwise the first record's span names it. */
  readonly source: string;
  readonly blockRecords?: number;
  readonly meaningOf?: MeaningOf;
}

/** What was written, for the CLI's summary line. */
export interface MsgpackWriteStats {
  records: number;
  blocks: number;
}

/**
 * The MessagePack form of a stream of record batches, as byte chunks to write in order: the
 * magic and header, one frame per block, the end frame.
 */
export async function* encodeMsgpackTrace(batches: AsyncIterable<readonly TraceRecord[]>, options: MsgpackWriteOptions, stats: MsgpackWriteStats = { records: 0, blocks: 0 }): AsyncGenerator<Buffer> {
  const blockRecords = options.blockRecords ?? defaultBlockRecords;
  // Loaded on first use: every command's start-up imports this module, few of them write MessagePack.
  const { encode } = await import('@msgpack/msgpack');
  let headerWritten = false;
  // The spans' file is the source (a MessagePack input keeps naming its own original), so the
  // header waits for the first record.
  const header = (source: string): Buffer => {
    headerWritten = true;
    const doc: HeaderDoc = { k: 'header', format: msgpackFormatName, version: msgpackFormatVersion, source, blockRecords };
    return Buffer.concat([msgpackMagic, frame(encode(doc))]);
  };
  let block = new BlockBuilder(options.meaningOf);
  const flush = (): Buffer => {
    const out = frame(encode(block.doc()));
    stats.blocks += 1;
    block = new BlockBuilder(options.meaningOf);
    return out;
  };
  for await (const batch of batches) {
    const first = batch[0];
    if (!headerWritten && first !== undefined) yield header(first.span.file);
    for (const record of batch) {
      block.add(record);
      stats.records += 1;
      if (block.size >= blockRecords || block.bytes >= blockStringBytes) yield flush();
    }
  }
  if (!headerWritten) yield header(options.source);
  if (block.size > 0) yield flush();
  const end: EndDoc = { k: 'end', records: stats.records, blocks: stats.blocks };
  yield frame(encode(end));
}
