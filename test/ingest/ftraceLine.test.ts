/**
 * The line grammar of `/sys/kernel/tracing/trace` and `trace_pipe`: every column of every line
 * shape we accept, asserted exactly. Lines marked "real" are copied verbatim from
 * ../shared/captures (Debian 6.1.0-56-arm64 under QEMU); the others are shapes of other kernels
 * or options (4.x flags, irq-info off, nanosecond clocks) written the way ftrace prints them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';
import type { SourceSpan, TraceRecord } from '../../src/ingest/records.js';
import { capturesRoot, readAllRecords, inChunks } from './chunks.js';

const span: SourceSpan = { file: 'trace.txt', line: 42, offset: 4096 };

interface Fields {
  task: string;
  pid: number;
  tgid: number | null | undefined;
  cpu: number;
  flags: string | undefined;
  tsUs: number;
  tsNs: number;
  name: string;
  body: string;
}

/** The nine parsed columns of an event record; fails when the line is not an event. */
function fieldsOf(record: TraceRecord): Fields {
  if (record.type !== 'event') assert.fail(`expected an event, got ${record.type}: ${JSON.stringify(record)}`);
  const { task, pid, tgid, cpu, flags, tsUs, tsNs, name, body } = record;
  return { task, pid, tgid, cpu, flags, tsUs, tsNs, name, body };
}

function parseEvent(text: string): Fields {
  const record = parseFtraceLine(text, span);
  assert.equal(record.span, span, 'the span is passed through');
  assert.equal(record.text, text, 'the raw text is kept');
  return fieldsOf(record);
}

function expectMalformed(text: string, expected: RegExp): void {
  const record = parseFtraceLine(text, span);
  assert.equal(record.type, 'malformed', `${JSON.stringify(text)} parsed as ${JSON.stringify(record)}`);
  if (record.type !== 'malformed') return;
  assert.match(record.expected, expected);
  assert.equal(record.text, text);
  assert.deepEqual(record.span, span);
}

test('real 6.1 line, 5-char flags: every column', () => {
  const body =
    '(kvm_arm_vmid_update+0x28c/0x46c) vmid=0xffff000002df59c8 newgen=512 gen=512 bits=8 res0=256 res1=256 res2=256 res3=256 map0=0x1 map1=0x0 map2=0x0 map3=0x0';
  assert.deepEqual(parseEvent(`         vmchurn-480     [003] d....    14.703139: rollover: ${body}`), {
    task: 'vmchurn',
    pid: 480,
    tgid: undefined,
    cpu: 3,
    flags: 'd....',
    tsUs: 14_703_139,
    tsNs: 0,
    name: 'rollover',
    body,
  });
  assert.deepEqual(parseEvent('     migration/3-29      [003] d..1.     7.765207: sched_migrate_task: comm=vmchurn pid=225 prio=120 orig_cpu=3 dest_cpu=0'), {
    task: 'migration/3',
    pid: 29,
    tgid: undefined,
    cpu: 3,
    flags: 'd..1.',
    tsUs: 7_765_207,
    tsNs: 0,
    name: 'sched_migrate_task',
    body: 'comm=vmchurn pid=225 prio=120 orig_cpu=3 dest_cpu=0',
  });
});

test('real line whose body holds ": " and "==>" splits at the first ": " only', () => {
  assert.deepEqual(parseEvent('         vmchurn-225     [000] .....     7.773819: kvm_exit: TRAP: HSR_EC: 0x0020 (IABT_LOW), PC: 0x0000000040000000'), {
    task: 'vmchurn',
    pid: 225,
    tgid: undefined,
    cpu: 0,
    flags: '.....',
    tsUs: 7_773_819,
    tsNs: 0,
    name: 'kvm_exit',
    body: 'TRAP: HSR_EC: 0x0020 (IABT_LOW), PC: 0x0000000040000000',
  });
  const sched = parseEvent(
    '         vmchurn-1000    [000] d....    29.003805: sched_switch: prev_comm=vmchurn prev_pid=1000 prev_prio=120 prev_state=R+ ==> next_comm=migration/0 next_pid=15 next_prio=0',
  );
  assert.equal(sched.pid, 1000);
  assert.equal(sched.name, 'sched_switch');
  assert.equal(sched.body, 'prev_comm=vmchurn prev_pid=1000 prev_prio=120 prev_state=R+ ==> next_comm=migration/0 next_pid=15 next_prio=0');
});

test('4-char flags of 4.x kernels', () => {
  assert.deepEqual(parseEvent('  qemu-system-aar-4711  [003] d.h1  1520.114223: kvm_entry: PC: 0x0000000040000018'), {
    task: 'qemu-system-aar',
    pid: 4711,
    tgid: undefined,
    cpu: 3,
    flags: 'd.h1',
    tsUs: 1_520_114_223,
    tsNs: 0,
    name: 'kvm_entry',
    body: 'PC: 0x0000000040000018',
  });
  assert.deepEqual(parseEvent('       CPU 0/KVM-4711  [002] ....    88.123456: kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0000000040000018'), {
    task: 'CPU 0/KVM',
    pid: 4711,
    tgid: undefined,
    cpu: 2,
    flags: '....',
    tsUs: 88_123_456,
    tsNs: 0,
    name: 'kvm_exit',
    body: 'TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0000000040000018',
  });
});

test('no flag column (irq-info off)', () => {
  assert.deepEqual(parseEvent('            bash-1234    [001]  1520.114223: tracing_mark_write: hello'), {
    task: 'bash',
    pid: 1234,
    tgid: undefined,
    cpu: 1,
    flags: undefined,
    tsUs: 1_520_114_223,
    tsNs: 0,
    name: 'tracing_mark_write',
    body: 'hello',
  });
});

test('TGID column: real "(    188)" and "(-----)" for an unknown TGID', () => {
  assert.deepEqual(parseEvent('         vmchurn-190     (    188) [000] d....     4.301667: clear_active: (kvm_arm_vmid_clear_active+0x0/0x34)'), {
    task: 'vmchurn',
    pid: 190,
    tgid: 188,
    cpu: 0,
    flags: 'd....',
    tsUs: 4_301_667,
    tsNs: 0,
    name: 'clear_active',
    body: '(kvm_arm_vmid_clear_active+0x0/0x34)',
  });
  assert.deepEqual(parseEvent('           <...>-2345    (-----) [001] d..1.   100.000001: update: (kvm_arm_vmid_update+0x0/0x46c) vmid=0xffff000002df39c8 id=0'), {
    task: '<...>',
    pid: 2345,
    tgid: null,
    cpu: 1,
    flags: 'd..1.',
    tsUs: 100_000_001,
    tsNs: 0,
    name: 'update',
    body: '(kvm_arm_vmid_update+0x0/0x46c) vmid=0xffff000002df39c8 id=0',
  });
  // 6.x prints an unknown TGID as seven dashes, older kernels as five.
  assert.equal(parseEvent('           <...>-2345    (-------) [001] d..1.   100.000001: n: b').tgid, null);
  // A TGID column with a blank-padded comm holding a dash and a space.
  assert.deepEqual(parseEvent('  CPU 1/KVM-4712     (   4711) [002] d....  3.000002: vcpu_put: x=1'), {
    task: 'CPU 1/KVM',
    pid: 4712,
    tgid: 4711,
    cpu: 2,
    flags: 'd....',
    tsUs: 3_000_002,
    tsNs: 0,
    name: 'vcpu_put',
    body: 'x=1',
  });
});

test('pid widths 5 and 7 (pid_max up to 4194304), and the width-7 pid touching the CPU column', () => {
  const five = parseEvent('         vmchurn-12345   [000] d....     7.771921: update: (kvm_arm_vmid_update+0x0/0x46c) vmid=0xffff000002df39c8 id=0');
  assert.deepEqual([five.task, five.pid, five.cpu], ['vmchurn', 12345, 0]);
  const seven = parseEvent('qemu-system-aar-4194303 [127] d..1.  1520.114223: kvm_entry: PC: 0x0');
  assert.deepEqual([seven.task, seven.pid, seven.cpu, seven.flags, seven.tsUs], ['qemu-system-aar', 4_194_303, 127, 'd..1.', 1_520_114_223]);
});

test('comm names with blanks, dashes, slashes and colons keep every character', () => {
  const cases: [string, string, number][] = [
    ['       CPU 0/KVM-4711    [002] d..1.  88.123456: n: b', 'CPU 0/KVM', 4711],
    ['  qemu-system-aar-4711 [003] d..1. 1520.114223: n: b', 'qemu-system-aar', 4711],
    ['    kworker/u8:2-123     [001] d....  1520.114223: n: b', 'kworker/u8:2', 123],
    ['     worker-pool--7-99   [001] d....  1520.114223: n: b', 'worker-pool--7', 99],
    ['        (sd-pam)-1234    [001] d....  1520.114223: n: b', '(sd-pam)', 1234],
  ];
  for (const [line, task, pid] of cases) {
    const fields = parseEvent(line);
    assert.deepEqual([fields.task, fields.pid], [task, pid], line);
  }
});

test('real <idle>-0 and trace_pipe <...>-219 tasks', () => {
  assert.deepEqual(parseEvent('          <idle>-0       [001] d....     7.698542: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=rcu_sched next_pid=14 next_prio=120'), {
    task: '<idle>',
    pid: 0,
    tgid: undefined,
    cpu: 1,
    flags: 'd....',
    tsUs: 7_698_542,
    tsNs: 0,
    name: 'sched_switch',
    body: 'prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=rcu_sched next_pid=14 next_prio=120',
  });
  assert.deepEqual(parseEvent('           <...>-219     [003] .....     6.378703: tracing_mark_write: phase seq begin n=300 runs=2 spin=0'), {
    task: '<...>',
    pid: 219,
    tgid: undefined,
    cpu: 3,
    flags: '.....',
    tsUs: 6_378_703,
    tsNs: 0,
    name: 'tracing_mark_write',
    body: 'phase seq begin n=300 runs=2 spin=0',
  });
});

test('timestamps stay exact integers: nanoseconds, microseconds, milliseconds, counters', () => {
  const ns = parseEvent('  qemu-system-aar-4711 [003] d..1. 1520.114223456: upd: x=1');
  assert.deepEqual([ns.tsUs, ns.tsNs], [1_520_114_223, 456]);
  assert.ok(Number.isInteger(ns.tsUs) && Number.isInteger(ns.tsNs));
  // Every nanosecond digit counts, including leading and trailing zeros.
  assert.deepEqual(
    ['0.000000001', '0.999999999', '1.000001000', '8589934592.123456789', '7.694793', '1520.114', '123456789'].map((stamp) => {
      const fields = parseEvent(`  a-1 [000] d..1. ${stamp}: n: b`);
      return [fields.tsUs, fields.tsNs];
    }),
    [
      [0, 1],
      [999_999, 999],
      [1_000_001, 0],
      [8_589_934_592_123_456, 789],
      [7_694_793, 0],
      [1_520_114_000, 0],
      [123_456_789, 0],
    ],
  );
  // 0.1 + 0.2 style float drift would show here: 4.278438 s is exactly 4278438 us.
  assert.equal(parseEvent('         vmchurn-188     (    188) [000] d....     4.278438: init_vm: x').tsUs, 4_278_438);
});

test('timestamps that cannot be held exactly or have too many digits are malformed', () => {
  expectMalformed('  a-1 [000] d..1. 1.0000000001: n: b', /timestamp/);
  expectMalformed('  a-1 [000] d..1. 99999999999.999999: n: b', /timestamp/);
  expectMalformed('  a-1 [000] d..1. 99999999999999999: n: b', /timestamp/);
  expectMalformed('  a-1 [000] 99999999999.999999: n: b', /timestamp/);
});

test('an event with no body, with a trailing colon, and the <stack trace> event', () => {
  assert.deepEqual([parseEvent('  a-1 [000] d..1. 1.000001: name').name, parseEvent('  a-1 [000] d..1. 1.000001: name').body], ['name', '']);
  assert.deepEqual([parseEvent('  a-1 [000] d..1. 1.000001: name:').name, parseEvent('  a-1 [000] d..1. 1.000001: name:').body], ['name', '']);
  const stack = parseEvent('  qemu-system-aar-4711 [003] d..1. 1520.114223: <stack trace>');
  assert.deepEqual([stack.name, stack.body], ['<stack trace>', '']);
});

test('markers: lost events, buffer started, stack continuation', () => {
  assert.deepEqual(parseFtraceLine('CPU:2 [LOST 123 EVENTS]', span), { type: 'lost', span, text: 'CPU:2 [LOST 123 EVENTS]', cpu: 2, count: 123 });
  assert.deepEqual(parseFtraceLine('CPU:15 [LOST 4294967295 EVENTS]', span), {
    type: 'lost',
    span,
    text: 'CPU:15 [LOST 4294967295 EVENTS]',
    cpu: 15,
    count: 4_294_967_295,
  });
  // Printed when the `trace` file's iterator was passed by the writer and cannot count: at least one.
  assert.deepEqual(parseFtraceLine('CPU:4 [LOST EVENTS]', span), { type: 'lost', span, text: 'CPU:4 [LOST EVENTS]', cpu: 4, count: 1 });
  assert.deepEqual(parseFtraceLine('##### CPU 2 buffer started ####', span), { type: 'buffer-started', span, text: '##### CPU 2 buffer started ####', cpu: 2 });
  for (const text of [' => kvm_arch_vcpu_load+0x4c/0x1d4', '=> el0t_64_sync+0x18c/0x190', '  => <0000ffff8a2b3c4d>']) {
    assert.deepEqual(parseFtraceLine(text, span), { type: 'continuation', span, text });
  }
});

test('the real header block of `trace` is all header records, then events', () => {
  const text = gunzipSync(readFileSync(join(capturesRoot, 'a57-8bit-nvhe-full', 'trace.txt.gz'))).toString('utf8', 0, 1 << 16);
  const lines = text.split('\n').slice(0, 14);
  assert.equal(lines[0], '# tracer: nop');
  assert.equal(lines[2], '# entries-in-buffer/entries-written: 183063/183063   #P:4');
  const records = lines.map((line, i) => parseFtraceLine(line, { file: 't', line: i + 1, offset: 0 }));
  assert.deepEqual(
    records.map((record) => record.type),
    [...Array<string>(12).fill('header'), 'event', 'event'],
  );
  for (const shape of ['# tracer: nop', '#', '#P:4', '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION', '', '   ']) {
    assert.deepEqual(parseFtraceLine(shape, span), { type: 'header', span, text: shape }, JSON.stringify(shape));
  }
});

test('the real trace_pipe shape starts with events, no header', async () => {
  const bytes = readFileSync(join(capturesRoot, 'a57-8bit-nvhe-trace-pipe', 'trace_pipe.txt.gz'));
  const records = (await readAllRecords(inChunks(bytes, 1 << 16), { file: 'trace_pipe.txt' })).slice(0, 2000);
  assert.equal(records.length, 2000);
  assert.deepEqual(fieldsOf(records[0] as TraceRecord), {
    task: '<...>',
    pid: 219,
    tgid: undefined,
    cpu: 3,
    flags: '.....',
    tsUs: 6_378_703,
    tsNs: 0,
    name: 'tracing_mark_write',
    body: 'phase seq begin n=300 runs=2 spin=0',
  });
  assert.deepEqual(new Set(records.map((record) => record.type)), new Set(['event']));
});

test('malformed lines say what was expected', () => {
  expectMalformed('garbage line', /\[CPU\]/);
  expectMalformed('qemu-system-aar-4711 [0x3] d..1. 1.000001: n: b', /\[CPU\]/);
  expectMalformed('foo [001] d..1. 1.000001: x: y', /TASK-PID/);
  expectMalformed('foo-bar [001] d..1. 1.000001: x: y', /TASK-PID/);
  expectMalformed('foo-12 188) [001] d..1. 1.000001: x: y', /TGID/);
  expectMalformed('foo-12 [001] d..1. notatime: x', /timestamp/);
  expectMalformed('foo-12 [001] d..1. 1.000001 x y', /timestamp/);
  expectMalformed('foo-12 [001] d..1.', /timestamp/);
  expectMalformed('foo-12 [001] d..1. 1.000001:', /event name/);
  expectMalformed('foo-12 [001] d..1. 1.000001:    ', /event name/);
});

test('invalid UTF-8 and NUL bytes never throw: the line becomes an event or malformed', async () => {
  const lines = [
    Buffer.concat([Buffer.from('  qemu'), Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from('-4711 [001] d..1. 1.000001: x: v='), Buffer.from([0x00, 0x80])]),
    Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x00]),
    Buffer.from([0x00, 0x00, 0x00]),
    Buffer.from('  a-1 [000] d..1. 1.000001: n: b'),
  ];
  const bytes = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
  const records = await readAllRecords(inChunks(bytes, 3), { file: 'bin' });
  assert.deepEqual(
    records.map((record) => record.type),
    ['event', 'malformed', 'malformed', 'event'],
  );
  const first = fieldsOf(records[0] as TraceRecord);
  assert.deepEqual([first.task, first.pid, first.cpu, first.name, first.body], ['qemu\ufffd\ufffd\u0000\ufffd', 4711, 1, 'x', 'v=\u0000\ufffd']);
  let offset = 0;
  records.forEach((record, i) => {
    assert.deepEqual([record.span.line, record.span.offset], [i + 1, offset]);
    offset += (lines[i] as Buffer).length + 1;
  });
  assert.equal(fieldsOf(records[3] as TraceRecord).body, 'b');
});

test('CRLF line ends give the same records as LF, with byte offsets counting the CR', async () => {
  const lines = [
    '# tracer: nop',
    '         vmchurn-225     [000] d....     7.771921: update: (kvm_arm_vmid_update+0x0/0x46c) vmid=0xffff000002df39c8 id=0',
    '         vmchurn-225     [000] d....     7.772086: after_update: (kvm_pmu_flush_hwstate+0x0/0x24) vcpu=0xffff0000035a25d0 mmu=0xffff000002df39c8 id=257',
    'CPU:1 [LOST 7 EVENTS]',
  ];
  const lf = await readAllRecords(inChunks(Buffer.from(lines.join('\n') + '\n'), 5), { file: 't' });
  const crlf = await readAllRecords(inChunks(Buffer.from(lines.join('\r\n') + '\r\n'), 5), { file: 't' });
  assert.equal(crlf.length, 4);
  assert.deepEqual(
    crlf.map((record) => ({ ...record, span: { ...record.span, offset: 0 } })),
    lf.map((record) => ({ ...record, span: { ...record.span, offset: 0 } })),
  );
  let offset = 0;
  crlf.forEach((record, i) => {
    assert.equal(record.span.offset, offset, `line ${i + 1}`);
    offset += Buffer.byteLength(lines[i] as string) + 2;
  });
  assert.equal(fieldsOf(crlf[2] as TraceRecord).body.endsWith('id=257'), true, 'no CR left in the body');
});

/** An independent reading of a 6.1 event line, by regular expression, to cross-check the scanner. */
const referenceLine = /^\s*(.*?)-(\d+)\s+(?:\(\s*(\d+|-----)\)\s+)?\[(\d+)\]\s+(\S{4,5})\s+(\d+)\.(\d{6}): (.*?)(?:: (.*))?$/;

test('every line of every real capture parses, and events agree with a regular-expression reading', async () => {
  const files = [
    ['a57-8bit-nvhe-full', 'trace.txt.gz'],
    ['a57-8bit-nvhe-portable-tgid', 'trace.txt.gz'],
    ['a57-8bit-nvhe-trace-pipe', 'trace_pipe.txt.gz'],
    ['max-16bit-vhe-full', 'trace.txt.gz'],
  ] as const;
  let events = 0;
  for (const [folder, name] of files) {
    const records = await readAllRecords(inChunks(readFileSync(join(capturesRoot, folder, name)), 1 << 16), { file: name });
    assert.ok(records.length > 10_000, `${folder}: ${records.length} records`);
    const types = new Map<string, number>();
    for (const record of records) {
      types.set(record.type, (types.get(record.type) ?? 0) + 1);
      if (record.type !== 'event') continue;
      const match = referenceLine.exec(record.text);
      assert.ok(match !== null, `${folder}:${record.span.line}: ${record.text}`);
      const [, task, pid, tgid, cpu, flags, secs, usecs, eventName, body] = match;
      assert.deepEqual(fieldsOf(record), {
        task,
        pid: Number(pid),
        tgid: tgid === undefined ? undefined : tgid === '-----' ? null : Number(tgid),
        cpu: Number(cpu),
        flags,
        tsUs: Number(secs) * 1_000_000 + Number(usecs),
        tsNs: 0,
        name: eventName,
        body: body ?? '',
      });
      events += 1;
    }
    assert.deepEqual([...types.keys()].filter((type) => type !== 'event' && type !== 'header'), [], `${folder}: ${JSON.stringify([...types])}`);
  }
  assert.ok(events > 350_000, `${events} events`);
});

/**
 * Characters a comm may hold here. No brackets: a comm such as `a [1] b` would be taken for
 * the CPU column (the scanner takes the first `[digits]` followed by a blank), a known limit.
 */
const commChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_/:.<>()+=,@'.split('');

const lineArb = fc.record({
  task: fc
    .array(fc.constantFrom(...commChars), { minLength: 1, maxLength: 15 })
    .map((chars) => chars.join(''))
    .filter((task) => task[0] !== ' ' && !task.startsWith('=>')),
  pid: fc.integer({ min: 0, max: 4_194_304 }),
  tgid: fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer({ min: 1, max: 4_194_304 })),
  unknownTgid: fc.constantFrom('(-----)', '(-------)'),
  cpu: fc.integer({ min: 0, max: 4095 }),
  flags: fc.oneof(
    fc.constant(undefined),
    fc.array(fc.constantFrom(...'dDXNnhHsSb.0123456789abcdef'.split('')), { minLength: 4, maxLength: 5 }).map((chars) => chars.join('')),
  ),
  secs: fc.integer({ min: 0, max: 9_000_000_000 }),
  frac: fc.integer({ min: 0, max: 999_999_999 }),
  nanoseconds: fc.boolean(),
  name: fc.stringMatching(/^[a-z_][a-z0-9_]{0,30}$/),
  body: fc.string({ unit: fc.constantFrom(...' abcxyz019=:(){},.<-/+_"'.split('')), maxLength: 80 }),
});

test('property: any line printed the way trace_print_context() prints it parses back to its columns', () => {
  fc.assert(
    fc.property(lineArb, (line) => {
      const tgidColumn = line.tgid === undefined ? '' : line.tgid === null ? `${line.unknownTgid} ` : `(${String(line.tgid).padStart(7)}) `;
      const flagsColumn = line.flags === undefined ? '' : `${line.flags} `;
      const fracText = line.nanoseconds ? String(line.frac).padStart(9, '0') : String(Math.floor(line.frac / 1000)).padStart(6, '0');
      const text = `${line.task.padStart(16)}-${String(line.pid).padEnd(7)} ${tgidColumn}[${String(line.cpu).padStart(3, '0')}] ${flagsColumn}${String(line.secs).padStart(5)}.${fracText}: ${line.name}: ${line.body}`;
      const fracNs = line.nanoseconds ? line.frac : Math.floor(line.frac / 1000) * 1000;
      assert.deepEqual(parseEvent(text), {
        task: line.task,
        pid: line.pid,
        tgid: line.tgid,
        cpu: line.cpu,
        flags: line.flags,
        tsUs: line.secs * 1_000_000 + Math.floor(fracNs / 1000),
        tsNs: fracNs % 1000,
        name: line.name,
        body: line.body,
      });
    }),
    { numRuns: 2000, includeErrorInReport: true },
  );
});
