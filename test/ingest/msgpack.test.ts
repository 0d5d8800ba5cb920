/**
 * The MessagePack form (docs/msgpack-format.md): records written and read back are the same
 * records, whatever the chunking or block size; truncated and corrupted files end in the
 * documented error naming the file and a byte offset; the form is sniffed by its magic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { decode, encode } from '@msgpack/msgpack';
import { VmidReplayError } from '../../src/errors.js';
import { chooseImporter, readRecords } from '../../src/ingest/readTrace.js';
import { encodeColumn, msgpackFormatVersion, msgpackMagic } from '../../src/ingest/msgpack/msgpackFormat.js';
import { encodeMsgpackTrace, frame } from '../../src/ingest/writers/msgpackWriter.js';
import { FtraceTextWriter } from '../../src/ingest/writers/textWriters.js';
import { plainRecord, type ReadRecord, type TraceRecord } from '../../src/ingest/records.js';
import { everyFtraceLineKind, inChunks, inReusedBuffer, readAllRecords } from './chunks.js';
import { ftraceToCsv } from '../helpers/csvWriter.js';
import { toTraceCmdReport } from '../helpers/traceCmdReport.js';

const tracesDir = join(process.cwd(), 'traces');

const synthetic = everyFtraceLineKind.join('\n');

interface Fixture {
  readonly name: string;
  /** The bytes as stored (maybe gzip). */
  readonly bytes: Buffer;
}

const bundled = ['mixed-hazards.trace', 'device-assignment-clean.trace', 'generated-faults.trace', 'capture-a57-8bit-portable-tgid.trace.gz', 'capture-a57-8bit-trace-pipe.trace.gz', 'capture-max-16bit-vhe.trace.gz', 'churn-8bit-rollovers.trace.gz'];

const fixtures: Fixture[] = [{ name: 'synthetic.trace', bytes: Buffer.from(`${synthetic}\n`) }, ...bundled.map((name) => ({ name, bytes: readFileSync(join(tracesDir, name)) }))];

const mixed = readFileSync(join(tracesDir, 'mixed-hazards.trace'), 'utf8');
/** The same trace as the other importers read it: their records carry other text and spans. */
const otherFormats: Fixture[] = [
  { name: 'mixed-hazards.csv', bytes: Buffer.from(ftraceToCsv(mixed)) },
  { name: 'mixed-hazards.report', bytes: Buffer.from(toTraceCmdReport(mixed, { cpus: 4, nanoseconds: true, latency: true }).text) },
];

/** The trace's text, decompressed. */
function textOf(fixture: Fixture): Buffer {
  return fixture.bytes[0] === 0x1f ? gunzipSync(fixture.bytes) : fixture.bytes;
}

/** The records of `bytes`, as plain data (the MessagePack reader's event records make their text on demand). */
async function recordsOf(bytes: Uint8Array, file: string, chunk = 1 << 16): Promise<TraceRecord[]> {
  return plainRecords(await readAllRecords(inChunks(bytes, chunk), { file }));
}

function plainRecords(records: readonly TraceRecord[]): TraceRecord[] {
  return records.map(plainRecord);
}

async function toMsgpack(records: readonly TraceRecord[], blockRecords?: number): Promise<Buffer> {
  const batches = (async function* () {
    // Batches of 1000, as an importer yields them per chunk.
    for (let at = 0; at < records.length; at += 1000) yield records.slice(at, at + 1000);
  })();
  const out: Buffer[] = [];
  for await (const chunk of encodeMsgpackTrace(batches, { source: 'unused', ...(blockRecords === undefined ? {} : { blockRecords }) })) out.push(chunk);
  return Buffer.concat(out);
}

/** Resolves to the error the read ended in, or undefined when it gave records. */
async function readError(bytes: Uint8Array, file: string): Promise<unknown> {
  try {
    await recordsOf(bytes, file);
    return undefined;
  } catch (error) {
    return error;
  }
}

function assertDocumentedError(error: unknown, file: string): asserts error is VmidReplayError {
  assert.ok(error instanceof VmidReplayError, `expected a VmidReplayError, got ${String(error)}`);
  assert.equal(error.code, 'INPUT_CORRUPT');
  assert.equal(error.exitCode, 65);
  assert.match(error.message, new RegExp(`^${file.replace('.', '\\.')}: MessagePack trace: at byte \\d+: `));
}

const originals = new Map<string, TraceRecord[]>();
async function originalRecords(fixture: Fixture): Promise<TraceRecord[]> {
  let records = originals.get(fixture.name);
  if (records === undefined) {
    records = await recordsOf(fixture.bytes, fixture.name);
    originals.set(fixture.name, records);
  }
  return records;
}

test('text -> msgpack -> records is the identity, spans included, for every kind of record', async () => {
  assert.ok(fixtures.length >= 8);
  for (const fixture of fixtures) {
    const records = await originalRecords(fixture);
    assert.ok(records.length > 0, fixture.name);
    const packed = await toMsgpack(records);
    const back = await recordsOf(packed, 'copy.msgpack');
    assert.deepStrictEqual(back, records, fixture.name);
  }
  for (const fixture of otherFormats) {
    const records = await originalRecords(fixture);
    assert.ok(records.filter((record) => record.type === 'event').length > 100, fixture.name);
    assert.deepStrictEqual(await recordsOf(await toMsgpack(records), 'copy.msgpack'), records, fixture.name);
  }
  const kinds = new Set((await originalRecords(fixtures[0] as Fixture)).map((record) => record.type));
  assert.deepEqual([...kinds].sort(), ['buffer-started', 'continuation', 'event', 'header', 'lost', 'malformed']);
});

test('property: events with integers of any width (beyond 32 bits, negative deltas) come back exact', async () => {
  const big = fc.oneof(fc.integer({ min: -1, max: 200 }), fc.integer({ min: 0, max: 2 ** 31 + 5 }), fc.maxSafeNat());
  const event = fc.record({ pid: fc.oneof(fc.constant(-1), big), tgid: fc.oneof(fc.constant(undefined), fc.constant(null), fc.maxSafeNat()), cpu: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.maxSafeNat()), tsUs: fc.maxSafeNat(), tsNs: fc.integer({ min: 0, max: 999 }), line: fc.integer({ min: 1, max: 2 ** 40 }), offset: fc.integer({ min: 0, max: 2 ** 52 }) });
  await fc.assert(
    fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 7 }), async (events, blockRecords) => {
      const records: TraceRecord[] = events.map((e, i) => ({
        type: 'event',
        span: { file: 'w.trace', line: e.line, offset: e.offset },
        text: `t-${i}`,
        task: 't',
        pid: e.pid,
        tgid: e.tgid,
        cpu: e.cpu,
        flags: undefined,
        tsUs: e.tsUs,
        tsNs: e.tsNs,
        name: 'n',
        body: `b${i}`,
      }));
      assert.deepStrictEqual(await recordsOf(await toMsgpack(records, blockRecords), 'w.msgpack', 13), records);
    }),
    { numRuns: 200 },
  );
});

test('a block of 4096 records is handed on in batches of at most 512, every record once, in order', async () => {
  const records = await originalRecords(fixtures.find((fixture) => fixture.name === 'churn-8bit-rollovers.trace.gz') as Fixture);
  assert.ok(records.length > 4096, `${records.length} records`);
  const sizes: number[] = [];
  const back: ReadRecord[] = [];
  for await (const batch of readRecords(inChunks(await toMsgpack(records, 4096), 1 << 16), { file: 'b.msgpack' })) {
    sizes.push(batch.length);
    back.push(...batch);
  }
  assert.ok(Math.max(...sizes) <= 512, `batches of ${Math.max(...sizes)}`);
  assert.deepStrictEqual(back.map((record) => (record.type === 'unused-events' ? record : plainRecord(record))), records);
});

test('the MessagePack form is smaller than the text it came from', async () => {
  for (const fixture of fixtures.slice(1)) {
    const packed = await toMsgpack(await originalRecords(fixture));
    assert.ok(packed.length < textOf(fixture).length, `${fixture.name}: ${packed.length} bytes, text ${textOf(fixture).length}`);
  }
});

/** The ftrace text convert writes for these records. */
function ftraceText(records: readonly TraceRecord[], dropped: Map<string, number>): string {
  const writer = new FtraceTextWriter(dropped);
  return records.map((record) => writer.push(record)).join('') + writer.end();
}

test('text -> msgpack -> ftrace text gives the input back, byte for byte, CRLF line ends included', async () => {
  const crlf: Fixture = { name: 'synthetic-crlf.trace', bytes: Buffer.from(`${synthetic.replaceAll('\n', '\r\n')}\r\n`) };
  for (const fixture of [...fixtures, crlf]) {
    const packed = await toMsgpack(await originalRecords(fixture));
    const dropped = new Map<string, number>();
    // Nothing follows the last line to tell its line end: it ends in LF (the same records).
    const expected = textOf(fixture).toString('utf8').replace(/\r\n$/, '\n');
    assert.equal(ftraceText(await recordsOf(packed, 'copy.msgpack'), dropped), expected, fixture.name);
    if (fixture === crlf) assert.deepStrictEqual(await recordsOf(Buffer.from(expected), fixture.name), await originalRecords(fixture));
    assert.equal(dropped.size, 0, fixture.name);
  }
  assert.match(textOf(crlf).toString('utf8'), /\r\n.*\r\n/s);
  // Without a final line end, the last line comes back with one: the same records.
  const unterminated = await recordsOf(Buffer.from(synthetic), 'u.trace');
  assert.equal(ftraceText(await recordsOf(await toMsgpack(unterminated), 'u.msgpack'), new Map()), `${synthetic}\n`);
});

test('reading with chunk sizes 1, 7 and 4096 and blocks of 1, 5 and 4096 records gives the same records', async () => {
  const small = fixtures.filter((fixture) => ['synthetic.trace', 'mixed-hazards.trace'].includes(fixture.name));
  assert.equal(small.length, 2);
  for (const fixture of small) {
    const records = await originalRecords(fixture);
    for (const blockRecords of [1, 5, 4096]) {
      const packed = await toMsgpack(records, blockRecords);
      for (const chunk of [1, 7, 4096]) {
        assert.deepStrictEqual(await recordsOf(packed, 'x.msgpack', chunk), records, `${fixture.name}, blocks of ${blockRecords}, chunks of ${chunk}`);
      }
    }
  }
  const large = fixtures.find((fixture) => fixture.name === 'capture-a57-8bit-portable-tgid.trace.gz') as Fixture;
  const records = await originalRecords(large);
  const packed = await toMsgpack(records);
  for (const chunk of [7, 4096]) assert.deepStrictEqual(await recordsOf(packed, 'x.msgpack', chunk), records, `${large.name}, chunks of ${chunk}`);
});

test('a source that reuses one buffer for every chunk gives the same records (files are read into reused buffers)', async () => {
  const large = fixtures.find((fixture) => fixture.name === 'capture-a57-8bit-portable-tgid.trace.gz') as Fixture;
  const records = await originalRecords(large);
  const packed = await toMsgpack(records, 700);
  for (const size of [7, 4096, 1 << 16]) {
    assert.deepStrictEqual(plainRecords(await readAllRecords(inReusedBuffer(packed, size), { file: 'x.msgpack' })), records, `chunks of ${size}`);
    assert.deepStrictEqual(plainRecords(await readAllRecords(inReusedBuffer(gzipSync(packed), size), { file: 'x.msgpack' })), records, `gzip, chunks of ${size}`);
  }
});

test('sniffing picks the MessagePack form by its content, whatever the name; gzip of it too', async () => {
  const records = await originalRecords(fixtures[1] as Fixture);
  const packed = await toMsgpack(records);
  for (const name of ['trace.txt', 'trace.csv', 'trace']) {
    assert.equal(chooseImporter(packed.toString('latin1'), { file: name }).format, 'msgpack', name);
    assert.deepStrictEqual(await recordsOf(packed, name), records, name);
  }
  assert.deepStrictEqual(await recordsOf(gzipSync(packed), 'trace.txt.gz'), records);
  assert.notEqual(chooseImporter(textOf(fixtures[1] as Fixture).toString('latin1'), { file: 'x.msgpack' }).format, 'msgpack');
});

test('a file cut anywhere ends in the documented error naming the byte offset of the cut frame', async () => {
  const records = await originalRecords(fixtures[0] as Fixture);
  const packed = await toMsgpack(records, 4);
  // Frame starts: after the magic, then each frame's 8-byte head plus its length.
  const frameStarts: number[] = [];
  for (let at = msgpackMagic.length; at < packed.length; at += 8 + packed.readUInt32BE(at)) frameStarts.push(at);
  assert.ok(frameStarts.length >= 5, 'header, blocks and end frame');
  for (let cut = 1; cut < packed.length; cut++) {
    const error = await readError(packed.subarray(0, cut), 'cut.msgpack');
    assertDocumentedError(error, 'cut.msgpack');
    const at = Number(/at byte (\d+)/.exec(error.message)?.[1]);
    const expectedAt = cut < msgpackMagic.length ? 0 : Math.max(msgpackMagic.length, ...frameStarts.filter((start) => start <= cut));
    assert.equal(at, expectedAt, `cut at ${cut}: ${error.message}`);
    assert.match(error.message, /truncated|magic/, `cut at ${cut}`);
  }
});

test('a corrupted byte after the magic ends in the documented error, never in other records', async () => {
  const records = await originalRecords(fixtures[0] as Fixture);
  const packed = await toMsgpack(records, 4);
  for (let at = msgpackMagic.length; at < packed.length; at++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bad = Buffer.from(packed);
      bad[at] = (bad[at] as number) ^ mask;
      const error = await readError(bad, 'bad.msgpack');
      assertDocumentedError(error, 'bad.msgpack');
    }
  }
});

test('version 1 and 2 files (no meaning columns; v1: integer columns as MessagePack arrays) still read to the records of their trace', async () => {
  // Written by the version 1 writer (commit 09f46f6) from traces/mixed-hazards.trace, 16 records a block.
  const v1 = readFileSync(join(process.cwd(), 'test', 'ingest', 'fixtures', 'mixed-hazards.v1.msgpack'));
  const header = decode(v1.subarray(msgpackMagic.length + 8, msgpackMagic.length + 8 + v1.readUInt32BE(msgpackMagic.length))) as { version: number };
  assert.equal(header.version, 1);
  const expected = await recordsOf(readFileSync(join(tracesDir, 'mixed-hazards.trace')), 'mixed-hazards.trace');
  for (const chunk of [7, 4096, 1 << 16]) assert.deepEqual(await recordsOf(v1, 'x.msgpack', chunk), expected);
  // Written by the version 2 writer (as of commit c0c44d9) from the same trace, 16 records a block.
  const v2 = readFileSync(join(process.cwd(), 'test', 'ingest', 'fixtures', 'mixed-hazards.v2.msgpack'));
  assert.equal((decode(v2.subarray(msgpackMagic.length + 8, msgpackMagic.length + 8 + v2.readUInt32BE(msgpackMagic.length))) as { version: number }).version, 2);
  for (const chunk of [7, 4096, 1 << 16]) assert.deepEqual(await recordsOf(v2, 'y.msgpack', chunk), expected);
  // And version 3 is what the writer writes now.
  const v3 = await toMsgpack(expected, 16);
  assert.equal((decode(v3.subarray(msgpackMagic.length + 8, msgpackMagic.length + 8 + v3.readUInt32BE(msgpackMagic.length))) as { version: number }).version, 3);
  assert.deepEqual(await recordsOf(v3, 'z.msgpack'), expected);
});

test('trailing bytes after the end frame and an unknown version are errors', async () => {
  const packed = await toMsgpack(await originalRecords(fixtures[0] as Fixture));
  assertDocumentedError(await readError(Buffer.concat([packed, Buffer.from([0])]), 'trail.msgpack'), 'trail.msgpack');
  const header = frame(encode({ k: 'header', format: 'vmid-replay-msgpack', version: 4, source: 's', blockRecords: 4096 }));
  const error = await readError(Buffer.concat([msgpackMagic, header]), 'v4.msgpack');
  assertDocumentedError(error, 'v4.msgpack');
  assert.match(error.message, /expected format version 1, 2 or 3, found 4/);
});

/** The values of a version 2 column (msgpackFormat.ts, encodeColumn). */
function columnValues(bytes: Uint8Array): number[] {
  const width = bytes[0] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: number[] = [];
  for (let at = 1; at < bytes.length; at += width) {
    values.push(width === 1 ? view.getInt8(at) : width === 2 ? view.getInt16(at, true) : width === 4 ? view.getInt32(at, true) : view.getFloat64(at, true));
  }
  return values;
}

/** A decoded version 2 block's strings, and the same put back. */
function stringsOf(block: Record<string, unknown>): string[] {
  const blob = Buffer.from(block['strings'] as Uint8Array);
  let start = 0;
  return columnValues(block['stringEnds'] as Uint8Array).map((end) => blob.toString('utf8', start, (start = end)));
}

function setStrings(block: Record<string, unknown>, strings: readonly string[]): void {
  const encoded = strings.map((text) => Buffer.from(text));
  let end = 0;
  block['strings'] = Buffer.concat(encoded);
  block['stringEnds'] = encodeColumn(encoded.map((bytes) => (end += bytes.length)));
}

/** Magic and header frame of a valid file. */
const validHead = Buffer.concat([msgpackMagic, frame(encode({ k: 'header', format: 'vmid-replay-msgpack', version: msgpackFormatVersion, source: 's.trace', blockRecords: 4096 }))]);

test('property: arbitrary bytes after a valid header give records or the documented error', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (tail) => {
      const error = await readError(Buffer.concat([validHead, tail]), 'fuzz.msgpack');
      if (error !== undefined) assertDocumentedError(error, 'fuzz.msgpack');
    }),
    { numRuns: 300 },
  );
});

test('property: frames with a valid CRC holding arbitrary MessagePack give records or the documented error', async () => {
  const column = fc.oneof(fc.array(fc.integer({ min: -3, max: 5 }), { maxLength: 4 }), fc.uint8Array({ max: 7, maxLength: 4 }), fc.anything());
  const block = fc.record(
    {
      k: fc.constantFrom('block', 'end', 'other'),
      n: fc.integer({ min: -1, max: 4 }),
      line: fc.integer({ min: -1, max: 3 }),
      offset: fc.integer({ min: -1, max: 3 }),
      strings: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.anything()),
      type: column,
      text: column,
      dLine: column,
      dOffset: column,
      event: fc.oneof(fc.record({ task: column, pid: column, tgid: column, cpu: column, flags: column, ts: column, ns: column, name: column, body: column, shape: column }), fc.anything()),
      lost: fc.oneof(fc.record({ cpu: column, count: column }), fc.anything()),
      bufferStarted: fc.oneof(fc.record({ cpu: column }), fc.anything()),
      malformed: fc.oneof(fc.record({ expected: column }), fc.anything()),
      records: fc.integer({ min: 0, max: 4 }),
      blocks: fc.integer({ min: 0, max: 2 }),
    },
    { requiredKeys: ['k'] },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(block, fc.anything()), { maxLength: 3 }), async (docs) => {
      const frames = docs.map((doc) => frame(encode(doc)));
      const error = await readError(Buffer.concat([validHead, ...frames]), 'crafted.msgpack');
      if (error !== undefined) assertDocumentedError(error, 'crafted.msgpack');
    }),
    { numRuns: 500 },
  );
});

/** Records a reader gave: every field of the type its record type declares. */
function assertWellFormed(records: readonly TraceRecord[]): void {
  const isInt = (value: unknown, min: number) => typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
  for (const record of records) {
    assert.ok(isInt(record.span.line, 1) && isInt(record.span.offset, 0) && typeof record.span.file === 'string', JSON.stringify(record.span));
    assert.equal(typeof record.text, 'string');
    if (record.type === 'event') {
      assert.ok(isInt(record.pid, -1) && isInt(record.cpu, 0) && isInt(record.tsUs, 0) && isInt(record.tsNs, 0) && record.tsNs < 1000, JSON.stringify(record));
      assert.ok(record.tgid === undefined || record.tgid === null || isInt(record.tgid, 0), JSON.stringify(record));
      assert.ok(typeof record.task === 'string' && typeof record.name === 'string' && typeof record.body === 'string');
      assert.ok(record.flags === undefined || typeof record.flags === 'string');
    }
    if (record.type === 'lost') assert.ok(isInt(record.cpu, 0) && isInt(record.count, 0), JSON.stringify(record));
    if (record.type === 'buffer-started') assert.ok(isInt(record.cpu, 0), JSON.stringify(record));
    if (record.type === 'malformed') assert.equal(typeof record.expected, 'string');
  }
}

test('property: a real block with one column replaced gives well-formed records or the documented error', async () => {
  const packed = await toMsgpack(await originalRecords(fixtures[0] as Fixture));
  const headerEnd = msgpackMagic.length + 8 + packed.readUInt32BE(msgpackMagic.length);
  const blockLength = packed.readUInt32BE(headerEnd);
  const block = decode(packed.subarray(headerEnd + 8, headerEnd + 8 + blockLength)) as Record<string, unknown>;
  const records = (block as { n: number }).n;
  const end = frame(encode({ k: 'end', records, blocks: 1 }));
  const paths = Object.entries(block).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value) ? Object.keys(value).map((sub) => [key, sub]) : [[key]],
  );
  assert.ok(paths.length > 20);
  const replacement = fc.oneof(
    fc.anything(),
    fc.array(fc.oneof(fc.integer({ min: -5, max: 40 }), fc.double(), fc.string()), { minLength: 0, maxLength: 20 }),
    fc.uint8Array({ minLength: records - 1, maxLength: records + 1 }),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...paths), replacement, async (path, value) => {
      const copy = structuredClone(block) as Record<string, Record<string, unknown>>;
      const [key, sub] = path as [string, string | undefined];
      if (sub === undefined) copy[key] = value as Record<string, unknown>;
      else (copy[key] as Record<string, unknown>)[sub] = value;
      const bytes = Buffer.concat([validHead, frame(encode(copy)), end]);
      try {
        assertWellFormed(await recordsOf(bytes, 'mutated.msgpack'));
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assertDocumentedError(error, 'mutated.msgpack');
      }
    }),
    { numRuns: 1000 },
  );
});

test('property: with a filter, a block with one column replaced fails the same way, or gives the same records with refused events counted', async () => {
  const packed = await toMsgpack(await originalRecords(fixtures[0] as Fixture));
  const headerEnd = msgpackMagic.length + 8 + packed.readUInt32BE(msgpackMagic.length);
  const blockLength = packed.readUInt32BE(headerEnd);
  const block = decode(packed.subarray(headerEnd + 8, headerEnd + 8 + blockLength)) as Record<string, Record<string, unknown>>;
  const records = (block as unknown as { n: number }).n;
  const end = frame(encode({ k: 'end', records, blocks: 1 }));
  const columns = Object.keys(block['event'] as object).filter((key) => key !== 'shape' && key !== 'meaning').concat('text', 'strings');
  const refused = (name: string, opensWithLocation: boolean): boolean => name.length % 2 === 0 || opensWithLocation;
  const outcome = async (bytes: Uint8Array, wantEvent?: (name: string, opens: boolean) => boolean): Promise<ReadRecord[] | string> => {
    try {
      const out: ReadRecord[] = [];
      for await (const batch of readRecords(inChunks(bytes, 1 << 16), { file: 'm', ...(wantEvent === undefined ? {} : { wantEvent }) })) out.push(...batch);
      return out;
    } catch (error) {
      assertDocumentedError(error, 'm');
      return error.message;
    }
  };
  let compared = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...columns), fc.nat(), fc.oneof(fc.integer({ min: -2, max: 40 }), fc.constantFrom('\u0000', 'x\u0000y', '(a', '')), async (column, at, value) => {
      const copy = structuredClone(block);
      if (column === 'strings') {
        const strings = stringsOf(copy);
        strings[at % strings.length] = String(value);
        setStrings(copy, strings);
      } else {
        const target = column === 'text' ? copy : (copy['event'] as Record<string, unknown>);
        const values = columnValues(target[column] as Uint8Array);
        if (values.length === 0) return;
        values[at % values.length] = typeof value === 'number' ? value : values.length;
        target[column] = encodeColumn(values);
      }
      const bytes = Buffer.concat([validHead, frame(encode(copy)), end]);
      const full = await outcome(bytes);
      const filtered = await outcome(bytes, (name, opens) => !refused(name, opens));
      if (typeof full === 'string') {
        assert.equal(filtered, full);
        return;
      }
      assert.ok(typeof filtered !== 'string', filtered as string);
      const kept = full.filter((record) => record.type !== 'event' || !refused(record.name, record.body.startsWith('(')));
      assert.deepEqual(filtered.filter((record) => record.type !== 'unused-events'), kept);
      const counted = filtered.flatMap((record) => (record.type === 'unused-events' ? [...record.countsByName.values()] : [])).reduce((a, b) => a + b, 0);
      assert.equal(counted, full.length - kept.length);
      compared += 1;
    }),
    { numRuns: 400 },
  );
  assert.ok(compared > 50, `${compared} runs read without error`);
});

test('a template without its timestamp mark is the documented error, read with a filter or without', async () => {
  const packed = await toMsgpack(await originalRecords(fixtures[0] as Fixture));
  const headerEnd = msgpackMagic.length + 8 + packed.readUInt32BE(msgpackMagic.length);
  const blockLength = packed.readUInt32BE(headerEnd);
  const block = decode(packed.subarray(headerEnd + 8, headerEnd + 8 + blockLength)) as Record<string, unknown> & { n: number };
  const strings = stringsOf(block);
  const marked = strings.findIndex((text) => text.includes('\u0000'));
  assert.ok(marked >= 0, 'the fixture has templated events');
  strings[marked] = (strings[marked] as string).replace('\u0000', '1.000001');
  setStrings(block, strings);
  const bytes = Buffer.concat([validHead, frame(encode(block)), frame(encode({ k: 'end', records: block.n, blocks: 1 }))]);
  for (const wantEvent of [undefined, () => false, () => true]) {
    await assert.rejects(
      async () => {
        for await (const batch of readRecords(inChunks(bytes, 1 << 16), { file: 'm', ...(wantEvent === undefined ? {} : { wantEvent }) })) assert.ok(batch.length > 0);
      },
      (error: unknown) => error instanceof VmidReplayError && /text template to hold one timestamp mark/.test(error.message),
    );
  }
});

test('a frame with a bad CRC is reported at its own offset', async () => {
  const payload = encode({ k: 'end', records: 0, blocks: 0 });
  const bad = Buffer.concat([validHead, frame(payload)]);
  bad.writeUInt32BE((crc32(payload) + 1) >>> 0, validHead.length + 4);
  const error = await readError(bad, 'crc.msgpack');
  assertDocumentedError(error, 'crc.msgpack');
  assert.match(error.message, new RegExp(`at byte ${validHead.length}: the frame's CRC-32 does not match`));
  assert.deepStrictEqual(await recordsOf(Buffer.concat([validHead, frame(payload)]), 'empty.msgpack'), []);
});

test('a frame that claims 0 bytes is named at its own offset, whatever the chunking', async () => {
  const empty = frame(new Uint8Array(0));
  const end = frame(encode({ k: 'end', records: 0, blocks: 0 }));
  const bytes = Buffer.concat([validHead, empty, end]);
  for (const chunk of [1, 3, 9, 64, bytes.length]) {
    let error: unknown;
    try {
      await readAllRecords(inChunks(bytes, chunk), { file: 'z.msgpack' });
    } catch (caught) {
      error = caught;
    }
    assertDocumentedError(error, 'z.msgpack');
    assert.match(error.message, new RegExp(`at byte ${validHead.length}: the frame is not valid MessagePack`), `chunk ${chunk}: ${error.message}`);
  }
});
