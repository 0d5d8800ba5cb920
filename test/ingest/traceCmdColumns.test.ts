/**
 * The byte-level reading of `trace-cmd report` text (the WebAssembly skim in its trace-cmd
 * form, and src/ingest/traceCmd/traceCmdColumns.ts, the records made from the columns it
 * hands over) must never show: a line it hands over with columns is an event line the string
 * grammar reads with that name and body flavor, its record is the string grammar's, and a
 * report read with a filter gives the string grammar's records and counts. And it must do its
 * job: the lines of a report in every shape trace-cmd prints are recognised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { TraceCmdColumns } from '../../src/ingest/traceCmd/traceCmdColumns.js';
import { FtraceSkimmer } from '../../src/ingest/lines/ftraceSkim.js';
import { LineReader } from '../../src/ingest/lines/lineReader.js';
import { parseTraceCmdLine } from '../../src/ingest/traceCmd/traceCmdLine.js';
import { readRecords, type ReadOptions } from '../../src/ingest/readTrace.js';
import { traceCmdGrammar, traceCmdImporter } from '../../src/ingest/traceCmd/traceCmdImporter.js';
import type { EventFilter } from '../../src/ingest/importer.js';
import type { ReadRecord, TraceRecord } from '../../src/ingest/records.js';
import { toTraceCmdReport, type ReportShape } from '../helpers/traceCmdReport.js';
import { inChunks, inReusedBuffer } from './chunks.js';
import { assertSameRecordsWithSkim, eachSkimmedLine, readingWith, skimAgrees } from './skimProperty.js';

const span = { file: 'r', line: 1, offset: 0 };

const skimmer = FtraceSkimmer.create(1 << 20, true) as FtraceSkimmer;
const columns = new TraceCmdColumns();

/** Whether the skim hands `bytes` (one line) over with columns, checked against the string grammar (skimAgrees). */
function agrees(bytes: Buffer): boolean {
  return skimAgrees(skimmer, columns, parseTraceCmdLine, Buffer.from(bytes.map((byte) => (byte === 0x0a ? 0x20 : byte)))).columns;
}

const taskChars = 'abcKVM/ 0123-_:.<>()[]é'.split('');

/** A line in one of trace-cmd's shapes, with their odd variants, or one of its other lines. */
const reportLine = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        prefix: fc.constantFrom('', '', '   ', '\t', 'trace.dat: ', '      vmid: ', 'cpus=4: ', 'CPU:1 '),
        task: fc.array(fc.constantFrom(...taskChars), { minLength: 0, maxLength: 17 }).map((chars) => chars.join('')),
        pid: fc.constantFrom('4711', '0', '1', '', '12a', '99999999999999999999'),
        latency: fc.boolean(),
        cpu: fc.constantFrom('2', '002', '', '1x', '12345678901234567890'),
        flags: fc.constantFrom('d....', '0d.h1.', '', '.', 'd..1 x'),
        stamp: fc.constantFrom('100.012742', '88.123456789', '111264306005', '9007199254.740992', '1.', '.5', '1.2.3', '1.0000000001', ''),
        gap: fc.constantFrom(' ', '', '  ', '\t'),
        diff: fc.constantFrom('', ' (+12)    ', ' (+0.000012) ', ' (+-3)', ' (+)', ' (+12'),
        name: fc.constantFrom('kvm_entry', 'vmid_update', 'x', '', 'cpus=4', 'CPU 3 is empty', 'CPU:1', '[12 EVENTS DROPPED]', 'naïve', 'sched_switch_with_a_very_long_name', 'a:b'),
        sep: fc.constantFrom(': ', ':', '', ': : '),
        pad: fc.nat({ max: 24 }),
        body: fc.string({ unit: fc.constantFrom(...' (kvm_arm_vmid_update+0x0/0x1d0) <- =[12] 3.4: ,é\u00ff\t'.split('')), maxLength: 40 }),
      })
      .map((l) => {
        const columns = l.latency ? `${l.task}-${l.pid} ${l.cpu}${l.flags}` : `${l.task}-${l.pid} [${l.cpu}]`;
        return `${l.prefix}${columns}${l.gap}${l.stamp}:${l.diff} ${l.name}${l.sep}${' '.repeat(l.pad)}${l.body}`;
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom('cpus=4', 'version = 6', 'CPU 3 is empty', 'CPU:2 [12 EVENTS DROPPED]', 'CPU:0 [SUBBUFFER START]', '  => kvm_arch_vcpu_load (ffff800008123456)', '# note', '', '   ', 'registering plugin: function') },
);

/** A well-formed event line of the default or -l shape, of one of a few names. */
const cleanLine = fc
  .record({
    latency: fc.boolean(),
    cpu: fc.nat({ max: 7 }),
    us: fc.nat({ max: 999_999 }),
    /** Seconds, with some whose microseconds pass 2^53 (the line is then no event) or come near it. */
    secs: fc.constantFrom('100', '100', '100', '9007199254', '9007199253', '0000000000100', '12345678901'),
    /** With -t: nanoseconds. */
    ns: fc.option(fc.nat({ max: 999 })),
    name: fc.constantFrom('kvm_entry', 'kvm_exit', 'vmid_update', 'sched_switch', 'upd'),
    body: fc.constantFrom('vcpu 0', '(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0x1', 'TRAP', ''),
  })
  .map((l) => {
    const columns = l.latency ? `CPU 0/KV-4711  ${String(l.cpu).padStart(3)}d....` : `       CPU 0/KVM-4711  [${String(l.cpu).padStart(3, '0')}]`;
    const fraction = l.ns === null ? String(l.us).padStart(6, '0') : String(l.us * 1000 + l.ns).padStart(9, '0');
    return `${columns}   ${l.secs}.${fraction}: ${l.name}: ${' '.repeat(Math.max(0, 20 - l.name.length))}${l.body}`;
  });

/** A report line with bytes replaced: delimiters, blanks, digits, non-ASCII and invalid UTF-8. */
const mutatedLine = fc
  .tuple(reportLine, fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x20, 0x09, 0x5b, 0x5d, 0x2d, 0x3a, 0x2e, 0x28, 0x29, 0x2b, 0x30, 0x39, 0xc3, 0xff, 0x80, 0x0d, 0x41, 0x23)), { maxLength: 3 }))
  .map(([line, edits]) => {
    const bytes = Buffer.from(line);
    for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
    return bytes;
  });

test('property: a line handed over with columns is an event line of that name and body flavor to the string grammar', () => {
  let taken = 0;
  let events = 0;
  fc.assert(
    fc.property(fc.oneof(reportLine.map((text) => Buffer.from(text)), mutatedLine, fc.uint8Array({ maxLength: 90 }).map((bytes) => Buffer.from(bytes))), (bytes) => {
      if (agrees(bytes)) taken++;
      const record = parseTraceCmdLine(bytes.toString('utf8'), span);
      if (record.type === 'event' && /^[\x20-\x7e]+$/.test(record.name)) events++;
    }),
    { numRuns: 5000 },
  );
  // Not a skim that hands everything over bare: most ASCII-named event lines come with their
  // columns (it declines a few shapes it cannot be sure of, such as a `CPU:` prefix).
  assert.ok(events > 40 && taken > events / 2, `${taken} of ${events} event lines taken`);
});

test('property: the record made from the columns is the string grammar\'s, field for field and in order', () => {
  let made = 0;
  fc.assert(
    fc.property(fc.oneof(cleanLine.map((text) => Buffer.from(text)), reportLine.map((text) => Buffer.from(text)), mutatedLine), (line) => {
      if (skimAgrees(skimmer, columns, parseTraceCmdLine, Buffer.from(line.map((byte) => (byte === 0x0a ? 0x20 : byte)))).record) made++;
    }),
    { numRuns: 5000 },
  );
  // About one line in six: the skim leaves to the string grammar every line it is not sure of.
  assert.ok(made > 500, `${made} records made`);
});

test('the skim hands the lines of every shape trace-cmd prints over with their columns', () => {
  const lines = [
    '       trace-cmd-16130 [003] 158126.498411: function:             do_splice_to <-- sys_splice',
    '        CPU 0/KVM-4711  [002]    88.123456: kvm_entry:              vcpu 0',
    '         <idle>-0     [000]  3284.126993: sched_rq_runnable_load: cpu=0 load=54',
    '         <idle>-0       0d.h1. 106467.859747: function:             ktime_get <-- tick_check_idle',
    '          sleep-3946  [001]111264306005: function:             inotify_inode_queue_event',
    '        CPU 0/KVM-4711  [002]  1520.114223456: vmid_update:          (ffff800008a10000) kvm_vmid=0xffff1 id=0',
    '        CPU 0/KVM-4711  [002]    88.000002: (+1)     vmid_update:          (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff1',
    'trace.dat:         CPU 0/KVM-4711  [002]    88.000002: kvm_exit:               TRAP',
    '           vmid:         CPU 0/KVM-4711  [002]    88.000002: kvm_exit: TRAP',
    '        CPU 0/KVM-4711  [002]    88.000002: kvm_exit:',
  ];
  for (const text of lines) assert.ok(agrees(Buffer.from(text)), text);
  const flavors = ['(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0x1', 'kvm_vmid=0x1'].map((body) => agrees(Buffer.from(`        CPU 0/KVM-4711  [002]    88.000002: vmid_update:          ${body}`)) && columns.opensWithLocation);
  assert.deepEqual(flavors, [true, false]);
  // A task of any bytes is no matter; a name with a byte above 0x7f is declined (its padding counts characters).
  assert.ok(agrees(Buffer.from('        naïve-4711  [002]    88.000002: kvm_exit: x')));
  // Lines of an event's columns that the string grammar still reads as headers or markers, by
  // what follows the first `: `: declined, or they would be counted as events.
  const eventColumns = '        CPU 0/KVM-4711  [002]    88.000002: ';
  for (const tail of ['CPU 3 is empty', 'cpus=4', 'version = 6  ', 'registering plugin: x', '[12 EVENTS DROPPED]', 'CPU:1 [3 EVENTS DROPPED]', '[LOST 3 EVENTS]']) {
    assert.notEqual(parseTraceCmdLine(eventColumns + tail, span).type, 'event', tail);
    assert.equal(agrees(Buffer.from(eventColumns + tail)), false, tail);
  }
  // Declined: lines that are no events, and the name above.
  for (const text of ['cpus=4', 'CPU:2 [12 EVENTS DROPPED]', 'trace.dat: cpus=4', '  => func (ffff800008123456)', '# x', '        CPU 0/KVM-4711  [002]    88.000002: naïve: x']) {
    assert.equal(agrees(Buffer.from(text)), false, text);
  }
});

const mixedHazards = readFileSync('traces/mixed-hazards.trace', 'utf8');
const shapes: ReportShape[] = [
  { cpus: 4 },
  { cpus: 4, latency: true, multiInput: 'trace.dat' },
  { cpus: 4, nanoseconds: true },
  { cpus: 4, latency: true },
  { cpus: 4, tsDiff: true, version2: true },
  { cpus: 4, instance: 'vmid' },
  { cpus: 4, multiInput: 'trace.dat', nanoseconds: true, tsDiff: true },
  { cpus: 4, latency: true, nanoseconds: true, addressLocations: true },
];

test('every line of a report in each shape: the skim hands all its event lines over with columns, which make the string grammar\'s records', () => {
  for (const shape of shapes) {
    const text = toTraceCmdReport(mixedHazards, shape).text;
    const buf = Buffer.from(text.endsWith('\n') ? text : `${text}\n`);
    let events = 0;
    let made = 0;
    eachSkimmedLine(skimmer, buf, (start, end, columnsAt) => {
      const span = { file: 'r', line: 1, offset: start };
      const expected = parseTraceCmdLine(buf.toString('utf8', start, end), span);
      if (expected.type === 'event') events++;
      if (columnsAt < 0 || !columns.load(buf, start, end, skimmer.columnWords, columnsAt)) return;
      assert.deepStrictEqual(columns.record(buf, start, end, span, buf.toString('latin1', columns.nameStart, columns.nameEnd)), expected);
      made++;
    });
    assert.ok(events > 50);
    assert.equal(made, events, JSON.stringify(shape));
  }
});

async function readAll(source: AsyncIterable<Uint8Array>, options: ReadOptions): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  for await (const batch of readRecords(source, options)) out.push(...batch);
  return out;
}

/** What a filter refuses of the string grammar's records, and what remains. */
function expectedWith(records: readonly ReadRecord[], wantEvent: EventFilter): { kept: ReadRecord[]; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const kept: ReadRecord[] = [];
  for (const record of records) {
    if (record.type === 'event' && !wantEvent(record.name, record.body.charCodeAt(0) === 0x28)) counts.set(record.name, (counts.get(record.name) ?? 0) + 1);
    else kept.push(record);
  }
  return { kept, counts };
}

function countsOf(records: readonly ReadRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) {
    if (record.type !== 'unused-events') continue;
    for (const [name, count] of record.countsByName) counts.set(name, (counts.get(name) ?? 0) + count);
  }
  return counts;
}

test('a report read with a filter: the records it keeps and the counts it skips, in any chunking and a reused buffer', async () => {
  const wantEvent: EventFilter = (name, opens) => opens || name.startsWith('vmid_');
  for (const shape of shapes) {
    const bytes = Buffer.from(toTraceCmdReport(mixedHazards, shape).text);
    const full = await readAll(inChunks(bytes, bytes.length), { file: 'r', format: 'trace-cmd' });
    const { kept, counts } = expectedWith(full, wantEvent);
    assert.ok(counts.size > 0 && kept.length > 0, 'the filter refuses some lines and keeps others');
    for (const source of [() => inChunks(bytes, bytes.length), () => inChunks(bytes, [1, 7, 4096]), () => inReusedBuffer(bytes, 333)]) {
      const filtered = await readAll(source(), { file: 'r', format: 'trace-cmd', wantEvent });
      assert.deepEqual(filtered.filter((record) => record.type !== 'unused-events'), kept, JSON.stringify(shape));
      assert.deepEqual(countsOf(filtered), counts, JSON.stringify(shape));
    }
  }
});

/**
 * Whether `filtered` is `full` with the events the filter refuses taken out and counted: walks
 * both in order; returns what was taken out, by name.
 */
function takenOut(full: readonly ReadRecord[], filtered: readonly ReadRecord[], wantEvent: EventFilter): Map<string, number> {
  const rest = filtered.filter((record) => record.type !== 'unused-events');
  const counts = new Map<string, number>();
  let at = 0;
  for (const record of full) {
    if (at < rest.length && JSON.stringify(rest[at]) === JSON.stringify(record)) {
      at++;
      continue;
    }
    assert.ok(record.type === 'event' && !wantEvent(record.name, record.body.charCodeAt(0) === 0x28), `a record went missing: ${JSON.stringify(record)}`);
    counts.set(record.name, (counts.get(record.name) ?? 0) + 1);
  }
  assert.equal(at, rest.length, 'records the string grammar did not give');
  return counts;
}

test('property: any lines read with a filter give the string grammar\'s records, but refused events counted by name', async () => {
  const wantEvent: EventFilter = (name, opens) => opens === (name.length % 2 === 0);
  let skipped = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof({ weight: 3, arbitrary: cleanLine.map((text) => Buffer.from(text)) }, { weight: 1, arbitrary: reportLine.map((text) => Buffer.from(text)) }, { weight: 1, arbitrary: mutatedLine }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 64 }), async (lines, chunk) => {
      const bytes = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
      const full: TraceRecord[] = [];
      for await (const batch of traceCmdImporter.records(inChunks(bytes, bytes.length), { file: 'r' })) full.push(...(batch as TraceRecord[]));
      const filtered: ReadRecord[] = [];
      for await (const batch of traceCmdImporter.records(inReusedBuffer(bytes, chunk), { file: 'r', wantEvent })) filtered.push(...batch);
      const counts = countsOf(filtered);
      assert.deepEqual(takenOut(full, filtered, wantEvent), counts);
      for (const count of counts.values()) skipped += count;
    }),
    { numRuns: 300 },
  );
  assert.ok(skipped > 200, `${skipped} lines skipped`);
});

// ---- The WebAssembly skim of report lines (wasm/ftraceSkim.ts, `skimTraceCmdLine`) ----------

const reportRecords = readingWith(traceCmdImporter);

test('property: the same records with and without the WebAssembly skim, for any report lines, line ends, chunking and line limit', () =>
  assertSameRecordsWithSkim(
    cleanLine,
    fc.oneof(reportLine.map((text) => Buffer.from(text)), mutatedLine, fc.uint8Array({ maxLength: 90 }).map((bytes) => Buffer.from(bytes))),
    [0x20, 0x09, 0x5b, 0x5d, 0x2d, 0x3a, 0x2e, 0x28, 0x29, 0x2b, 0x30, 0x39, 0xc3, 0xff, 0x0d, 0x41, 0x23, 0x43, 0x63],
    reportRecords,
    600,
  ));

/**
 * One region read as lineRecords reads it: by the reader's whole-lines reader if it gives one
 * now (with the columns it found), or line by line; returns the lines the reader was handed,
 * and (`withColumns`) how many came with columns.
 */
function readRegion(reader: LineReader, buf: Buffer, withColumns?: { count: number }): string[] {
  const handed: string[] = [];
  const whole = reader.wholeLinesReader();
  if (whole === undefined) {
    let start = 0;
    for (let line = 1, newline = buf.indexOf(0x0a); newline !== -1; line++, start = newline + 1, newline = buf.indexOf(0x0a, start)) {
      handed.push(buf.toString('latin1', start, newline));
      reader.read(buf, start, newline, line, start);
    }
    return handed;
  }
  whole(buf, 0, buf.length, 1, 0, (lineStart, newline, lineNumber, lineOffset, columns, columnsAt) => {
    handed.push(buf.toString('latin1', lineStart, newline));
    if (withColumns !== undefined && columns !== undefined && columnsAt !== undefined && columnsAt >= 0 && (columns[columnsAt] as number) >= 0) withColumns.count += 1;
    reader.read(buf, lineStart, newline, lineNumber, lineOffset, columns, columnsAt);
  });
  return handed;
}

test('once taught, the WebAssembly skim skips the refused lines of a report in every shape, and hands back the rest', () => {
  for (const shape of shapes) {
    const text = toTraceCmdReport(mixedHazards, shape).text;
    const wantEvent: EventFilter = () => false;
    const reader = new LineReader('r', traceCmdGrammar, wantEvent, FtraceSkimmer.create(1 << 20, true), true);
    const buf = Buffer.from(text);
    const events = text.split('\n').filter((line) => parseTraceCmdLine(line, span).type === 'event').length;
    const withColumns = { count: 0 };
    const handedBack = [withColumns, undefined].map((counted) => readRegion(reader, buf, counted).length);
    const lines = text.split('\n').length - 1;
    // First round: every line handed back, each event line with its columns, the reader
    // skipping it and teaching its name.
    assert.equal(handedBack[0], lines, JSON.stringify(shape));
    assert.equal(withColumns.count, events, JSON.stringify(shape));
    // Then only the lines that are no events.
    assert.equal(handedBack[1], lines - events, JSON.stringify(shape));
    const unused = reader.takeUnused();
    assert.ok(unused?.type === 'unused-events');
    assert.equal([...unused.countsByName.values()].reduce((a, b) => a + b, 0), 2 * events);
  }
});

test('the WebAssembly skim hands back what only looks like a line of a taught name: headers, and stamps, PIDs and CPUs past 2^53', () => {
  const reader = new LineReader('r', traceCmdGrammar, () => false, FtraceSkimmer.create(1 << 20, true), true);
  const teach = ['        CPU 0/KVM-4711  [002]    88.000002: kvm_entry: x', '        CPU 0/KVM-4711  [002]    88.000002: CPU 3 is empty: x'];
  const lookalikes = [
    // Headers by their first bytes, or by what follows the first `: `.
    'registering plugin: x-12 [001] 1.000001: kvm_entry: y',
    '        CPU 0/KVM-4711  [002]    88.000002: CPU 3 is empty',
    // Microseconds of 2^53 and more: not a safe integer, so no event.
    '        CPU 0/KVM-4711  [002] 9007199254.740992: kvm_entry: x',
    '        CPU 0/KVM-4711  [002] 90071992547409920: kvm_entry: x',
    // A PID or CPU of 2^53 and more, in either shape: not a safe integer either.
    '        CPU 0/KVM-99999999999999999  [002]    88.000002: kvm_entry: x',
    '        CPU 0/KVM-4711  [99999999999999999]    88.000002: kvm_entry: x',
    'CPU 0/KV-99999999999999999    2d....   88.000002: kvm_entry: x',
    'CPU 0/KV-4711  99999999999999999d....   88.000002: kvm_entry: x',
  ];
  for (const text of lookalikes) assert.notEqual(parseTraceCmdLine(text, span).type, 'event', text);
  const rounds = [teach, teach, lookalikes].map((lines) => readRegion(reader, Buffer.from(`${lines.join('\n')}\n`)));
  assert.deepEqual(rounds, [teach, [], lookalikes]);
});
