/**
 * The byte-level fast path of the ftrace grammar must be invisible: every line it accepts reads
 * exactly as the string grammar reads it, and a line it skips under a filter is an event line of
 * the name it is counted under. Checked on generated lines (well-formed, mutated, arbitrary
 * bytes) and on every line of the real captures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FtraceByteParser, skippedLine } from '../../src/ingest/ftrace/ftraceBytes.js';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';
import { readRecords } from '../../src/ingest/readTrace.js';
import type { ReadRecord, SourceSpan } from '../../src/ingest/records.js';
import { capturesRoot, inChunks, readAllRecords } from './chunks.js';
import { mutated, wellFormed } from './ftraceLineArbs.js';

const span: SourceSpan = { file: 't', line: 1, offset: 0 };

/** What the fast path says of `bytes`, checked against the string grammar; true when it accepted the line. */
function agrees(bytes: Buffer, wantEvent?: (name: string, opens: boolean) => boolean): boolean {
  const parser = new FtraceByteParser(span.file, wantEvent);
  const record = parser.parse(bytes, 0, bytes.length, span.line, span.offset);
  if (record === undefined) {
    assert.equal(parser.takeUnused(), undefined);
    return false;
  }
  const expected = parseFtraceLine(bytes.toString('utf8'), span);
  if (record === skippedLine) {
    assert.equal(expected.type, 'event', `skipped a line the string grammar does not read as an event: ${JSON.stringify(bytes.toString())}`);
    assert.ok(expected.type === 'event' && !(wantEvent?.(expected.name, expected.body.startsWith('(')) ?? true), 'skipped only what the filter refuses');
    assert.deepEqual(parser.takeUnused(), { type: 'unused-events', span, countsByName: new Map([[expected.name, 1]]) });
    assert.equal(parser.takeUnused(), undefined, 'counts are handed on once');
    return true;
  }
  assert.equal(parser.takeUnused(), undefined);
  assert.deepEqual(record, expected, JSON.stringify(bytes.toString()));
  // Same keys in the same order: both paths make records of one shape.
  assert.deepEqual(Object.keys(record), Object.keys(expected));
  return true;
}

test('property: the byte fast path reads every line it accepts as the string grammar does', () => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.oneof(wellFormed.map((line) => Buffer.from(line)), mutated, fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes))), (bytes) => {
      if (agrees(bytes)) accepted += 1;
      agrees(bytes, (name) => name.length % 2 === 0);
    }),
    { numRuns: 5000, includeErrorInReport: true },
  );
  // The property must not hold by declining everything.
  assert.ok(accepted > 300, `${accepted} lines taken by the fast path`);
});

test('the byte fast path leaves headers, markers and non-ASCII event names to the string grammar', () => {
  for (const line of [
    '# tracer: nop',
    'CPU:2 [LOST 3 EVENTS]',
    '##### CPU 2 buffer started ####',
    ' => kvm_arch_vcpu_load+0x4c/0x1d4',
    '  bash-1 [000] d....     4.278438: événement: y',
    '  bash-1 [000] d....     4.278438: trailing:',
  ]) {
    assert.equal(new FtraceByteParser('t', undefined).parse(Buffer.from(line), 0, Buffer.byteLength(line), 1, 0), undefined, line);
  }
});

test('non-ASCII tasks and bodies read as the string grammar reads them, skipped or not', () => {
  for (const line of ['  kworker-é-12 [000] d....     4.278438: x: y', '  虚拟机-🦀-12345 [003] d..1.  88.123458: tracing_mark_write: phase «début» ✓', '  a\xffb-1 [000] d.... 1.000001: x: \xfe']) {
    const bytes = Buffer.from(line, line.includes('\xff') ? 'latin1' : 'utf8');
    assert.ok(agrees(bytes), line);
    assert.ok(agrees(bytes, () => false), line);
  }
});

test('the byte fast path reads a line inside a larger buffer by its range', () => {
  const bytes = Buffer.from('xx  bash-1234  [001] d.... 1.000002: ev: a=1\nyy');
  const record = new FtraceByteParser('t', undefined).parse(bytes, 2, bytes.indexOf(0x0a), 1, 0);
  assert.equal(record?.type, 'event');
  assert.deepEqual(record, parseFtraceLine('  bash-1234  [001] d.... 1.000002: ev: a=1', span));
});

test('every line of the real captures: the fast path takes nearly all and agrees on each', () => {
  let lines = 0;
  let accepted = 0;
  for (const folder of readdirSync(capturesRoot, { withFileTypes: true }).filter((entry) => entry.isDirectory())) {
    for (const name of readdirSync(join(capturesRoot, folder.name)).filter((file) => /^trace\.txt(\.gz)?$/.test(file))) {
      const raw = readFileSync(join(capturesRoot, folder.name, name));
      const text = name.endsWith('.gz') ? gunzipSync(raw) : raw;
      let start = 0;
      while (start < text.length) {
        let end = text.indexOf(0x0a, start);
        if (end === -1) end = text.length;
        const lineEnd = end > start && text[end - 1] === 0x0d ? end - 1 : end;
        lines += 1;
        if (agrees(text.subarray(start, lineEnd))) accepted += 1;
        start = end + 1;
      }
    }
  }
  assert.ok(lines > 100_000, `${lines} lines`);
  assert.ok(accepted / lines > 0.99, `${accepted} of ${lines} lines on the fast path`);
});

test('a filter turns refused event lines into counts by name, and leaves every other record as it was', async () => {
  const trace = Buffer.from(
    [
      '# tracer: nop',
      '  CPU 0/KVM-4711 [002] d.... 88.000001: kvm_entry: PC: 0x0000000040000018',
      '  CPU 0/KVM-4711 [002] d.... 88.000002: vmid_update: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff1 id=0',
      'CPU:2 [LOST 3 EVENTS]',
      '  CPU 0/KVM-4711 [002] d.... 88.000003: upd: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff1',
      '  CPU 0/KVM-4711 [002] d.... 88.000004: kvm_exit: TRAP',
      '  CPU 0/KVM-4711 [002] d.... 88.000005: kvm_entry: PC: 0x0000000040000018',
      '  qemu-ñandú-4711 [002] d.... 88.000006: kvm_exit: TRAP',
      'garbage',
      '',
    ].join('\n'),
  );
  const wantEvent = (name: string, opens: boolean): boolean => opens || name.startsWith('vmid');
  for (const size of [1, 7, 64, 4096]) {
    const full = await readAllRecords(inChunks(trace, size), { file: 't' });
    const refused = full.filter((record) => record.type === 'event' && !wantEvent(record.name, record.body.startsWith('(')));
    const filtered: ReadRecord[] = [];
    for await (const batch of readRecords(inChunks(trace, size), { file: 't', wantEvent })) filtered.push(...batch);
    assert.deepEqual(
      filtered.filter((record) => record.type !== 'unused-events'),
      full.filter((record) => !refused.includes(record)),
    );
    const counted = new Map<string, number>();
    for (const record of filtered) {
      if (record.type !== 'unused-events') continue;
      assert.ok(refused.some((line) => line.span.line === record.span.line && line.span.offset === record.span.offset), 'a count names a refused line');
      for (const [name, count] of record.countsByName) counted.set(name, (counted.get(name) ?? 0) + count);
    }
    assert.deepEqual(counted, new Map([['kvm_entry', 2], ['kvm_exit', 2]]));
    assert.equal(refused.length, 4);
  }
});

test('names are read once, even two whose hashes meet, and ever-new names keep the cache bounded', () => {
  // 'vmid_unpin' and 'free_s2' land in the same slot of the name cache's hash.
  const lineOf = (name: string, us: number): Buffer => Buffer.from(`  CPU 0/KVM-4711 [002] d.... 88.${String(us).padStart(6, '0')}: ${name}: kvm_vmid=0xffff1`);
  const asked = new Map<string, number>();
  const wantEvent = (name: string): boolean => {
    asked.set(name, (asked.get(name) ?? 0) + 1);
    return name !== 'free_s2';
  };
  const parser = new FtraceByteParser('t', wantEvent);
  const names: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const bytes = lineOf(i % 2 === 0 ? 'vmid_unpin' : 'free_s2', i);
    const record = parser.parse(bytes, 0, bytes.length, i + 1, 0);
    if (record !== null && record !== undefined && record.type === 'event') names.push(record.name);
  }
  assert.equal(names.length, 500);
  assert.ok(names.every((name) => name === 'vmid_unpin'));
  // Once per name: before, the two evicted each other and every line asked again.
  assert.deepEqual(asked, new Map([['vmid_unpin', 1], ['free_s2', 1]]));
  const unused = parser.takeUnused();
  assert.ok(unused !== undefined && unused.type === 'unused-events');
  assert.deepEqual(unused.countsByName, new Map([['free_s2', 500]]));

  // Hostile input: ever-new names. Each is read right, and counted under its own name.
  const hostile = new FtraceByteParser('t', (name) => name.endsWith('7'));
  let kept = 0;
  for (let i = 0; i < 5000; i++) {
    const bytes = lineOf(`ev${i}`, i);
    const record = hostile.parse(bytes, 0, bytes.length, i + 1, 0);
    if (record !== null && record !== undefined && record.type === 'event') {
      assert.equal(record.name, `ev${i}`);
      kept++;
    }
  }
  assert.equal(kept, 500);
  const hostileUnused = hostile.takeUnused();
  assert.ok(hostileUnused !== undefined && hostileUnused.type === 'unused-events');
  assert.equal([...hostileUnused.countsByName.values()].reduce((a, b) => a + b, 0), 4500);
  assert.equal(hostileUnused.countsByName.get('ev4998'), 1);
});
