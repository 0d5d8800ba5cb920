/**
 * The WebAssembly skim of refused ftrace lines (src/ingest/lines/ftraceSkim.ts) must not show:
 * read with it or without it (by the string grammar alone), any text gives the same records,
 * counts and spans. And it must do its job: once a name is taught, its lines never reach the
 * line reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FtraceSkimmer } from '../../src/ingest/lines/ftraceSkim.js';
import { LineReader } from '../../src/ingest/lines/lineReader.js';
import { ftraceGrammar, ftraceImporter } from '../../src/ingest/ftrace/ftraceImporter.js';
import { assertSameRecordsWithSkim, readingWith } from './skimProperty.js';
import { mutated, wellFormed } from './ftraceLineArbs.js';

const allRecords = readingWith(ftraceImporter);

function line(task: string, cpu: number, stamp: string, name: string, body: string): string {
  return `  ${task} [${String(cpu).padStart(3, '0')}] d.... ${stamp}: ${name}: ${body}`;
}

test('the skimmer is available on this runtime (Node has WebAssembly SIMD)', () => {
  assert.ok(FtraceSkimmer.create(1 << 20) !== undefined);
});

test('property: the same records with and without the skimmer, for any lines, line ends, chunking and line limit', () =>
  assertSameRecordsWithSkim(
    wellFormed,
    fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 90 }).map((bytes) => Buffer.from(bytes)) }, { weight: 4, arbitrary: wellFormed.map((text) => Buffer.from(text)) }),
    [0x20, 0x09, 0x5b, 0x5d, 0x2d, 0x3a, 0x2e, 0x28, 0x29, 0x30, 0x39, 0xc3, 0xff, 0x0d, 0x41, 0x23, 0x43],
    allRecords,
    600,
  ));

/** Lines of the usual shapes, and of ones the skimmer must leave to the string grammar (an overflowing timestamp). */
const bases = [
  '  CPU 0/KVM-4711    [002] d.... 88.000001: kvm_entry: PC: 0x1',
  '  vmchurn-188     (    188) [000] d....     4.278438: kvm_exit: TRAP',
  'bash-1234  [001]  1520.114223: sched_switch: prev=1',
  '  q-1 [002] 123456789012345: kvm_entry: x',
  '  q-1 [002] d..1 999999999.1: upd: (f+0x0/0x4) a=1',
  '  CPU 1/KVM-77 [003] .N.2. 1.123456789:  kvm_exit: \r',
  '  q-1 [002] d.... 1234567890.000001: kvm_entry: x',
  // The skimmer reads 64 bytes from the first non-blank at once: columns on either side of that edge.
  ...[14, 24, 30, 36, 40, 44, 48, 52, 58, 62, 70].map((width) => `  ${'w'.repeat(width)}-12 [001] d.... 1.000001: kvm_entry: x`),
  ...[20, 40].map((width) => `${'w'.repeat(width)}-12 (  12) [001] d.... 1.000001: kvm_entry: x`),
];

/** Every line one byte away from `line`: each byte replaced by, or preceded by, one of `bytes`, or deleted. */
function oneByteEdits(line: Buffer, bytes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at <= line.length; at++) {
    const before = line.subarray(0, at);
    for (const byte of bytes) {
      if (at < line.length) out.push(Buffer.concat([before, Buffer.of(byte), line.subarray(at + 1)]));
      out.push(Buffer.concat([before, Buffer.of(byte), line.subarray(at)]));
    }
    if (at < line.length) out.push(Buffer.concat([before, line.subarray(at + 1)]));
  }
  return out;
}

test('every one-byte edit of typical lines, met after the name was taught: skimmed only where the string grammar reads a refused event, the same records', async () => {
  const interesting = [0x20, 0x09, 0x5b, 0x5d, 0x2d, 0x3a, 0x2e, 0x28, 0x29, 0x30, 0x39, 0x41, 0x23, 0x43, 0x50, 0x55, 0x3d, 0x3e, 0xc3, 0xff, 0x80, 0x0d, 0x00];
  for (const base of bases) {
    const line = Buffer.from(base);
    // The unedited line first, in a region of its own, to teach the skimmer its name.
    const teach = Buffer.from(`${base}\n${base.replace('(f+', 'f+')}\n`);
    const edits = Buffer.concat(oneByteEdits(line, interesting).flatMap((edited) => [edited, Buffer.of(0x0a)]));
    const bytes = Buffer.concat([teach, edits]);
    for (const [wantEvent, maxLineBytes] of [[() => false, undefined], [(name: string, opens: boolean) => !opens && name !== 'kvm_exit', line.length]] as const) {
      const skimmed = await allRecords(bytes, [teach.length, edits.length], wantEvent, 'always', maxLineBytes);
      assert.deepEqual(skimmed, await allRecords(bytes, [teach.length, edits.length], wantEvent, false, maxLineBytes), base);
    }
  }
});

/** Lines handed back to the line reader when `reader` reads `text` region by region. */
function handedBackPerRegion(reader: LineReader, regions: readonly string[]): number[] {
  const whole = reader.wholeLinesReader();
  assert.ok(whole !== undefined);
  let line = 1;
  let offset = 0;
  return regions.map((text) => {
    const buf = Buffer.from(text);
    let handed = 0;
    const lines = whole(buf, 0, buf.length, line, offset, (lineStart, newline, lineNumber, lineOffset, columns, columnsAt) => {
      handed += 1;
      assert.equal(lineOffset - offset, lineStart, 'a handed-back line keeps its byte offset');
      assert.equal(buf.subarray(0, lineStart).toString().split('\n').length - 1, lineNumber - line, 'and its number');
      // As the splitter would, have the reader read it, with the columns the skimmer found.
      reader.read(buf, lineStart, newline, lineNumber, lineOffset, columns, columnsAt);
    });
    assert.equal(lines, text.split('\n').length - 1);
    line += lines;
    offset += buf.length;
    return handed;
  });
}

test('once a refused name was skipped by the reader, the skimmer skips its lines itself, per flavor', () => {
  const skimmer = FtraceSkimmer.create(1 << 20);
  const reader = new LineReader('t', ftraceGrammar, (name, opens) => name === 'upd' && opens, skimmer, true);
  const region = [line('a-1', 0, '1.000001', 'kvm_entry', 'PC: 0x1'), line('a-1', 0, '1.000002', 'upd', '(f+0x0/0x4) a=1'), line('a-1', 0, '1.000003', 'upd', 'plain'), line('b-2', 1, '1.000004', 'kvm_exit', '(not a probe)'), ''].join('\n');
  // First region: every name unknown to the skimmer, all handed back; then only the kept `upd (...)`.
  assert.deepEqual(handedBackPerRegion(reader, [region, region, region]), [4, 1, 1]);
  const unused = reader.takeUnused();
  assert.ok(unused?.type === 'unused-events');
  assert.deepEqual(unused.countsByName, new Map([['kvm_entry', 3], ['upd', 3], ['kvm_exit', 3]]));
  assert.deepEqual(unused.span, { file: 't', line: 1, offset: 0 });
});

test('once taught, lines of every usual shape are skimmed: none is handed back to the reader', () => {
  const usual = bases.filter((base) => !/\d{10}\./.test(base));
  const reader = new LineReader('t', ftraceGrammar, () => false, FtraceSkimmer.create(1 << 20), true);
  const region = `${usual.join('\n')}\n${usual.map((base) => base.replace(/: (\S+): (.*)$/, ': $1: ($2)')).join('\n')}\n`;
  assert.deepEqual(handedBackPerRegion(reader, [region, region]), [usual.length * 2, 0]);
});

test('two refused names whose hashes meet are both skimmed, not taught back and forth', () => {
  // kvm_entry and workqueue_execute_start share the skimmer's hash slot: with one slot a
  // name, each took it from the other, and every other line went back to the reader.
  const reader = new LineReader('t', ftraceGrammar, () => false, FtraceSkimmer.create(1 << 20), true);
  const region = Array.from({ length: 20 }, (_, i) => line('a-1', 0, `1.${String(i).padStart(6, '0')}`, i % 2 === 0 ? 'kvm_entry' : 'workqueue_execute_start', 'x')).join('\n') + '\n';
  assert.deepEqual(handedBackPerRegion(reader, [region, region, region]), [20, 0, 0]);
  const unused = reader.takeUnused();
  assert.ok(unused?.type === 'unused-events');
  assert.deepEqual(unused.countsByName, new Map([['kvm_entry', 30], ['workqueue_execute_start', 30]]));
});

test('where the skimmer saves no work on two thirds of a region, the next 16 regions are read without it', () => {
  const reader = new LineReader('t', ftraceGrammar, (name) => name === 'kept', FtraceSkimmer.create(1 << 20));
  const skipped = line('a-1', 0, '1.000001', 'kvm_entry', 'x');
  const kept = line('a-1', 0, '1.000002', 'kept', 'y');
  // Lines it hands back with their columns found (a dense trace, or names not taught yet) save
  // the string grammar's work: no pause.
  handedBackPerRegion(reader, [`${skipped}\n`]);
  assert.ok(reader.wholeLinesReader() !== undefined);
  handedBackPerRegion(reader, [`${kept}\n${kept}\n${kept}\n${skipped}\n`]);
  assert.ok(reader.wholeLinesReader() !== undefined);
  // Lines it can only hand back whole (headers, broken lines) are read twice: paused, 16 regions.
  handedBackPerRegion(reader, [`# a header\nnot an event line\n${kept.replace('[000]', '[x]')}\n${skipped}\n`]);
  const paused = Array.from({ length: 17 }, () => reader.wholeLinesReader());
  assert.deepEqual(paused.map((reader) => reader === undefined), [...Array<boolean>(16).fill(true), false]);
  // With `alwaysSkim` (tests), never paused.
  const always = new LineReader('t', ftraceGrammar, () => false, FtraceSkimmer.create(1 << 20), true);
  handedBackPerRegion(always, ['# a header\n']);
  assert.ok(always.wholeLinesReader() !== undefined);
});

test('the first skipped line is the span of the count, whichever of the two skipped it', () => {
  const reader = new LineReader('t', ftraceGrammar, () => false, FtraceSkimmer.create(1 << 20), true);
  const known = line('a-1', 0, '1.000001', 'kvm_entry', 'x');
  const fresh = line('a-1', 0, '1.000002', 'sched_switch', 'y');
  handedBackPerRegion(reader, [`${known}\n`]);
  reader.takeUnused();
  // `kvm_entry` (skimmed) comes before `sched_switch` (handed back, then skipped by the reader),
  // but the skimmer reports its first only after the handed-back lines were read.
  handedBackPerRegion(reader, [`${known}\n${fresh}\n`]);
  const unused = reader.takeUnused();
  assert.ok(unused?.type === 'unused-events');
  assert.deepEqual(unused.span, { file: 't', line: 1, offset: 0 });
  assert.deepEqual(unused.countsByName, new Map([['sched_switch', 1], ['kvm_entry', 1]]));
});

test('thousands of names (slots shared and evicted), names too long for a slot, and regions larger than the skimmer: counted as without it', async () => {
  const lines: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3000; i++) lines.push(line(`t-${i}`, i % 8, `${round + 1}.${String(i).padStart(6, '0')}`, `ev_${i * 7919}`, `n=${i}`));
    lines.push(line('t-1', 0, '9.000001', `${'long_name_'.repeat(8)}${round}`, 'x'));
    lines.push(line('t-1', 0, '9.000002', `${'long_name_'.repeat(8)}${round}`, 'x'));
  }
  const bytes = Buffer.from(`${lines.join('\n')}\n`);
  const wantEvent = (name: string): boolean => name.endsWith('7');
  for (const chunk of [1 << 16, 4096, 333]) {
    const skimmed = await allRecords(bytes, chunk, wantEvent, 'always');
    assert.deepEqual(skimmed, await allRecords(bytes, chunk, wantEvent, false));
    assert.deepEqual(await allRecords(bytes, chunk, wantEvent, true), skimmed);
    const counted = skimmed.reduce((sum, record) => sum + (record.type === 'unused-events' ? [...record.countsByName.values()].reduce((a, b) => a + b, 0) : 0), 0);
    assert.equal(counted, lines.filter((text) => !wantEvent(/: (\S+):/.exec(text)?.[1] ?? '')).length);
  }

  // A region beyond the skimmer's input, with a line longer than it: read in parts, the long line handed back.
  const reader = new LineReader('t', ftraceGrammar, () => false, FtraceSkimmer.create(1 << 20), true);
  const long = line('a-1', 0, '1.000001', 'huge', 'x'.repeat(300_000));
  const few = Array.from({ length: 4000 }, (_, i) => line(`t-${i}`, i % 8, '1.000001', `ev_${i % 5}`, `n=${i}`)).join('\n');
  const regions = [`${few}\n${long}\n${few}\n`];
  handedBackPerRegion(reader, regions);
  const again = handedBackPerRegion(reader, regions);
  assert.ok((again[0] as number) < 10, `${again[0]} lines handed back the second time`);
});
