/**
 * The byte-level reading of the ftrace grammar (the WebAssembly skim, and the records made
 * from the columns it hands over) must be invisible: every line handed over with its columns
 * is an event line of that name and body flavor to the string grammar, and its record is the
 * string grammar's. Checked on generated lines (well-formed, mutated, arbitrary bytes) and on
 * every line of the real captures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FtraceColumns } from '../../src/ingest/ftrace/ftraceColumns.js';
import { ftraceImporter } from '../../src/ingest/ftrace/ftraceImporter.js';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';
import { FtraceSkimmer } from '../../src/ingest/lines/ftraceSkim.js';
import { readRecords } from '../../src/ingest/readTrace.js';
import type { ReadRecord } from '../../src/ingest/records.js';
import { capturesRoot, inChunks, readAllRecords } from './chunks.js';
import { mutated, wellFormed } from './ftraceLineArbs.js';
import { eachSkimmedLine, readingWith, skimAgrees } from './skimProperty.js';

const skimmer = FtraceSkimmer.create(1 << 20) as FtraceSkimmer;
const columns = new FtraceColumns();
const agrees = (bytes: Buffer): { columns: boolean; record: boolean } => skimAgrees(skimmer, columns, parseFtraceLine, bytes);
const allRecords = readingWith(ftraceImporter);

test('property: the columns the skimmer hands over name the string grammar\'s event and make its record', () => {
  let made = 0;
  fc.assert(
    fc.property(fc.oneof(wellFormed.map((line) => Buffer.from(line)), mutated, fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes))), (bytes) => {
      // One line each: a newline inside arbitrary bytes would make two.
      if (agrees(Buffer.from(bytes.map((byte) => (byte === 0x0a ? 0x20 : byte)))).record) made += 1;
    }),
    { numRuns: 5000, includeErrorInReport: true },
  );
  // The property must not hold by handing nothing over.
  assert.ok(made > 300, `${made} records made from the skimmer's columns`);
});

test('headers, markers, non-ASCII event names and lines without a body come without columns, for the string grammar', () => {
  for (const line of [
    '# tracer: nop',
    'CPU:2 [LOST 3 EVENTS]',
    '##### CPU 2 buffer started ####',
    ' => kvm_arch_vcpu_load+0x4c/0x1d4',
    '  bash-1 [000] d....     4.278438: événement: y',
    '  bash-1 [000] d....     4.278438: trailing:',
  ]) {
    assert.deepEqual(agrees(Buffer.from(line)), { columns: false, record: false }, line);
  }
});

test('non-ASCII tasks and bodies read as the string grammar reads them, skipped or not', async () => {
  const lines = ['  kworker-é-12 [000] d....     4.278438: x: y', '  虚拟机-🦀-12345 [003] d..1.  88.123458: tracing_mark_write: phase «début» ✓', '  a\xffb-1 [000] d.... 1.000001: x: \xfe'];
  const encoded = lines.map((line) => Buffer.from(line, line.includes('\xff') ? 'latin1' : 'utf8'));
  for (const [i, bytes] of encoded.entries()) {
    // With columns; a record from them only where every byte is one character (an invalid byte is one U+FFFD).
    assert.deepEqual(agrees(bytes), { columns: true, record: i === 2 }, lines[i]);
  }
  const trace = Buffer.concat(encoded.flatMap((bytes) => [bytes, Buffer.from('\n')]));
  const doubled = Buffer.concat([trace, trace]);
  for (const wantEvent of [() => false, () => true, (name: string) => name === 'x']) {
    assert.deepEqual(await allRecords(doubled, [trace.length, trace.length], wantEvent, 'always'), await allRecords(doubled, [trace.length, trace.length], wantEvent, false));
  }
});

test('every line of the real captures: the skimmer hands nearly all over with columns, and they make the string grammar\'s record', () => {
  let lines = 0;
  let made = 0;
  for (const folder of readdirSync(capturesRoot, { withFileTypes: true }).filter((entry) => entry.isDirectory())) {
    for (const name of readdirSync(join(capturesRoot, folder.name)).filter((file) => /^trace\.txt(\.gz)?$/.test(file))) {
      const raw = readFileSync(join(capturesRoot, folder.name, name));
      const text = name.endsWith('.gz') ? gunzipSync(raw) : raw;
      const whole = text[text.length - 1] === 0x0a ? text : Buffer.concat([text, Buffer.from('\n')]);
      eachSkimmedLine(skimmer, whole, (start, end, columnsAt) => {
        lines += 1;
        if (columnsAt < 0 || !columns.load(whole, start, end, skimmer.columnWords, columnsAt)) return;
        const expected = parseFtraceLine(whole.toString('utf8', start, end), { file: 't', line: 1, offset: 0 });
        assert.deepStrictEqual(columns.record(whole, start, end, { file: 't', line: 1, offset: 0 }, whole.toString('latin1', columns.nameStart, columns.nameEnd)), expected);
        made += 1;
      });
    }
  }
  assert.ok(lines > 100_000, `${lines} lines`);
  assert.ok(made / lines > 0.99, `${made} of ${lines} lines made from their columns`);
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

test('the filter is asked once per name and flavor, even for two names whose hashes meet, and ever-new names are each counted', async () => {
  // 'vmid_unpin' and 'free_s2' land in the same slot of the name table's hash.
  const lineOf = (name: string, us: number): string => `  CPU 0/KVM-4711 [002] d.... 88.${String(us).padStart(6, '0')}: ${name}: kvm_vmid=0xffff1`;
  const trace = Buffer.from(Array.from({ length: 1000 }, (_, i) => `${lineOf(i % 2 === 0 ? 'vmid_unpin' : 'free_s2', i)}\n`).join(''));
  for (const wasmSkim of ['always', false] as const) {
    const asked = new Map<string, number>();
    const records = await allRecords(trace, 4096, (name) => {
      asked.set(name, (asked.get(name) ?? 0) + 1);
      return name !== 'free_s2';
    }, wasmSkim);
    const events = records.filter((record) => record.type === 'event');
    assert.equal(events.length, 500);
    assert.ok(events.every((record) => record.type === 'event' && record.name === 'vmid_unpin'));
    assert.deepEqual(asked, new Map([['vmid_unpin', 1], ['free_s2', 1]]), `wasmSkim ${wasmSkim}`);
    const counted = new Map<string, number>();
    for (const record of records) if (record.type === 'unused-events') for (const [name, count] of record.countsByName) counted.set(name, (counted.get(name) ?? 0) + count);
    assert.deepEqual(counted, new Map([['free_s2', 500]]));
  }

  // Hostile input: ever-new names, past what the name tables hold. Each is read right, and counted under its own name.
  const hostile = Buffer.from(Array.from({ length: 5000 }, (_, i) => `${lineOf(`ev${i}`, i)}\n`).join(''));
  for (const wasmSkim of ['always', false] as const) {
    const records = await allRecords(hostile, 1 << 16, (name) => name.endsWith('7'), wasmSkim);
    const kept = records.filter((record): record is ReadRecord & { type: 'event' } => record.type === 'event');
    assert.equal(kept.length, 500);
    assert.ok(kept.every((record) => record.name.endsWith('7')));
    const counted = new Map<string, number>();
    for (const record of records) if (record.type === 'unused-events') for (const [name, count] of record.countsByName) counted.set(name, (counted.get(name) ?? 0) + count);
    assert.equal([...counted.values()].reduce((a, b) => a + b, 0), 4500);
    assert.equal(counted.get('ev4998'), 1);
  }
});
