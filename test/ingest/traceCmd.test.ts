/**
 * The `trace-cmd report` importer: every line shape with its exact columns (lines marked "real"
 * are copied from trace-cmd's man page, workload-automation's parser and libtraceevent's commit
 * log; the others are written with the format strings of tracecmd/trace-read.c), sniffing in
 * both directions, streaming, and the property that matters: a trace analysed as ftrace text
 * and as `trace-cmd report` text gives the same findings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';
import { parseTraceCmdLine } from '../../src/ingest/traceCmd/traceCmdLine.js';
import { ftraceImporter } from '../../src/ingest/ftrace/ftraceImporter.js';
import { traceCmdImporter } from '../../src/ingest/traceCmd/traceCmdImporter.js';
import { chooseImporter } from '../../src/ingest/readTrace.js';
import type { SourceSpan, TraceRecord } from '../../src/ingest/records.js';
import { runCli } from '../helpers/cli.js';
import { toTraceCmdReport, type ReportShape } from '../helpers/traceCmdReport.js';
import { capturesRoot, inChunks, readAllRecords } from './chunks.js';

const span: SourceSpan = { file: 'report.txt', line: 7, offset: 512 };

interface Fields {
  task: string;
  pid: number;
  cpu: number;
  flags: string | undefined;
  tsUs: number;
  tsNs: number;
  name: string;
  body: string;
}

function parseEvent(text: string): Fields {
  const record = parseTraceCmdLine(text, span);
  if (record.type !== 'event') assert.fail(`expected an event, got ${JSON.stringify(record)}`);
  assert.equal(record.text, text);
  assert.equal(record.span, span);
  assert.equal(record.tgid, undefined, 'trace-cmd prints no TGID column');
  const { task, pid, cpu, flags, tsUs, tsNs, name, body } = record;
  return { task, pid, cpu, flags, tsUs, tsNs, name, body };
}

const event = (fields: Partial<Fields> & Pick<Fields, 'task' | 'pid' | 'cpu' | 'tsUs' | 'name' | 'body'>): Fields => ({ flags: undefined, tsNs: 0, ...fields });

test('default format (real, trace-cmd-report.1.txt): the name padded to 20 columns is not part of the body', () => {
  assert.deepEqual(
    parseEvent('       trace-cmd-16130 [003] 158126.498411: function:             do_splice_to <-- sys_splice'),
    event({ task: 'trace-cmd', pid: 16130, cpu: 3, tsUs: 158126_498411, name: 'function', body: 'do_splice_to <-- sys_splice' }),
  );
  // Padding is 20 - strlen(name) blanks after "NAME: ": a body's own leading blanks survive.
  assert.deepEqual(
    parseEvent('        CPU 0/KVM-4711  [002]    88.123456: kvm_entry:              vcpu 0'),
    event({ task: 'CPU 0/KVM', pid: 4711, cpu: 2, tsUs: 88_123456, name: 'kvm_entry', body: '  vcpu 0' }),
  );
  // trace-cmd 1.x printed no padding: a single blank still separates name and body.
  assert.equal(parseEvent('       trace-cmd-16129 [002] 158126.498411: function: __mutex_unlock_slowpath <-- mutex_unlock').body, '__mutex_unlock_slowpath <-- mutex_unlock');
});

test('a name of 20 characters or more is not padded (real, workload-automation trace_cmd.py)', () => {
  assert.deepEqual(
    parseEvent('          <idle>-0     [000]  3284.126993: sched_rq_runnable_load: cpu=0 load=54'),
    event({ task: '<idle>', pid: 0, cpu: 0, tsUs: 3284_126993, name: 'sched_rq_runnable_load', body: 'cpu=0 load=54' }),
  );
});

test('dynamic-event bodies come through unchanged, as ftrace prints them or as print_fmt does', () => {
  const entry = '(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff000010001000 id=0';
  assert.deepEqual(
    parseEvent(`       CPU 1/KVM-4001  [001]     1.000002: vmid_update:          ${entry}`),
    event({ task: 'CPU 1/KVM', pid: 4001, cpu: 1, tsUs: 1_000002, name: 'vmid_update', body: entry }),
  );
  const ret = '(ffff8000197a8467 <- ffff800020adf456) kvm_vmid=0xffff000010001000 id=17';
  assert.equal(parseEvent(`       CPU 1/KVM-4001  [001]     1.000003: vmid_update_ret:      ${ret}`).body, ret);
});

test('-l latency format (real, trace-cmd-report.1.txt): comm cut to 8, CPU without brackets glued to the flags', () => {
  assert.deepEqual(
    parseEvent('      <idle>-0       0d.h1. 106467.859747: function:             ktime_get <-- tick_check_idle'),
    event({ task: '<idle>', pid: 0, cpu: 0, flags: 'd.h1.', tsUs: 106467_859747, name: 'function', body: 'ktime_get <-- tick_check_idle' }),
  );
  // A cut comm may hold blanks and dashes; the pid is the digits after the dash the columns follow.
  assert.deepEqual(
    parseEvent('qemu-sys-4711    0d..1.     1.000001: vm_create:            (kvm_init_stage2_mmu+0x0/0x1a0) mmu=0xffff000010001000'),
    event({ task: 'qemu-sys', pid: 4711, cpu: 0, flags: 'd..1.', tsUs: 1_000001, name: 'vm_create', body: '(kvm_init_stage2_mmu+0x0/0x1a0) mmu=0xffff000010001000' }),
  );
  assert.deepEqual(
    parseEvent('CPU 1/KV-123456 101d..1      1.000002: vmid_clear_active:    (kvm_arm_vmid_clear_active+0x0/0x34)'),
    event({ task: 'CPU 1/KV', pid: 123456, cpu: 101, flags: 'd..1', tsUs: 1_000002, name: 'vmid_clear_active', body: '(kvm_arm_vmid_clear_active+0x0/0x34)' }),
  );
});

test('-t nanosecond timestamps, the raw %12d: counter and a sub-second %12llu are exact integers', () => {
  assert.deepEqual(
    parseEvent('       CPU 1/KVM-4001  [001]  1520.114223456: vmid_update:          (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0x1 id=0'),
    event({ task: 'CPU 1/KVM', pid: 4001, cpu: 1, tsUs: 1520_114223, tsNs: 456, name: 'vmid_update', body: '(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0x1 id=0' }),
  );
  // Real (libtraceevent "Remove extra '\n' in print_event_time()"): no blank between ] and a 12-digit count.
  assert.deepEqual(
    parseEvent('           sleep-3946  [001]111264306005: function:             inotify_inode_queue_event'),
    event({ task: 'sleep', pid: 3946, cpu: 1, tsUs: 111264306005, name: 'function', body: 'inotify_inode_queue_event' }),
  );
  assert.equal(parseEvent('            bash-1000  [000]          500: print:                tracing_mark_write: x').tsUs, 500);
});

test('--ts-diff: the (+DIFF) column, blank for the first event, is skipped', () => {
  const first = parseEvent('            bash-1000  [000]     1.000001:          print:                tracing_mark_write: hello');
  assert.deepEqual(first, event({ task: 'bash', pid: 1000, cpu: 0, tsUs: 1_000001, name: 'print', body: 'tracing_mark_write: hello' }));
  assert.deepEqual(parseEvent('            bash-1000  [000]     1.000013: (+12)    print:                tracing_mark_write: hello'), { ...first, tsUs: 1_000013 });
  assert.deepEqual(parseEvent('            bash-1000  [000]     1.000013: (+0.000012) print:                tracing_mark_write: hello'), { ...first, tsUs: 1_000013 });
  assert.deepEqual(parseEvent('            bash-1000  [000]     1.000013: (+1234567890) print:                tracing_mark_write: hello'), { ...first, tsUs: 1_000013 });
});

test('multi-input and instance prefixes: FILE: or blanks before the line, the comm column after it', () => {
  const vmCreate = event({ task: 'qemu-system-aar', pid: 4711, cpu: 0, tsUs: 1_000001, name: 'vm_create', body: '(kvm_init_stage2_mmu+0x0/0x1a0) mmu=0x1' });
  assert.deepEqual(parseEvent('trace.dat:  qemu-system-aar-4711  [000]     1.000001: vm_create:            (kvm_init_stage2_mmu+0x0/0x1a0) mmu=0x1'), vmCreate);
  assert.deepEqual(parseEvent('vmid:  qemu-system-aar-4711  [000]     1.000001: vm_create:            (kvm_init_stage2_mmu+0x0/0x1a0) mmu=0x1'), vmCreate);
  assert.deepEqual(parseEvent('       qemu-system-aar-4711  [000]     1.000001: vm_create:            (kvm_init_stage2_mmu+0x0/0x1a0) mmu=0x1'), vmCreate);
  // A comm holding ": " is not mistaken for a prefix when no prefix ends where the column starts.
  assert.equal(parseEvent('           a: b-12    [000]     1.000001: x:                    y').task, 'a: b');
  assert.equal(parseEvent(`host.dat: ${'a: b'.padStart(16)}-12    [000]     1.000001: x:                    y`).task, 'a: b');
  assert.equal(parseEvent('trace.dat: qemu-sys-4711    0d..1.     1.000001: x:                    y').task, 'qemu-sys');
});

function parseOther(text: string): TraceRecord {
  const record = parseTraceCmdLine(text, span);
  assert.equal(record.text, text);
  return record;
}

test('headers: cpus=N, version = 6, CPU N is empty, plugin lines, subbuffer marks, blanks and # lines', () => {
  for (const text of ['cpus=4', 'trace.dat: cpus=64', 'version = 6', 'CPU 3 is empty', 'host.dat: CPU 3 is empty', 'registering plugin: /usr/lib/trace-cmd/plugins/plugin_kvm.so', 'CPU:0 [SUBBUFFER START]', '', '   ', '# vmid-replay: vmid_bits=8 cpus=4']) {
    assert.deepEqual(parseOther(text), { type: 'header', span, text }, JSON.stringify(text));
  }
});

test('dropped events: CPU:N [M EVENTS DROPPED] and the other shapes are lost records with the count', () => {
  assert.deepEqual(parseOther('CPU:2 [1234 EVENTS DROPPED]'), { type: 'lost', span, text: 'CPU:2 [1234 EVENTS DROPPED]', cpu: 2, count: 1234 });
  assert.deepEqual(parseOther('trace.dat: CPU:11 [7 EVENTS DROPPED]'), { type: 'lost', span, text: 'trace.dat: CPU:11 [7 EVENTS DROPPED]', cpu: 11, count: 7 });
  // missed_events < 0: the kernel did not store the count; at least one event is gone.
  assert.deepEqual(parseOther('CPU:2 [EVENTS DROPPED]'), { type: 'lost', span, text: 'CPU:2 [EVENTS DROPPED]', cpu: 2, count: 1 });
  assert.deepEqual(parseOther('[5 EVENTS DROPPED]'), { type: 'lost', span, text: '[5 EVENTS DROPPED]', cpu: -1, count: 5 });
  assert.deepEqual(parseOther('CPU:2 [LOST 3 EVENTS]'), { type: 'lost', span, text: 'CPU:2 [LOST 3 EVENTS]', cpu: 2, count: 3 });
});

test('stack frames are continuation lines; anything else is malformed with what was expected', () => {
  assert.deepEqual(parseOther('=> kvm_arch_vcpu_ioctl_run (ffff800008123456)'), { type: 'continuation', span, text: '=> kvm_arch_vcpu_ioctl_run (ffff800008123456)' });
  for (const text of [
    'garbage that is not a line',
    'cpus=four',
    'CPU:x [1 EVENTS DROPPED]',
    'CPU:1 [1 EVENTS LOST]',
    // ftrace's flag column between [CPU] and the time is never printed by trace-cmd.
    '  qemu-system-aar-4711 [000] d..1.     1.000001: vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=0x1',
    '       trace-cmd-16130 [003] 158126.498411 function: x',
  ]) {
    const record = parseOther(text);
    assert.equal(record.type, 'malformed', text);
    if (record.type === 'malformed') assert.match(record.expected, /trace-cmd report line/);
  }
  const nameless = parseOther('       trace-cmd-16130 [003] 158126.498411: : x');
  assert.ok(nameless.type === 'malformed' && nameless.expected === 'an event name after the timestamp');
});

test('event records have exactly the ftrace importer\'s fields, in the same order', () => {
  const ftrace = parseFtraceLine('       CPU 1/KVM-4001 [001] d..1.     1.000002: vmid_update: (kvm_arm_vmid_update+0x0/0x1d0) id=0', span);
  const report = parseTraceCmdLine('       CPU 1/KVM-4001  [001]     1.000002: vmid_update:          (kvm_arm_vmid_update+0x0/0x1d0) id=0', span);
  assert.ok(ftrace.type === 'event' && report.type === 'event');
  assert.deepEqual(Object.keys(report), Object.keys(ftrace));
  assert.deepEqual({ ...report, text: '', flags: 'd..1.' }, { ...ftrace, text: '' });
});

// ---- The bundled traces as trace-cmd reports ----------------------------------------------

const mixedHazards = readFileSync('traces/mixed-hazards.trace', 'utf8');
const lostEvents = readFileSync('test/golden/lost-events-inconclusive.trace', 'utf8');

const shapes: Record<string, ReportShape> = {
  'default': { cpus: 4 },
  '-t': { cpus: 4, nanoseconds: true },
  '-l': { cpus: 4, latency: true },
  '--ts-diff, 2.x header': { cpus: 4, tsDiff: true, version2: true },
  'buffer instance': { cpus: 4, instance: 'vmid' },
  'two inputs, -t --ts-diff': { cpus: 4, multiInput: 'trace.dat', nanoseconds: true, tsDiff: true },
  '-l -t, probe locations as addresses': { cpus: 4, latency: true, nanoseconds: true, addressLocations: true },
};

test('the converted reports have the shapes they claim (the helper follows trace-read.c)', () => {
  const lines = (shape: ReportShape) => toTraceCmdReport(mixedHazards, shape).text.split('\n');
  assert.equal(lines({ cpus: 4 })[0], 'cpus=4');
  assert.equal(lines({ cpus: 4 })[4], ' qemu-system-aar-4711  [000]     1.000001: vm_create:            (kvm_init_stage2_mmu+0x0/0x1a0) mmu=0xffff000010001000');
  assert.equal(lines({ cpus: 4, latency: true })[5], 'CPU 1/KV-4001    1d..1.     1.000002: vmid_update:          (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff000010001000 id=0');
  assert.deepEqual(lines({ cpus: 4, version2: true }).slice(0, 3), ['version = 6', '', 'cpus=4']);
  assert.equal(lines({ cpus: 4, tsDiff: true, nanoseconds: true })[5], '       CPU 1/KVM-4001  [001]     1.000002000: (+1000)  vmid_update:          (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff000010001000 id=0');
  assert.equal(lines({ cpus: 4, instance: 'vmid' })[1], '                  bash-1000  [000]     1.000001: print:                tracing_mark_write: vmid-replay: vmid_bits=4 cpus=4 variant=rfc-v2');
  const lost = toTraceCmdReport(lostEvents, { cpus: 2, multiInput: 'trace.dat' }).text.split('\n');
  assert.deepEqual(lost.slice(10, 12), ['trace.dat: CPU:1 [42 EVENTS DROPPED]', ' qemu-system-aar-4711  [001]     1.000010: smmu_ste:             smmu=smmu0 sid=16 cfg=nested s2vmid=0 vm=0xffff000010001000']);
});

test('each converted event line gives the ftrace importer\'s fields (task cut to 8 under -l)', async () => {
  const ftrace = await readAllRecords(inChunks(Buffer.from(mixedHazards), 4096), { file: 'f', format: 'ftrace' });
  for (const [label, shape] of Object.entries(shapes)) {
    const report = toTraceCmdReport(mixedHazards, shape);
    const records = await readAllRecords(inChunks(Buffer.from(report.text), 4096), { file: 'r', format: 'trace-cmd' });
    assert.equal(records.length, ftrace.length + report.headerLines, label);
    let compared = 0;
    ftrace.forEach((expected, i) => {
      const actual = records[i + report.headerLines] as TraceRecord;
      assert.equal(actual.span.line, expected.span.line + report.headerLines, label);
      if (expected.type !== 'event') return;
      assert.equal(actual.type, 'event', `${label}: ${actual.text}`);
      if (actual.type !== 'event') return;
      const body = shape.addressLocations === true ? actual.body.replace(/^\([^)]*\)/, '') : actual.body;
      const expectedBody = shape.addressLocations === true ? expected.body.replace(/^\([^)]*\)/, '') : expected.body;
      assert.deepEqual(
        [actual.task, actual.pid, actual.cpu, actual.flags, actual.tsUs, actual.tsNs, actual.name, body],
        [shape.latency === true ? expected.task.slice(0, 8).trimStart() : expected.task, expected.pid, expected.cpu, shape.latency === true ? expected.flags : undefined, expected.tsUs, expected.tsNs, expected.name, expectedBody],
        `${label}: ${actual.text}`,
      );
      compared += 1;
    });
    assert.equal(compared, 198, label);
  }
});

test('sniffing: trace-cmd reports go to the trace-cmd importer, ftrace text stays with ftrace', () => {
  const reports = [
    ...Object.values(shapes).map((shape) => toTraceCmdReport(mixedHazards, shape).text),
    'CPU 1 is empty\ncpus=2\n',
    toTraceCmdReport(lostEvents, { cpus: 2, multiInput: 'trace.dat' }).text,
    // A report cut with `tail`: no cpus= line, but the padded names are trace-cmd's.
    toTraceCmdReport(mixedHazards, { cpus: 4 }).text.split('\n').slice(40).join('\n'),
  ];
  for (const head of reports) {
    assert.equal(chooseImporter(head, { file: 'x' }).format, 'trace-cmd', head.slice(0, 120));
    assert.ok(traceCmdImporter.sniff(head, 'x') > ftraceImporter.sniff(head, 'x'));
  }
  const capture = (folder: string, file: string) => gunzipSync(readFileSync(join(capturesRoot, folder, file))).subarray(0, 64 * 1024).toString('latin1');
  const ftraceTexts = [
    mixedHazards,
    lostEvents,
    mixedHazards.split('\n').slice(3).join('\n'),
    // irq-info off: no flag column, so trace-cmd's grammar reads the lines, but the names are not padded.
    '            bash-1234    [001]  1520.114223: r1: (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) id=1\n            bash-1234    [001]  1520.114224: kvm_entry: PC: 0x1\n',
    capture('a57-8bit-nvhe-portable-tgid', 'trace.txt.gz'),
    capture('a57-8bit-nvhe-trace-pipe', 'trace_pipe.txt.gz'),
  ];
  for (const head of ftraceTexts) {
    assert.equal(chooseImporter(head, { file: 'x' }).format, 'ftrace', head.slice(0, 120));
    assert.ok(traceCmdImporter.sniff(head, 'x') < ftraceImporter.sniff(head, 'x'));
  }
});

test('streaming: chunk sizes 1, 7, 4096 and whole give identical records, plain and gzip', async () => {
  const fixtures = [
    toTraceCmdReport(mixedHazards, { cpus: 4, latency: true, tsDiff: true }).text,
    toTraceCmdReport(lostEvents, { cpus: 2, multiInput: 'trace.dat', nanoseconds: true }).text,
    toTraceCmdReport(mixedHazards, { cpus: 4, instance: 'vmid', version2: true }).text.replaceAll('\n', '\r\n'),
  ];
  for (const text of fixtures) {
    for (const bytes of [Buffer.from(text), gzipSync(Buffer.from(text))]) {
      const whole = await readAllRecords(inChunks(bytes, bytes.length), { file: 'r' });
      assert.ok(whole.filter((record) => record.type === 'event').length > 10);
      assert.equal(whole.filter((record) => record.type === 'malformed').length, 0);
      assert.equal(whole.length, text.split('\n').length - 1);
      for (const size of [1, 7, 4096]) assert.deepEqual(await readAllRecords(inChunks(bytes, size), { file: 'r' }), whole, `chunk size ${size}`);
    }
  }
});

// ---- Same findings from both forms, through the CLI ---------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'vmid-tracecmd-'));

interface JsonReport {
  verdict: string;
  findings: unknown[];
  checks: unknown;
  dataLossAt: unknown;
  counts: { records: Record<string, number> };
}

/** Findings with file names and raw lines dropped and every line number moved back by `offset`. */
function shifted(value: unknown, offset: number): unknown {
  if (Array.isArray(value)) return value.map((item) => shifted(item, offset));
  if (typeof value === 'string') return value.replace(/\bline (\d+)/g, (_, line: string) => `line ${Number(line) - offset}`);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'file' || key === 'text') continue;
    out[key] = (key === 'line' || key.endsWith('Line')) && typeof item === 'number' ? item - offset : shifted(item, offset);
  }
  return out;
}

async function analyzeJson(path: string, extra: readonly string[] = []): Promise<{ code: number; report: JsonReport }> {
  const result = await runCli(['analyze', path, '--format', 'json', ...extra]);
  assert.equal(result.stderr, '');
  return { code: result.code, report: JSON.parse(result.stdout) as JsonReport };
}

for (const [traceName, source, cpus, expectedVerdict] of [
  ['mixed-hazards', mixedHazards, 4, 'findings'],
  ['lost-events-inconclusive', lostEvents, 2, 'inconclusive'],
] as const) {
  test(`${traceName}: the same findings from ftrace text and from trace-cmd report text`, async () => {
    const base = await analyzeJson(join(traceName === 'mixed-hazards' ? 'traces' : 'test/golden', `${traceName}.trace`));
    assert.equal(base.report.verdict, expectedVerdict);
    assert.ok(base.report.findings.length > 0, 'findings to compare');
    const variants = traceName === 'mixed-hazards' ? Object.entries(shapes) : [['two inputs', { cpus, multiInput: 'trace.dat' }] as const, ['-l', { cpus, latency: true }] as const];
    for (const [label, shape] of variants) {
      const report = toTraceCmdReport(source, { ...shape, cpus });
      const path = join(dir, `${traceName}-${label.replace(/[^a-z0-9]+/gi, '_')}.report`);
      writeFileSync(path, report.text);
      const converted = await analyzeJson(path);
      assert.equal(converted.code, base.code, label);
      assert.equal(converted.report.counts.records['malformed'], 0, label);
      assert.equal(converted.report.verdict, base.report.verdict, label);
      assert.deepEqual(converted.report.checks, base.report.checks, label);
      assert.deepEqual(shifted(converted.report.dataLossAt, report.headerLines), shifted(base.report.dataLossAt, 0), label);
      assert.deepEqual(shifted(converted.report.findings, report.headerLines), shifted(base.report.findings, 0), label);
    }
  });
}

test('--input-format forces an importer; auto sniffs; unknown formats are usage errors', async () => {
  const path = join(dir, 'forced.report');
  writeFileSync(path, toTraceCmdReport(mixedHazards, { cpus: 4 }).text);
  const auto = await analyzeJson(path);
  const forced = await analyzeJson(path, ['--input-format', 'trace-cmd']);
  assert.deepEqual(forced.report, auto.report);
  assert.equal(auto.report.counts.records['malformed'], 0);
  // Read as ftrace text, cpus=4 is not a line ftrace prints.
  const asFtrace = await analyzeJson(path, ['--input-format', 'ftrace']);
  assert.ok((asFtrace.report.counts.records['malformed'] ?? 0) >= 1);
  // ftrace text read as a trace-cmd report: no line is one, so nothing is replayed, and the
  // error names the forced format as the likely cause.
  const ftraceAsReport = await runCli(['analyze', 'traces/mixed-hazards.trace', '--input-format', 'trace-cmd']);
  assert.equal(ftraceAsReport.code, 3);
  assert.match(ftraceAsReport.stderr, /found 198 lines that are not trace lines .*: it was read as trace-cmd because of --input-format trace-cmd: without it the format is chosen by content \[NO_EVENTS\]\n$/);
  const bad = await runCli(['analyze', path, '--input-format', 'perf']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /--input-format/);
});

test('the trace-cmd samples in docs/trace-format.md parse with this grammar', () => {
  const doc = readFileSync('docs/trace-format.md', 'utf8');
  const blocks = [...doc.matchAll(/```text trace-cmd\n([\s\S]*?)\n```/g)].map((match) => match[1] ?? '');
  assert.equal(blocks.length, 2, 'the ```text trace-cmd blocks of docs/trace-format.md');
  const lines = blocks.flatMap((block) => block.split('\n'));
  const records = lines.map((text, i) => parseTraceCmdLine(text, { file: 'doc', line: i + 1, offset: 0 }));
  assert.ok(records.length >= 12);
  assert.deepEqual(records.filter((record) => record.type === 'malformed'), []);
  assert.ok(records.filter((record) => record.type === 'event').length >= 5);
  assert.ok(records.some((record) => record.type === 'lost'));
  // Each sample is what the sniffer sees first in a report: trace-cmd's, never ftrace's.
  for (const block of blocks) assert.equal(chooseImporter(`${block}\n`, { file: 'doc' }).format, 'trace-cmd');
});
