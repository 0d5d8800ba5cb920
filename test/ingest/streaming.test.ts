/**
 * Streaming: whatever the chunk boundaries (1 byte, 7, 4096, the whole input, or arbitrary),
 * ingest yields the same records, with line numbers and byte offsets of the decompressed input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { VmidReplayError } from '../../src/errors.js';
import { LineSplitter, type RawLine } from '../../src/ingest/lines/lineSplitter.js';
import type { TraceRecord } from '../../src/ingest/records.js';
import { capturesRoot, everyFtraceLineKind, inChunks, inReusedBuffer, readAllRecords } from './chunks.js';

interface Fixture {
  readonly name: string;
  readonly bytes: Buffer;
  /** The decompressed text, to check spans against. */
  readonly text: Buffer;
}

const captureText = new Map<string, Buffer>();

/** Lines [from, from + count) of a real capture, ending with a newline. */
function captureExcerpt(folder: string, file: string, from: number, count: number): Buffer {
  const key = `${folder}/${file}`;
  let text = captureText.get(key);
  if (text === undefined) {
    text = gunzipSync(readFileSync(join(capturesRoot, folder, file)));
    captureText.set(key, text);
  }
  let start = 0;
  for (let i = 0; i < from; i++) start = text.indexOf(0x0a, start) + 1;
  let end = start;
  for (let i = 0; i < count; i++) end = text.indexOf(0x0a, end) + 1;
  assert.ok(start >= 0 && end > start, `${key} has lines ${from}..${from + count}`);
  return text.subarray(start, end);
}

/** The line index of the first line containing `needle`. */
function lineOf(folder: string, file: string, needle: string): number {
  captureExcerpt(folder, file, 0, 1);
  const text = captureText.get(`${folder}/${file}`) as Buffer;
  const at = text.indexOf(needle);
  assert.ok(at > 0, `${needle} in ${folder}`);
  let line = 0;
  for (let i = text.indexOf(0x0a); i !== -1 && i < at; i = text.indexOf(0x0a, i + 1)) line++;
  return line;
}

const synthetic = everyFtraceLineKind;

function fixtures(): Fixture[] {
  const lf = Buffer.from(synthetic.join('\n') + '\n');
  const crlf = Buffer.from(synthetic.join('\r\n') + '\r\n');
  const noFinalNewline = Buffer.from(synthetic.join('\n'));
  const rolloverAt = lineOf('a57-8bit-nvhe-full', 'trace.txt.gz', ' rollover: ');
  const full = captureExcerpt('a57-8bit-nvhe-full', 'trace.txt.gz', 0, 2000);
  const aroundRollover = captureExcerpt('a57-8bit-nvhe-full', 'trace.txt.gz', rolloverAt - 1000, 2000);
  const tgid = captureExcerpt('a57-8bit-nvhe-portable-tgid', 'trace.txt.gz', 0, 2000);
  const pipe = captureExcerpt('a57-8bit-nvhe-trace-pipe', 'trace_pipe.txt.gz', 1000, 2000);
  const vhe16 = captureExcerpt('max-16bit-vhe-full', 'trace.txt.gz', 20_000, 2000);
  const gzipped = Buffer.concat([full, aroundRollover]);
  return [
    { name: 'synthetic, LF', bytes: lf, text: lf },
    { name: 'synthetic, CRLF', bytes: crlf, text: crlf },
    { name: 'synthetic, no final newline', bytes: noFinalNewline, text: noFinalNewline },
    { name: 'a57 8-bit full: header and first 2000 lines', bytes: full, text: full },
    { name: 'a57 8-bit full: 2000 lines around a rollover', bytes: aroundRollover, text: aroundRollover },
    { name: 'a57 8-bit TGID: first 2000 lines', bytes: tgid, text: tgid },
    { name: 'a57 8-bit trace_pipe: 2000 lines', bytes: pipe, text: pipe },
    { name: '16-bit VHE: 2000 lines', bytes: vhe16, text: vhe16 },
    { name: 'gzip of 4000 real lines', bytes: gzipSync(gzipped), text: gzipped },
    // Two gzip members back to back, as `cat a.gz b.gz` makes.
    { name: 'two gzip members', bytes: Buffer.concat([gzipSync(lf), gzipSync(crlf)]), text: Buffer.concat([lf, crlf]) },
  ];
}

/** The lines of `text` with their byte offsets, split independently of LineSplitter. */
function linesOf(text: Buffer): { offset: number; bytes: Buffer }[] {
  const out: { offset: number; bytes: Buffer }[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf(0x0a, start);
    const end = nl === -1 ? text.length : nl;
    out.push({ offset: start, bytes: text.subarray(start, end) });
    start = end + 1;
  }
  return out;
}

/** Each record sits at its line's byte offset and holds that line's text (without the CR). */
function assertSpansMatch(records: readonly TraceRecord[], text: Buffer, where: string): void {
  const lines = linesOf(text);
  assert.equal(records.length, lines.length, `${where}: one record per line`);
  records.forEach((record, i) => {
    const line = lines[i] as { offset: number; bytes: Buffer };
    assert.deepEqual([record.span.line, record.span.offset], [i + 1, line.offset], `${where}: line ${i + 1}`);
    let end = line.bytes.length;
    if (end > 0 && line.bytes[end - 1] === 0x0d) end -= 1;
    assert.equal(record.text, line.bytes.toString('utf8', 0, end), `${where}: line ${i + 1}`);
  });
}

const allFixtures = fixtures();

test('fixtures are present and varied', () => {
  assert.equal(allFixtures.length, 10);
  for (const fixture of allFixtures) assert.ok(fixture.bytes.length > 500, fixture.name);
  assert.ok(allFixtures.some((fixture) => fixture.bytes[0] === 0x1f && fixture.bytes[1] === 0x8b), 'a gzip fixture');
});

for (const fixture of allFixtures) {
  test(`chunk sizes 1, 7, 4096 and whole give identical records: ${fixture.name}`, async () => {
    const whole = await readAllRecords(inChunks(fixture.bytes, fixture.bytes.length), { file: 'fixture' });
    assert.ok(whole.length > 10, `${whole.length} records`);
    if (!fixture.name.startsWith('synthetic') && !fixture.name.startsWith('two')) assert.ok(whole.length >= 2000, `${whole.length} records`);
    assertSpansMatch(whole, fixture.text, fixture.name);
    for (const size of [1, 7, 4096]) {
      const chunked = await readAllRecords(inChunks(fixture.bytes, size), { file: 'fixture' });
      assert.deepEqual(chunked, whole, `chunk size ${size}`);
    }
  });
}

test('real excerpts are events and headers only, the rollover excerpt holds the rollover', async () => {
  const real = allFixtures.filter((fixture) => /a57|16-bit|gzip of/.test(fixture.name));
  assert.equal(real.length, 6);
  for (const fixture of real) {
    const records = await readAllRecords(inChunks(fixture.bytes, 4096), { file: 'fixture' });
    const types = new Set(records.map((record) => record.type));
    assert.ok(types.has('event'), fixture.name);
    assert.deepEqual([...types].filter((type) => type !== 'event' && type !== 'header'), [], fixture.name);
    if (fixture.name.includes('rollover')) {
      assert.ok(records.some((record) => record.type === 'event' && record.name === 'rollover'), fixture.name);
    }
  }
});

test('a source that reuses one buffer for every chunk gives the same records, plain and gzip', async () => {
  const subjects = allFixtures.filter((fixture) => fixture.name === 'synthetic, CRLF' || fixture.name === 'two gzip members' || fixture.name.startsWith('gzip'));
  assert.equal(subjects.length, 3);
  for (const fixture of subjects) {
    const whole = await readAllRecords(inChunks(fixture.bytes, fixture.bytes.length), { file: 'fixture' });
    // Byte by byte through the large gzip adds seconds and nothing the small one does not cover.
    for (const size of fixture.bytes.length > 10_000 ? [7, 4096] : [1, 7, 4096]) {
      assert.deepEqual(await readAllRecords(inReusedBuffer(fixture.bytes, size), { file: 'fixture' }), whole, `${fixture.name}, size ${size}`);
    }
  }
});

test('empty chunks anywhere, including first, change nothing (gzip magic split across chunks)', async () => {
  const gz = allFixtures.find((fixture) => fixture.name === 'two gzip members') as Fixture;
  const whole = await readAllRecords(inChunks(gz.bytes, gz.bytes.length), { file: 'fixture' });
  assert.ok(whole.length > 0);
  assert.deepEqual(await readAllRecords(inChunks(gz.bytes, [0, 1, 0, 0, 1, 5, 0]), { file: 'fixture' }), whole);
  assert.deepEqual(await readAllRecords(inChunks(Buffer.from('\n\n'), [0, 1]), { file: 'f' }), [
    { type: 'header', span: { file: 'f', line: 1, offset: 0 }, text: '' },
    { type: 'header', span: { file: 'f', line: 2, offset: 1 }, text: '' },
  ]);
  assert.deepEqual(await readAllRecords(inChunks(Buffer.alloc(0), 1), { file: 'f' }), []);
  // One byte only: not enough for the gzip magic, still a line.
  assert.deepEqual(await readAllRecords(inChunks(Buffer.from('#'), 1), { file: 'f' }), [{ type: 'header', span: { file: 'f', line: 1, offset: 0 }, text: '#' }]);
});

test('property: arbitrary chunk boundaries give identical records', async () => {
  const small = allFixtures.filter((fixture) => fixture.bytes.length < 4000 || fixture.name.includes('rollover'));
  assert.ok(small.length >= 4);
  const trimmed = small.map((fixture) => (fixture.name.includes('rollover') ? { ...fixture, bytes: fixture.bytes.subarray(0, 20_000) } : fixture));
  assert.ok(trimmed.some((fixture) => fixture.bytes[0] === 0x1f), 'a gzip fixture among them');
  const expected = await Promise.all(trimmed.map((fixture) => readAllRecords(inChunks(fixture.bytes, fixture.bytes.length), { file: 'fixture' })));
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: trimmed.length - 1 }),
      fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 40 }).filter((sizes) => sizes.some((size) => size > 0)),
      async (which, sizes) => {
        const fixture = trimmed[which] as Fixture;
        assert.deepEqual(await readAllRecords(inChunks(fixture.bytes, sizes), { file: 'fixture' }), expected[which]);
      },
    ),
    { numRuns: 300, includeErrorInReport: true },
  );
});

/** A line made of pieces that stress the splitter: multi-byte characters, CRs, runs of bytes. */
const pieceArb = fc.constantFrom('a', ' ', '-', 'é', '虚', '🦀', '\r', '\u0000', 'x'.repeat(20), '  a-1 [000] d..1. 1.000001: n: b');

test('property: LineSplitter agrees with a plain split on any text, chunking and line limit', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(pieceArb, { maxLength: 8 }).map((pieces) => pieces.join('')), { maxLength: 12 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 80 }),
      fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 20 }).filter((sizes) => sizes.some((size) => size > 0)),
      (lines, finalNewline, maxLineBytes, sizes) => {
        const text = Buffer.from(lines.join('\n') + (finalNewline && lines.length > 0 ? '\n' : ''));
        const splitter = new LineSplitter(maxLineBytes);
        const out: RawLine[] = [];
        let at = 0;
        for (let i = 0; at < text.length; i++) {
          const size = sizes[i % sizes.length] as number;
          splitter.push(text.subarray(at, at + size), (line) => out.push(line));
          at += size;
        }
        splitter.end((line) => out.push(line));
        const reference = linesOf(text).map((line, i) => {
          let end = line.bytes.length;
          if (end > 0 && line.bytes[end - 1] === 0x0d) end -= 1;
          const truncated = end > maxLineBytes;
          return { text: line.bytes.toString('utf8', 0, truncated ? maxLineBytes : end), line: i + 1, offset: line.offset, truncated };
        });
        assert.deepEqual(out, reference);
      },
    ),
    { numRuns: 2000, includeErrorInReport: true },
  );
});

test('a line over maxLineBytes is one malformed record; later lines keep their numbers and byte offsets', async () => {
  const lines = [
    '  a-1 [000] d..1. 1.000001: first: x=1',
    `  a-1 [000] d..1. 1.000002: long: ${'v'.repeat(5000)}`,
    '  a-1 [000] d..1. 1.000003: after: x=3',
    'x'.repeat(64),
    'y'.repeat(65),
    '  a-1 [000] d..1. 1.000004: last: x=4',
  ];
  const bytes = Buffer.from(lines.join('\n') + '\n');
  const expected = (records: TraceRecord[]): void => {
    assert.deepEqual(
      records.map((record) => [record.type, record.span.line, record.span.offset]),
      [
        ['event', 1, 0],
        ['malformed', 2, 39],
        ['event', 3, 5074],
        ['malformed', 4, 5113],
        ['malformed', 5, 5178],
        ['event', 6, 5244],
      ],
    );
    const long = records[1] as TraceRecord;
    if (long.type !== 'malformed') assert.fail('the long line is malformed');
    assert.equal(long.expected, 'a line of at most 64 bytes');
    assert.ok(lines[1]?.startsWith(long.text) && long.text.length > 0 && long.text.length <= 64, long.text);
    // 64 bytes is within the limit: that line is malformed for its content, not its length.
    const atLimit = records[3] as TraceRecord;
    if (atLimit.type !== 'malformed') assert.fail('line 4 is malformed');
    assert.match(atLimit.expected, /\[CPU\]/);
    const overLimit = records[4] as TraceRecord;
    if (overLimit.type !== 'malformed') assert.fail('line 5 is malformed');
    assert.equal(overLimit.expected, 'a line of at most 64 bytes');
    const last = records[5] as TraceRecord;
    if (last.type !== 'event') assert.fail('the last line is an event');
    assert.equal(last.name, 'last');
  };
  let offset = 0;
  const offsets = lines.map((line) => {
    const at = offset;
    offset += Buffer.byteLength(line) + 1;
    return at;
  });
  assert.deepEqual(offsets, [0, 39, 5074, 5113, 5178, 5244]);
  for (const size of [1, 7, 4096, bytes.length]) expected(await readAllRecords(inChunks(bytes, size), { file: 'long', maxLineBytes: 64 }));
  for (const size of [1, 7, 4096]) expected(await readAllRecords(inChunks(gzipSync(bytes), size), { file: 'long.gz', maxLineBytes: 64 }));
});

test('the line limit counts content only: a CRLF line of exactly maxLineBytes is an event', async () => {
  const line = `  a-1 [000] d..1. 1.000001: n: ${'v'.repeat(33)}`;
  assert.equal(Buffer.byteLength(line), 64);
  for (const eol of ['\n', '\r\n']) {
    const bytes = Buffer.from(`${line}${eol}${line}x${eol}${line}`);
    for (const size of [1, 7, 64, 65, 66, bytes.length]) {
      const records = await readAllRecords(inChunks(bytes, size), { file: 'limit', maxLineBytes: 64 });
      assert.deepEqual(
        records.map((record) => [record.type, record.span.offset]),
        [
          ['event', 0],
          ['malformed', 64 + eol.length],
          ['event', 129 + 2 * eol.length],
        ],
        `${JSON.stringify(eol)}, chunk size ${size}`,
      );
    }
  }
});

test('offsets are byte offsets, not character offsets, with multi-byte UTF-8 in comm names', async () => {
  const lines = [
    '   qemu-ñandú-4711  [001] d..1.  1.000001: a: x=1',
    '  虚拟机-🦀-12345 [003] d..1.  1.000002: b: y=2',
    '   plain-1          [000] d..1.  1.000003: c: z=3',
  ];
  const bytes = Buffer.from(lines.join('\n') + '\n');
  for (const size of [1, 7, 4096]) {
    const records = await readAllRecords(inChunks(bytes, size), { file: 'utf8' });
    assert.equal(records.length, 3);
    const tasks = records.map((record) => (record.type === 'event' ? record.task : record.type));
    assert.deepEqual(tasks, ['qemu-ñandú', '虚拟机-🦀', 'plain']);
    // ñ and ú are 2 bytes each, 虚拟机 3 bytes each, 🦀 4 bytes: UTF-16 units would give 50 and 95.
    assert.deepEqual(
      records.map((record) => record.span.offset),
      [0, 52, 105],
    );
    for (const record of records) {
      const slice = bytes.subarray(record.span.offset, record.span.offset + Buffer.byteLength(record.text)).toString('utf8');
      assert.equal(slice, record.text, 'the offset points at the line in the raw bytes');
    }
  }
});

test('corrupt or truncated gzip fails with INPUT_CORRUPT, a failing source keeps its error', async () => {
  const gz = gzipSync(Buffer.from('  a-1 [000] d..1. 1.000001: n: b\n'.repeat(2000)));
  const broken = [gz.subarray(0, gz.length - 10), gz.subarray(0, 200), Buffer.concat([gz.subarray(0, 100), Buffer.alloc(50, 7), gz.subarray(150)])];
  assert.ok(broken.every((bytes) => bytes[0] === 0x1f && bytes[1] === 0x8b));
  for (const bytes of broken) {
    await assert.rejects(readAllRecords(inChunks(bytes, 7), { file: 'bad.gz' }), (error: unknown) => {
      assert.ok(error instanceof VmidReplayError);
      assert.equal(error.code, 'INPUT_CORRUPT');
      assert.match(error.message, /^bad\.gz: gzip stream is corrupt or truncated/);
      return true;
    });
  }
  async function* failsMidway(): AsyncGenerator<Uint8Array> {
    yield await Promise.resolve(gz.subarray(0, 100));
    throw new VmidReplayError('INPUT_UNREADABLE', 'cannot read (EIO)', { file: 'disk.gz' });
  }
  await assert.rejects(readAllRecords(failsMidway(), { file: 'disk.gz' }), (error: unknown) => {
    assert.ok(error instanceof VmidReplayError);
    assert.equal(error.code, 'INPUT_UNREADABLE');
    assert.equal(error.message, 'disk.gz: cannot read (EIO)');
    return true;
  });
});
