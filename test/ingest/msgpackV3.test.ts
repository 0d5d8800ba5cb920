/**
 * MessagePack version 3's meaning columns (docs/msgpack-format.md): what the writer was told
 * each event line means comes back with the line's record, wherever blocks and chunks are cut;
 * a damaged meaning column is the documented error naming the file and the block.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import { VmidReplayError } from '../../src/errors.js';
import { msgpackMagic } from '../../src/ingest/msgpack/msgpackFormat.js';
import { encodeMsgpackTrace, frame, type MeaningOf } from '../../src/ingest/writers/msgpackWriter.js';
import { plainRecord, type EventRecord, type TraceRecord } from '../../src/ingest/records.js';
import { inChunks, readAllRecords } from './chunks.js';

const mixed = readFileSync(join(process.cwd(), 'traces', 'mixed-hazards.trace'));

/**
 * A meaning for every event line that ingest can carry without knowing events: any byte up to
 * 63, a pointer-like string for some, any integer. Made from the line number, so a record read
 * back can be checked against what was written for it.
 */
const meaningOf: MeaningOf = (record) => {
  const line = record.span.line;
  return { meaning: line % 64, vm: line % 3 === 0 ? undefined : `0xffff${line.toString(16)}`, value: line % 5 === 0 ? -(2 ** 40) - line : line * 7 };
};

async function encoded(records: readonly TraceRecord[], blockRecords: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of encodeMsgpackTrace(
    (async function* () {
      yield records;
    })(),
    { source: 'mixed-hazards.trace', blockRecords, meaningOf },
  )) {
    out.push(chunk);
  }
  return Buffer.concat(out);
}

/** A record with what it carries of its meaning, as plain data. */
function withMeaning(record: TraceRecord): unknown {
  if (record.type !== 'event') return plainRecord(record);
  return { ...plainRecord(record), meaning: record.precodedMeaning, vm: record.precodedVm, value: record.precodedValue };
}

const original = await readAllRecords(inChunks(mixed, 1 << 16), { file: 'mixed-hazards.trace' });

test('property: each event comes back with the meaning written for it, whatever the block size and chunking', async () => {
  const expected = original.map((record) => (record.type === 'event' ? { ...plainRecord(record), ...meaningOf(record) } : plainRecord(record)));
  assert.ok(original.filter((record) => record.type === 'event').length > 50);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 300 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }), async (blockRecords, chunks) => {
      const bytes = await encoded(original, blockRecords);
      const back = await readAllRecords(inChunks(bytes, chunks), { file: 'x.msgpack' });
      assert.deepStrictEqual(back.map(withMeaning), expected);
    }),
    { numRuns: 40 },
  );
});

test('with a filter, the kept events keep their meaning', async () => {
  const bytes = await encoded(original, 16);
  const kept = (await readAllRecords(inChunks(bytes, 1 << 16), { file: 'x.msgpack', wantEvent: (name) => name.startsWith('vm') })).filter((record): record is EventRecord => record.type === 'event');
  assert.ok(kept.length > 0);
  for (const record of kept) assert.deepStrictEqual({ meaning: record.precodedMeaning, vm: record.precodedVm, value: record.precodedValue }, meaningOf(record));
});

/** The frames of a file: where each starts, and its decoded payload. */
function framesOf(bytes: Buffer): { at: number; doc: Record<string, unknown> }[] {
  const frames: { at: number; doc: Record<string, unknown> }[] = [];
  for (let at = msgpackMagic.length; at < bytes.length; at += 8 + bytes.readUInt32BE(at)) frames.push({ at, doc: decode(bytes.subarray(at + 8, at + 8 + bytes.readUInt32BE(at))) as Record<string, unknown> });
  return frames;
}

async function readError(bytes: Uint8Array, file: string): Promise<VmidReplayError> {
  try {
    await readAllRecords(inChunks(bytes, 4096), { file });
  } catch (error) {
    assert.ok(error instanceof VmidReplayError, String(error));
    assert.equal(error.code, 'INPUT_CORRUPT');
    assert.equal(error.exitCode, 65);
    return error;
  }
  assert.fail('expected the read to fail');
}

/** The file with block `k` (1-based) changed by `edit`, its frame rewritten with a valid CRC. */
function withBlockEdited(bytes: Buffer, k: number, edit: (events: Record<string, unknown>) => void): Buffer {
  const frames = framesOf(bytes);
  const target = frames[k] as { at: number; doc: Record<string, unknown> };
  const doc = structuredClone(target.doc);
  edit(doc['event'] as Record<string, unknown>);
  const length = bytes.readUInt32BE(target.at);
  return Buffer.concat([bytes.subarray(0, target.at), frame(encode(doc)), bytes.subarray(target.at + 8 + length)]);
}

test('a damaged meaning column names the file, the frame offset and the block', async () => {
  const bytes = await encoded(original, 16);
  const frames = framesOf(bytes);
  assert.ok(frames.length > 5);
  const cases: [string, (events: Record<string, unknown>) => void, RegExp][] = [
    ['a meaning byte above 63', (events) => ((events['meaning'] as Uint8Array)[0] = 64), /meaning byte to be at most 63, found 64/],
    ['a VM index past the strings', (events) => (events['vm'] = Uint8Array.from([1, ...new Array<number>((events['meaning'] as Uint8Array).length).fill(127)])), /expected vm to index the block's \d+ strings, found 127/],
    ['no meaning column', (events) => delete events['meaning'], /expected meaning to be \d+ bytes/],
    ['a value column one short', (events) => (events['value'] = Uint8Array.from([1, ...new Array<number>((events['meaning'] as Uint8Array).length - 1).fill(0)])), /expected value to be a column of \d+ integers/],
  ];
  for (const [what, edit, message] of cases) {
    const error = await readError(withBlockEdited(bytes, 3, edit), 'damaged.msgpack');
    const at = (framesOf(bytes)[3] as { at: number }).at;
    assert.match(error.message, new RegExp(`^damaged\\.msgpack: MessagePack trace: at byte ${at}: `), what);
    assert.match(error.message, message, what);
    assert.match(error.message, /: the file is corrupt \(block 3\)$/, what);
  }
});

test('a file cut inside its second block names the frame it was cut in', async () => {
  const bytes = await encoded(original, 16);
  const second = framesOf(bytes)[2] as { at: number };
  const error = await readError(bytes.subarray(0, second.at + 20), 'cut.msgpack');
  assert.match(error.message, new RegExp(`at byte ${second.at}: the frame claims \\d+ bytes but the file ends after 12: it is truncated \\(frame 2\\)$`));
});
