/**
 * The CSV importer (docs/trace-format.md, "CSV"): the default layout and a --csv-map layout give
 * exact records; any chunking gives the same records; malformed rows are counted with their
 * lines; sniffing tells CSV from ftrace both ways; a bundled trace converted to CSV gives the same
 * findings through the CLI; arbitrary bytes give records or the documented error, nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { VmidReplayError } from '../../src/errors.js';
import { csvImporter } from '../../src/ingest/csv/csvImporter.js';
import { parseCsvMap, type CsvMap } from '../../src/ingest/csv/csvMap.js';
import { parseCsvTimestamp } from '../../src/ingest/csv/csvRows.js';
import { ftraceImporter } from '../../src/ingest/ftrace/ftraceImporter.js';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';
import { chooseImporter } from '../../src/ingest/readTrace.js';
import { decodeEventRecord } from '../../src/events/decode.js';
import type { ReadOptions } from '../../src/ingest/importer.js';
import type { TraceRecord } from '../../src/ingest/records.js';
import { runCli } from '../helpers/cli.js';
import { ftraceToCsv, mappedLayoutMap } from '../helpers/csvWriter.js';
import { toTraceCmdReport } from '../helpers/traceCmdReport.js';
import { inChunks, inReusedBuffer, readAllRecords } from './chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-csv-'));
function tempFile(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** All records of the CSV importer itself, bypassing the sniffer's 64 KiB peek so chunks reach it as cut. */
async function csvRecords(bytes: Uint8Array, size: number | readonly number[], options: Omit<ReadOptions, 'file' | 'wantEvent'> = {}): Promise<TraceRecord[]> {
  const out: TraceRecord[] = [];
  for await (const batch of csvImporter.records(inChunks(bytes, size), { file: 'f.csv', ...options })) {
    assert.ok(batch.length > 0, 'no empty batch');
    for (const record of batch) {
      assert.notEqual(record.type, 'unused-event', 'no unused-event record without a filter');
      out.push(record as TraceRecord);
    }
  }
  return out;
}

const span = (line: number, offset: number | undefined) => ({ file: 'f.csv', line, offset: offset ?? -1 });

const defaultSample = [
  'timestamp,cpu,pid,comm,event,fields,tgid,flags',
  '# vmid-replay: vmid_bits=8 cpus=4 variant=rfc-v2',
  '1.000001,0,4711,qemu-system-aar,vm_create,(kvm_init_stage2_mmu+0x0/0x1a0) mmu=0xffff000010001000,4711,d..1.',
  '1.000002,1,4001,CPU 1/KVM,vmid_update,(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff000010001000 id=0,4711,',
  '1000003456,1,4001,"CPU 1/KVM",vmid_update_ret,"(kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=0xffff000010001000 id=257",-----,d..1.',
  '1.000004,0,4711,qemu-system-aar,smmu_cmd,"smmu=smmu0 n=2 cmds={0x528,0x0,0x46,0x0}",,',
  '',
  'CPU:2 [LOST 12 EVENTS]',
  '1.000005,2,4711,"qemu ""quoted""\nname",tracing_mark_write,"hello, world",,',
].join('\n');

test('default layout: exact records, with tgid and flags columns, ns and secs.usecs timestamps, quoted fields', async () => {
  const bytes = Buffer.from(defaultSample);
  const records = await csvRecords(bytes, bytes.length);
  const offsets = [0];
  for (const line of defaultSample.split('\n')) offsets.push((offsets.at(-1) as number) + Buffer.byteLength(line) + 1);
  const text = defaultSample.split('\n');
  assert.deepEqual(records, [
    { type: 'header', span: span(1, 0), text: text[0] },
    { type: 'header', span: span(2, offsets[1]), text: text[1] },
    {
      type: 'event', span: span(3, offsets[2]), text: text[2],
      task: 'qemu-system-aar', pid: 4711, tgid: 4711, cpu: 0, flags: 'd..1.', tsUs: 1_000_001, tsNs: 0,
      name: 'vm_create', body: '(kvm_init_stage2_mmu+0x0/0x1a0) mmu=0xffff000010001000',
    },
    {
      type: 'event', span: span(4, offsets[3]), text: text[3],
      task: 'CPU 1/KVM', pid: 4001, tgid: 4711, cpu: 1, flags: undefined, tsUs: 1_000_002, tsNs: 0,
      name: 'vmid_update', body: '(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff000010001000 id=0',
    },
    {
      type: 'event', span: span(5, offsets[4]), text: text[4],
      task: 'CPU 1/KVM', pid: 4001, tgid: null, cpu: 1, flags: 'd..1.', tsUs: 1_000_003, tsNs: 456,
      name: 'vmid_update_ret', body: '(kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=0xffff000010001000 id=257',
    },
    {
      type: 'event', span: span(6, offsets[5]), text: text[5],
      task: 'qemu-system-aar', pid: 4711, tgid: null, cpu: 0, flags: undefined, tsUs: 1_000_004, tsNs: 0,
      name: 'smmu_cmd', body: 'smmu=smmu0 n=2 cmds={0x528,0x0,0x46,0x0}',
    },
    { type: 'header', span: span(7, offsets[6]), text: '' },
    { type: 'lost', span: span(8, offsets[7]), text: text[7], cpu: 2, count: 12 },
    {
      // A quoted field holding a line break: one record, at its first line; its text spans two.
      type: 'event', span: span(9, offsets[8]), text: `${text[8]}\n${text[9]}`,
      task: 'qemu "quoted"\nname', pid: 4711, tgid: null, cpu: 2, flags: undefined, tsUs: 1_000_005, tsNs: 0,
      name: 'tracing_mark_write', body: 'hello, world',
    },
  ]);
});

const bpftraceMap = parseCsvMap(
  {
    format: 'vmid-replay-csv-map',
    version: 1,
    columns: { timestamp: 'ts_ns', cpu: 'cpu_id', comm: 'task', event: 'event_name' },
    timestampUnit: 'ns',
    args: { kvm_vmid: 'arg_kvm_vmid', id: 'arg_id' },
  },
  'bpftrace.json',
);

test('--csv-map layout: renamed columns, ns timestamps, body built from argument columns, no pid column', async () => {
  const sample = [
    'ts_ns,cpu_id,task,event_name,arg_kvm_vmid,arg_id',
    '1000002000,1,CPU 1/KVM,vmid_update,0xffff000010001000,0',
    '1000003001,1,CPU 1/KVM,vmid_update_ret,0xffff000010001000,257',
    '1000004000,1,CPU 1/KVM,vmid_clear_active,,',
  ].join('\r\n');
  const bytes = Buffer.from(sample);
  const lines = sample.split('\r\n');
  const records = await csvRecords(bytes, bytes.length, { csvMap: bpftraceMap });
  const event = (line: number, tsUs: number, tsNs: number, name: string, body: string) => ({
    type: 'event',
    span: span(line, lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 2, 0)),
    text: lines[line - 1],
    task: 'CPU 1/KVM',
    pid: -1,
    tgid: undefined,
    cpu: 1,
    flags: undefined,
    tsUs,
    tsNs,
    name,
    body,
  });
  assert.deepEqual(records, [
    { type: 'header', span: span(1, 0), text: lines[0] },
    event(2, 1_000_002, 0, 'vmid_update', 'kvm_vmid=0xffff000010001000 id=0'),
    event(3, 1_000_003, 1, 'vmid_update_ret', 'kvm_vmid=0xffff000010001000 id=257'),
    event(4, 1_000_004, 0, 'vmid_clear_active', ''),
  ]);
});

test('--csv-map: argPrefix, a delimiter, units, and a fields column with arguments after it', async () => {
  const map = parseCsvMap(
    { format: 'vmid-replay-csv-map', version: 1, columns: { timestamp: 'time_ms' }, timestampUnit: 'ms', argPrefix: 'arg_', delimiter: ';' },
    'semi.json',
  );
  const sample = 'time_ms;cpu;pid;comm;event;fields;arg_id;arg_comm;other\n1000.002001;3;7;vm;vmid_update;(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0x1;257;qemu system;x\n';
  const records = await csvRecords(Buffer.from(sample), 7, { csvMap: map });
  assert.equal(records.length, 2);
  const event = records[1];
  assert.ok(event?.type === 'event', JSON.stringify(event));
  assert.deepEqual([event.tsUs, event.tsNs, event.cpu, event.pid, event.task], [1_000_002, 1, 3, 7, 'vm']);
  // `other` is neither a layout field nor an argument column under a map: ignored.
  assert.equal(event.body, '(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0x1 id=257 comm="qemu system"');
});

test('timestamps are exact integers in every unit, and refused rather than rounded', () => {
  assert.deepEqual(parseCsvTimestamp('1520.114223', undefined), { us: 1_520_114_223, ns: 0 });
  assert.deepEqual(parseCsvTimestamp('1520.114223456', undefined), { us: 1_520_114_223, ns: 456 });
  assert.deepEqual(parseCsvTimestamp('1520.1', undefined), { us: 1_520_100_000, ns: 0 });
  assert.deepEqual(parseCsvTimestamp('1520114223456', undefined), { us: 1_520_114_223, ns: 456 });
  // Beyond 2^53 nanoseconds (104 days of uptime) and still exact.
  assert.deepEqual(parseCsvTimestamp('9007199254740991123', undefined), { us: Number.MAX_SAFE_INTEGER, ns: 123 });
  assert.deepEqual(parseCsvTimestamp(' 2 ', 's'), { us: 2_000_000, ns: 0 });
  assert.deepEqual(parseCsvTimestamp('1.5', 'ms'), { us: 1500, ns: 0 });
  assert.deepEqual(parseCsvTimestamp('1.001', 'us'), { us: 1, ns: 1 });
  assert.deepEqual(parseCsvTimestamp('1001', 'ns'), { us: 1, ns: 1 });
  for (const [text, unit] of [
    ['1.5', 'ns'],
    ['1.0001', 'us'],
    ['1.1234567891', undefined],
    ['1520.', undefined],
    ['-1.0', undefined],
    ['1e9', undefined],
    ['0x10', undefined],
    ['', undefined],
    ['99999999999999999999999', undefined],
    ['9007199254740993', 's'],
    ['9007199254740992000', undefined],
  ] as const) {
    assert.equal(parseCsvTimestamp(text, unit), undefined, `${text} ${unit ?? ''}`);
  }
});

test('a csv map is validated, errors name the file and the key', () => {
  const valid = { format: 'vmid-replay-csv-map', version: 1 };
  const cases: [unknown, RegExp][] = [
    [[], /^m\.json: csv map: expected a JSON object$/],
    [{ ...valid, format: 'x' }, /format: expected "vmid-replay-csv-map"/],
    [{ ...valid, version: 2 }, /version: expected 1, found 2/],
    [{ ...valid, colums: {} }, /colums: unknown key/],
    [{ ...valid, columns: { time: 'ts' } }, /columns\.time: unknown layout field/],
    [{ ...valid, columns: { timestamp: 3 } }, /columns\.timestamp: expected a column name, found 3/],
    [{ ...valid, timestampUnit: 'h' }, /timestampUnit: expected one of s, ms, us, ns, found "h"/],
    [{ ...valid, args: { 'a b': 'x' } }, /args\.a b: an argument name is/],
    [{ ...valid, args: { id: '' } }, /args\.id: expected a column name/],
    [{ ...valid, argPrefix: '' }, /argPrefix: expected a non-empty string/],
    [{ ...valid, delimiter: '"' }, /delimiter: expected one character/],
  ];
  for (const [document, message] of cases) {
    assert.throws(
      () => parseCsvMap(document, 'm.json'),
      (error: unknown) => error instanceof VmidReplayError && error.code === 'CONFIG_INVALID' && error.message.startsWith('m.json: csv map: ') && message.test(error.message),
      JSON.stringify(document),
    );
  }
  assert.deepEqual(parseCsvMap(valid, 'm.json'), { source: 'm.json', columns: new Map(), args: [], delimiter: ',' });
});

test('a header row without the columns the layout or the map needs: malformed, naming the map key', async () => {
  const noEvent = await csvRecords(Buffer.from('timestamp,cpu,pid\n1.000001,0,1\n'), 4096);
  assert.deepEqual(
    noEvent.map((record) => [record.type, record.span.line, record.type === 'malformed' ? record.expected : '']),
    [
      ['malformed', 1, 'a header row naming at least the columns timestamp, cpu, event (docs/trace-format.md, CSV), found "timestamp,cpu,pid"'],
      ['malformed', 2, 'rows after a usable header row (the header row at line 1 was not one)'],
    ],
  );
  const mismatch = await csvRecords(Buffer.from('timestamp,cpu_id,task,event_name,arg_kvm_vmid,arg_id\n'), 4096, { csvMap: bpftraceMap });
  assert.equal(mismatch.length, 1);
  assert.ok(mismatch[0]?.type === 'malformed');
  assert.equal(mismatch[0].expected, 'a header row with the column "ts_ns" (bpftrace.json: columns.timestamp)');
  const twice = await csvRecords(Buffer.from('timestamp,cpu,event,cpu\n'), 4096);
  assert.ok(twice[0]?.type === 'malformed' && /naming the column "cpu" once/.test(twice[0].expected), JSON.stringify(twice));
  const badArg = await csvRecords(Buffer.from('timestamp,cpu,event,my arg\n'), 4096);
  assert.ok(badArg[0]?.type === 'malformed' && /argument columns named with letters/.test(badArg[0].expected), JSON.stringify(badArg));
});

const malformedSample = [
  'timestamp,cpu,pid,comm,event,fields',
  '1.000001,0,1,a,vm_create,mmu=0x1',
  '1.000002,0,1,a,vm_create',
  '1.000003,0,1,a,vm_create,mmu=0x1,extra',
  '1.5e3,0,1,a,vm_create,mmu=0x1',
  '1.000004,cpu0,1,a,vm_create,mmu=0x1',
  '1.000005,1.5,1,a,vm_create,mmu=0x1',
  '1.000006,0,1,a,,mmu=0x1',
  '1.000007,0,x,a,vm_create,mmu=0x1',
  '1.000008,0,1,a,vm_destroy,"mmu=0x1',
  'id=5"',
  '1.000009,0,1,a,vm_destroy,mmu=0x1',
].join('\n');

test('malformed rows: missing or extra columns, bad timestamp, CPU or PID are counted with their lines, never thrown', async () => {
  const bytes = Buffer.from(malformedSample);
  const records = await csvRecords(bytes, 7);
  assert.deepEqual(
    records.map((record) => [record.type, record.span.line, record.type === 'malformed' ? record.expected : '']),
    [
      ['header', 1, ''],
      ['event', 2, ''],
      ['malformed', 3, '6 columns as in the header row at line 1, found 5'],
      ['malformed', 4, '6 columns as in the header row at line 1, found 7'],
      ['malformed', 5, 'a timestamp in column "timestamp": seconds with 1 to 9 decimals ("1520.114223") or integer nanoseconds, found "1.5e3"'],
      ['malformed', 6, 'a CPU number (a non-negative integer) in column "cpu", found "cpu0"'],
      ['malformed', 7, 'a CPU number (a non-negative integer) in column "cpu", found "1.5"'],
      ['malformed', 8, 'an event name in column "event"'],
      ['malformed', 9, 'a PID (a non-negative integer) in column "pid", found "x"'],
      ['event', 10, ''],
      ['event', 12, ''],
    ],
  );
  const destroy = records[9];
  assert.ok(destroy?.type === 'event');
  assert.equal(destroy.body, 'mmu=0x1\nid=5');

  const path = tempFile('malformed.csv', bytes);
  const lenient = await runCli(['analyze', path, '--format', 'json', '--vmid-bits', '8', '--cpus', '2']);
  const report = JSON.parse(lenient.stdout) as { counts: { records: Record<string, number> }; diagnostics: { code: string; count: number; samples: { line: number }[] }[] };
  assert.equal(report.counts.records['malformed'], 7);
  const malformed = report.diagnostics.find((entry) => entry.code === 'malformed-line');
  assert.equal(malformed?.count, 7);
  assert.deepEqual(
    malformed.samples.map((sample) => sample.line),
    [3, 4, 5, 6, 7],
  );
  const strict = await runCli(['analyze', path, '--strict', '--vmid-bits', '8', '--cpus', '2']);
  assert.equal(strict.code, 65);
  assert.match(strict.stderr, /malformed\.csv:3: expected 6 columns as in the header row at line 1, found 5, found "1\.000002,0,1,a,vm_create"/);
});

test('an unclosed quote at the end is one malformed row; a record over the size limit is a MALFORMED_LINE error with its line', async () => {
  const unclosed = Buffer.from('timestamp,cpu,event\n1.000001,0,vm_create\n1.000002,0,"vm_create\nmore\n');
  for (const size of [1, 7, unclosed.length]) {
    const records = await csvRecords(unclosed, size);
    assert.deepEqual(
      records.map((record) => [record.type, record.span.line, record.span.offset]),
      [
        ['header', 1, 0],
        ['event', 2, 20],
        ['malformed', 3, 41],
      ],
    );
    const last = records[2];
    assert.ok(last?.type === 'malformed');
    assert.match(last.expected, /a closing quote/);
    assert.equal(last.text, '1.000002,0,"vm_create\nmore\n');
  }
  const long = Buffer.from(`timestamp,cpu,event\n1.000001,0,"${'x'.repeat(500)}\n1.000002,0,vm_create\n`);
  for (const size of [7, long.length]) {
    await assert.rejects(csvRecords(long, size, { maxLineBytes: 100 }), (error: unknown) => {
      assert.ok(error instanceof VmidReplayError);
      assert.equal(error.code, 'MALFORMED_LINE');
      assert.equal(error.exitCode, 65);
      assert.match(error.message, /^f\.csv:2: expected a CSV row of at most 100 bytes/);
      return true;
    });
  }
});

const mixedHazards = readFileSync('traces/mixed-hazards.trace', 'utf8');
const tgidCapture = gunzipSync(readFileSync('traces/capture-a57-8bit-portable-tgid.trace.gz')).toString('utf8');

interface Fixture {
  readonly name: string;
  readonly bytes: Buffer;
  readonly csvMap?: CsvMap;
}

function streamingFixtures(): Fixture[] {
  const converted = ftraceToCsv(mixedHazards);
  return [
    { name: 'default sample', bytes: Buffer.from(defaultSample) },
    { name: 'malformed sample', bytes: Buffer.from(malformedSample) },
    { name: 'mixed-hazards as CSV', bytes: Buffer.from(converted) },
    { name: 'mixed-hazards as CSV, CRLF, BOM', bytes: Buffer.from(`\ufeff${converted.replaceAll('\n', '\r\n')}`) },
    { name: 'mixed-hazards as mapped CSV, no final newline', bytes: Buffer.from(ftraceToCsv(mixedHazards, 'mapped').trimEnd()), csvMap: parseCsvMap(mappedLayoutMap, 'mapped.json') },
  ];
}

test('streaming: chunk sizes 1, 7, 4096 and whole give identical records, with exact byte offsets', async () => {
  const fixtures = streamingFixtures();
  assert.equal(fixtures.length, 5);
  for (const fixture of fixtures) {
    const options = fixture.csvMap === undefined ? {} : { csvMap: fixture.csvMap };
    const whole = await csvRecords(fixture.bytes, fixture.bytes.length, options);
    assert.ok(whole.length >= 9, `${fixture.name}: ${whole.length} records`);
    assert.ok(whole.some((record) => record.type === 'event'), fixture.name);
    for (const record of whole) {
      // The offset points at the row's first byte (past a BOM, the first row starts at 0, where the BOM is).
      const from = record.span.offset === 0 && fixture.bytes[0] === 0xef ? 3 : record.span.offset;
      const at = fixture.bytes.subarray(from, from + Buffer.byteLength(record.text)).toString('utf8');
      assert.equal(at, record.text, `${fixture.name}: line ${record.span.line}`);
    }
    for (const size of [1, 7, 4096]) {
      assert.deepEqual(await csvRecords(fixture.bytes, size, options), whole, `${fixture.name}, chunk size ${size}`);
    }
    // And through the sniffer and gzip, as the CLI reads them.
    const sniffed = await readAllRecords(inChunks(gzipSync(fixture.bytes), 4096), { file: 'f.csv', ...options });
    assert.deepEqual(sniffed, whole, `${fixture.name}, gzip through recordsFromBytes`);
    // Files are read into reused buffers: nothing may hold on to a chunk once it asks for the next.
    for (const size of [1, 7, 4096]) {
      assert.deepEqual(await readAllRecords(inReusedBuffer(fixture.bytes, size), { file: 'f.csv', ...options }), whole, `${fixture.name}, one reused buffer of ${size}`);
    }
  }
});

test('property: arbitrary chunk boundaries give identical records', async () => {
  const fixtures = streamingFixtures();
  const expected = await Promise.all(fixtures.map((fixture) => csvRecords(fixture.bytes, fixture.bytes.length, fixture.csvMap === undefined ? {} : { csvMap: fixture.csvMap })));
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: fixtures.length - 1 }),
      fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 30 }).filter((sizes) => sizes.some((size) => size > 0)),
      async (which, sizes) => {
        const fixture = fixtures[which] as Fixture;
        const options = fixture.csvMap === undefined ? {} : { csvMap: fixture.csvMap };
        assert.deepEqual(await csvRecords(fixture.bytes, sizes, options), expected[which]);
      },
    ),
    { numRuns: 100, includeErrorInReport: true },
  );
});

test('converted events are the ftrace events: same fields, only text and span differ', async () => {
  for (const [name, trace] of [
    ['mixed-hazards', mixedHazards],
    ['a57 TGID capture', tgidCapture],
  ] as const) {
    const ftrace = trace
      .split('\n')
      .slice(0, -1)
      .map((line, i) => parseFtraceLine(line, { file: 'f.csv', line: i + 2, offset: 0 }));
    const csv = await csvRecords(Buffer.from(ftraceToCsv(trace)), 65536);
    assert.equal(csv.length, ftrace.length + 1, name);
    assert.equal(csv[0]?.type, 'header');
    const strip = (record: TraceRecord) => ({ ...record, text: '', span: { ...record.span, offset: 0 } });
    assert.ok(ftrace.filter((record) => record.type === 'event').length > 100, name);
    csv.slice(1).forEach((record, i) => {
      const original = ftrace[i] as TraceRecord;
      if (original.type === 'event') assert.deepEqual(strip(record), strip(original), `${name}: line ${i + 1}`);
      else assert.deepEqual(record, { ...original, span: record.span }, `${name}: line ${i + 1}`);
    });
  }
});

test('sniffing: a CSV header row wins for CSV, ftrace text keeps winning for ftrace text', () => {
  const csvHeads = [
    ftraceToCsv(mixedHazards),
    ftraceToCsv(tgidCapture),
    '\ufefftimestamp,cpu,pid,comm,event,fields\n',
    '"timestamp","cpu","event"\r\n1.0,0,x\r\n',
    '# vmid-replay: vmid_bits=8\n\ncomm,event,cpu,timestamp\n',
    'ts_ns,cpu_id,task,event_name,arg_kvm_vmid,arg_id\n1000002000,1,CPU 1/KVM,vmid_update,0x1,0\n',
  ];
  for (const head of csvHeads) {
    const latin1 = Buffer.from(head).toString('latin1');
    assert.equal(chooseImporter(latin1, { file: 'capture.txt' }).format, 'csv', head.slice(0, 60));
    assert.ok(csvImporter.sniff(latin1, 'capture.txt') > ftraceImporter.sniff(latin1, 'capture.txt'), head.slice(0, 60));
  }
  assert.equal(csvImporter.sniff('timestamp,cpu,pid,comm,event,fields\n', 'x'), 0.95);

  const ftraceHeads = [
    mixedHazards,
    tgidCapture,
    readFileSync('traces/device-assignment-clean.trace', 'utf8'),
    gunzipSync(readFileSync('traces/capture-a57-8bit-trace-pipe.trace.gz')).toString('utf8'),
    gunzipSync(readFileSync('traces/churn-8bit-rollovers.trace.gz')).toString('utf8'),
    '  qemu-system-aar-4711 [000] d..1.     1.000001: smmu_cmd: smmu=smmu0 n=2 cmds={0x528,0x0,0x46,0x0}\n',
    '        CPU 1/KVM-4001 [001] d..1.     1.000005: kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0000000040000018\n',
  ];
  // trace-cmd report text, in the shapes its tests use: never taken for CSV either.
  for (const shape of [{ cpus: 4 }, { cpus: 4, nanoseconds: true, tsDiff: true }, { cpus: 4, latency: true, version2: true }, { cpus: 4, multiInput: 'a.dat' }]) {
    const head = toTraceCmdReport(mixedHazards, shape).text.slice(0, 64 * 1024);
    assert.equal(chooseImporter(head, { file: 'report.csv' }).format, 'trace-cmd', JSON.stringify(shape));
    assert.ok(csvImporter.sniff(head, 'report.txt') < 0.1, JSON.stringify(shape));
  }
  for (const text of ftraceHeads) {
    const head = text.slice(0, 64 * 1024);
    // Even when the file is named .csv, ftrace text is ftrace.
    for (const file of ['capture.txt', 'capture.csv']) {
      assert.equal(chooseImporter(head, { file }).format, 'ftrace', `${file}: ${head.slice(0, 60)}`);
    }
    assert.ok(csvImporter.sniff(head, 'capture.txt') < 0.1, head.slice(0, 60));
  }
});

interface JsonFinding {
  checkId: string;
  severity: string;
  messageId: string;
  message: string;
  line: number;
  tsUs: number;
  inconclusive: boolean;
  data: unknown;
  witnesses: { role: string; ref: { line: number; cpu: number; tsUs: number } }[];
}
interface JsonReport {
  verdict: string;
  findings: JsonFinding[];
  counts: { eventsByKind: Record<string, number>; allEventsAccounted: boolean; unusedByName: Record<string, number> };
  diagnostics: { code: string; count: number }[];
}

/** Line numbers in a finding's message (`at line 111`) and data (`pinLine: 111`), shifted back by `shift`. */
function shiftLines(value: unknown, shift: number, key = ''): unknown {
  if (typeof value === 'string') return value.replace(/\bline (\d+)/g, (_, line: string) => `line ${Number(line) - shift}`);
  if (typeof value === 'number') return /line$/i.test(key) ? value - shift : value;
  if (Array.isArray(value)) return value.map((item) => shiftLines(item, shift));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, shiftLines(item, shift, name)]));
  return value;
}

/** What must not change between a trace and its CSV form: everything but the file name, with lines shifted back by `shift`. */
function comparable(report: JsonReport, shift: number) {
  return {
    verdict: report.verdict,
    eventsByKind: report.counts.eventsByKind,
    unusedByName: report.counts.unusedByName,
    allEventsAccounted: report.counts.allEventsAccounted,
    diagnostics: report.diagnostics.map((entry) => [entry.code, entry.count]),
    findings: report.findings.map((finding) => ({
      checkId: finding.checkId,
      severity: finding.severity,
      messageId: finding.messageId,
      message: shiftLines(finding.message, shift),
      line: finding.line - shift,
      tsUs: finding.tsUs,
      inconclusive: finding.inconclusive,
      data: shiftLines(finding.data, shift),
      witnesses: finding.witnesses.map((witness) => [shiftLines(witness.role, shift), witness.ref.line - shift, witness.ref.cpu, witness.ref.tsUs]),
    })),
  };
}

test('a bundled trace converted to CSV gives the same findings and lines through analyze --format json', async () => {
  const mapFile = tempFile('mapped.json', JSON.stringify(mappedLayoutMap));
  const cases = [
    { name: 'mixed-hazards', trace: 'traces/mixed-hazards.trace', text: mixedHazards, args: [] as string[] },
    { name: 'a57 TGID capture', trace: 'traces/capture-a57-8bit-portable-tgid.trace.gz', text: tgidCapture, args: ['--map', 'traces/captures-6.1.map.json'] },
  ];
  for (const { name, trace, text, args } of cases) {
    const original = await runCli(['analyze', trace, '--format', 'json', ...args]);
    assert.equal(original.stderr, '', name);
    const expected = JSON.parse(original.stdout) as JsonReport;
    if (name === 'mixed-hazards') {
      assert.equal(expected.verdict, 'findings');
      assert.ok(expected.findings.length >= 5, `${expected.findings.length} findings`);
    } else {
      assert.ok(Object.keys(expected.counts.eventsByKind).length >= 4, name);
    }
    assert.equal(expected.counts.allEventsAccounted, true);
    const forms = [
      { file: tempFile(`${name}.csv`, ftraceToCsv(text)), extra: [] as string[] },
      { file: tempFile(`${name}.csv.gz`, gzipSync(ftraceToCsv(text, 'mapped'))), extra: ['--csv-map', mapFile] },
    ];
    for (const form of forms) {
      const result = await runCli(['analyze', form.file, '--format', 'json', ...args, ...form.extra]);
      assert.equal(result.stderr, '', `${name}: ${form.file}`);
      assert.equal(result.code, original.code, `${name}: ${form.file}`);
      const report = JSON.parse(result.stdout) as JsonReport;
      assert.deepEqual(comparable(report, 1), comparable(expected, 0), `${name}: ${form.file}`);
    }
  }
});

test('--input-format csv reads a CSV that starts like ftrace text (a "# tracer:" comment first)', async () => {
  const text = `# tracer: nop\n${ftraceToCsv(mixedHazards)}`;
  assert.equal(chooseImporter(text, { file: 'x.csv' }).format, 'ftrace');
  const path = tempFile('tracer-first.csv', text);
  // Read as ftrace, the rows are malformed lines and nothing is left to replay.
  const sniffed = await runCli(['analyze', path, '--format', 'json']);
  assert.equal(sniffed.code, 3);
  assert.match(sniffed.stderr, /no vmid-replay events; found \d{3,} lines that are not trace lines .*--input-format names its format and --csv-map reads a CSV of other columns.*\[NO_EVENTS\]\n$/);
  const forced = await runCli(['analyze', path, '--format', 'json', '--input-format', 'csv']);
  const expected = JSON.parse((await runCli(['analyze', 'traces/mixed-hazards.trace', '--format', 'json'])).stdout) as JsonReport;
  assert.deepEqual(comparable(JSON.parse(forced.stdout) as JsonReport, 2), comparable(expected, 0));
});

test('--csv-map errors name the file: missing, not JSON, invalid', async () => {
  const trace = tempFile('small.csv', 'timestamp,cpu,event\n');
  const missing = await runCli(['analyze', trace, '--csv-map', join(dir, 'nope.json')]);
  assert.equal(missing.code, 66);
  assert.match(missing.stderr, /nope\.json: no such csv map/);
  const notJson = await runCli(['analyze', trace, '--csv-map', tempFile('bad.json', '{')]);
  assert.equal(notJson.code, 64);
  assert.match(notJson.stderr, /bad\.json: csv map is not valid JSON/);
  const invalid = await runCli(['replay', trace, '--csv-map', tempFile('invalid.json', JSON.stringify({ format: 'vmid-replay-csv-map', version: 1, columns: { ts: 'x' } }))]);
  assert.equal(invalid.code, 64);
  assert.match(invalid.stderr, /invalid\.json: csv map: columns\.ts: unknown layout field/);
});

/** Pieces that make CSV parsers work: quotes, delimiters, line ends, a header, comments, bad UTF-8. */
const csvPiece = fc.constantFrom(',', '"', '""', '\n', '\r\n', '\r', '#', 'timestamp,cpu,event', 'ts_ns,cpu_id,task,event_name', '1.000001', '12', '0', 'vmid_update', 'CPU:1 [LOST 2 EVENTS]', ' => x', '\u0000', 'é', '\xff', '\ufeff', ' ');

test('property: arbitrary bytes give records or a VmidReplayError, never another exception', async () => {
  const check = async (bytes: Uint8Array, sizes: number[], maxLineBytes: number, mapped: boolean) => {
    const options: Omit<ReadOptions, 'file'> = { maxLineBytes, ...(mapped ? { csvMap: bpftraceMap } : {}) };
    try {
      const records = await csvRecords(bytes, sizes, options);
      // Rows follow each other: lines and byte offsets only grow, and stay inside the input.
      records.forEach((record, i) => {
        const before = records[i - 1];
        assert.equal(record.span.file, 'f.csv');
        assert.ok(record.span.offset < bytes.length, `offset ${record.span.offset} of ${bytes.length}`);
        if (before !== undefined) assert.ok(record.span.line > before.span.line && record.span.offset > before.span.offset, JSON.stringify([before.span, record.span]));
      });
    } catch (error) {
      if (!(error instanceof VmidReplayError)) throw error;
      assert.equal(error.code, 'MALFORMED_LINE');
    }
  };
  const sizes = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 });
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), sizes, fc.integer({ min: 1, max: 300 }), fc.boolean(), async (bytes, chunks, max, mapped) => check(bytes, chunks, max, mapped)),
    { numRuns: 300, includeErrorInReport: true },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(csvPiece, { maxLength: 60 }).map((pieces) => Buffer.from(pieces.join(''), 'utf8')),
      sizes,
      fc.integer({ min: 1, max: 300 }),
      fc.boolean(),
      async (bytes, chunks, max, mapped) => check(bytes, chunks, max, mapped),
    ),
    { numRuns: 500, includeErrorInReport: true },
  );
});

/** Fenced blocks of docs/trace-format.md by their info string (`text csv`, `json csv-map`, ...). */
function docBlocks(info: string): string[] {
  const doc = readFileSync('docs/trace-format.md', 'utf8');
  const blocks: string[] = [];
  let open: { info: string; lines: string[] } | undefined;
  for (const line of doc.split('\n')) {
    const fence = /^```(.*)$/.exec(line);
    if (open === undefined) {
      if (fence !== null) open = { info: (fence[1] ?? '').trim(), lines: [] };
    } else if (fence !== null && (fence[1] ?? '').trim() === '') {
      if (open.info === info) blocks.push(`${open.lines.join('\n')}\n`);
      open = undefined;
    } else {
      open.lines.push(line);
    }
  }
  return blocks;
}

test('docs/trace-format.md: its CSV samples and its CSV map read as documented', async () => {
  const decodeAll = (records: TraceRecord[]) =>
    records.flatMap((record) => (record.type === 'event' ? [decodeEventRecord(record, { vmidBits: 4 })] : []));
  const samples = docBlocks('text csv');
  assert.equal(samples.length, 2);
  for (const sample of samples) {
    const records = await csvRecords(Buffer.from(sample), 7);
    assert.deepEqual(records.filter((record) => record.type === 'malformed'), [], sample);
    const decoded = decodeAll(records);
    assert.ok(decoded.filter((outcome) => outcome.type === 'event').length >= 3, sample);
    assert.deepEqual(decoded.filter((outcome) => outcome.type === 'malformed' || outcome.type === 'unrecognised-probe'), [], sample);
  }
  // The argument-column sample means what the fields sample does.
  const [withFields, withArgs] = await Promise.all(samples.map((sample) => csvRecords(Buffer.from(sample), 4096)));
  const kinds = (records: TraceRecord[] | undefined) => decodeAll(records ?? []).flatMap((outcome) => (outcome.type === 'event' ? [[outcome.event.kind, outcome.event.tsUs, 'vm' in outcome.event ? outcome.event.vm : '']] : []));
  assert.deepEqual(kinds(withArgs), kinds(withFields).slice(0, 3));

  const [mapText] = docBlocks('json csv-map');
  assert.ok(mapText !== undefined);
  const map = parseCsvMap(JSON.parse(mapText), 'doc.json');
  const [mapped] = docBlocks('text csv mapped');
  assert.ok(mapped !== undefined);
  const mappedRecords = await csvRecords(Buffer.from(mapped), 7, { csvMap: map });
  assert.deepEqual(
    decodeAll(mappedRecords).map((outcome) => (outcome.type === 'event' ? [outcome.event.kind, outcome.event.tsUs] : outcome.type)),
    [
      ['vmid-update', 1_000_002],
      ['vmid-update', 1_000_003],
    ],
  );

  const [malformed] = docBlocks('text csv malformed');
  assert.ok(malformed !== undefined);
  const bad = await csvRecords(Buffer.from(malformed), 7);
  assert.deepEqual(
    bad.map((record) => [record.type, record.span.line, record.type === 'malformed' ? record.expected : '']),
    [
      ['header', 1, ''],
      ['malformed', 2, '6 columns as in the header row at line 1, found 5'],
      ['malformed', 3, '6 columns as in the header row at line 1, found 7'],
      ['malformed', 4, 'a timestamp in column "timestamp": seconds with 1 to 9 decimals ("1520.114223") or integer nanoseconds, found "1.5e3"'],
      ['malformed', 5, 'a CPU number (a non-negative integer) in column "cpu", found "cpu0"'],
    ],
  );
});
