/**
 * Out-of-order input: the reorder buffer merges records into timestamp order within its window
 * (per-CPU files concatenated, a CPU slightly behind), and beyond it marks inconclusive what
 * follows and what was decided at or after the late record's time, while findings decided
 * before that time stay conclusive. Findings always quote the input's lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ReorderBuffer, defaultReorderWindowUs, type LateReason } from '../../src/replay/reorder/reorderBuffer.js';
import { replayBytes } from '../../src/replay/analyze.js';
import { buildReport, type Report } from '../../src/report/report.js';
import type { ReplayOptions } from '../../src/replay/replayTypes.js';
import type { EventRecord } from '../../src/ingest/records.js';
import { runCli } from '../helpers/cli.js';

// ---- the buffer alone ----------------------------------------------------------------

let lineCounter = 0;
function ev(tsUs: number, cpu = 0, tsNs = 0): EventRecord {
  lineCounter += 1;
  const span = { file: 't', line: lineCounter, offset: 0 };
  return { type: 'event', span, text: `x-1 [00${cpu}] ${tsUs}: e: `, task: 'x', pid: 1, cpu, tsUs, tsNs, name: 'e', body: '' };
}

interface Collected {
  readonly out: string[];
  readonly late: string[];
  readonly reordered: number[];
  readonly buffer: ReorderBuffer;
}

/** A buffer whose output is `line` for in-order records and `line:reason` for late ones. */
function collect(windowUs: number, maxRecords = 100_000): Collected {
  const out: string[] = [];
  const late: string[] = [];
  const reordered: number[] = [];
  const buffer = new ReorderBuffer(
    { windowUs, maxRecords },
    {
      inOrder: (record) => out.push(String(record.span.line)),
      late: (record, reason: LateReason) => late.push(`${record.span.line}:${reason}`),
      reordered: (record) => reordered.push(record.span.line),
    },
  );
  return { out, late, reordered, buffer };
}

test('ordered input comes out unchanged, each record released once it is more than the window old', () => {
  lineCounter = 0;
  const c = collect(10);
  for (let t = 0; t <= 100; t++) {
    c.buffer.push(ev(t));
    // Held: the records of the last 10 µs and the newest; everything older is out.
    assert.equal(c.out.length, Math.max(0, t - 10), `released after ts ${t}`);
  }
  c.buffer.flush();
  assert.deepEqual(c.out, Array.from({ length: 101 }, (_, i) => String(i + 1)));
  assert.deepEqual([c.late, c.reordered], [[], []]);
});

test('at most maxRecords are held whatever the window', () => {
  lineCounter = 0;
  const c = collect(1e12, 5);
  for (let t = 0; t < 20; t++) c.buffer.push(ev(t));
  assert.equal(c.out.length, 15);
  c.buffer.flush();
  assert.equal(c.out.length, 20);
});

test('the ring grows past its first capacity while its head has moved: order is kept', () => {
  lineCounter = 0;
  const c = collect(1000);
  for (let t = 0; t < 1500; t++) c.buffer.push(ev(t)); // releases ts 0..498: the head moves
  assert.equal(c.out.length, 499);
  for (let i = 0; i < 3000; i++) c.buffer.push(ev(1500)); // releases ts 499; 4000 held: the ring grows twice
  assert.equal(c.out.length, 500);
  c.buffer.push(ev(1499)); // line 4501: older than the tail, not than what was released
  c.buffer.flush();
  const expected = [...Array.from({ length: 1500 }, (_, i) => i + 1), 4501, ...Array.from({ length: 3000 }, (_, i) => i + 1501)].map(String);
  assert.deepEqual(c.out, expected);
  assert.deepEqual(c.reordered, [4501]);
});

test('records out of order within the window are merged by (timestamp, input position)', () => {
  lineCounter = 0;
  const c = collect(10);
  // Lines 1..7: ts 3, 1, 2, 5, 4, then two records at ts 4 (nanoseconds 0 and 0) on other CPUs.
  for (const [ts, cpu, ns] of [[3, 0, 0], [1, 1, 0], [2, 1, 500], [5, 0, 0], [4, 2, 0], [4, 3, 0], [4, 1, 999]] as const) c.buffer.push(ev(ts, cpu, ns));
  c.buffer.flush();
  assert.deepEqual(c.out, ['2', '3', '1', '5', '6', '7', '4']);
  assert.deepEqual(c.reordered, [2, 3, 5, 6, 7]);
  assert.deepEqual(c.late, []);
});

test('nanoseconds order records within one microsecond', () => {
  lineCounter = 0;
  const c = collect(0);
  c.buffer.push(ev(7, 0, 900));
  c.buffer.push(ev(7, 1, 100));
  c.buffer.flush();
  assert.deepEqual(c.out, ['2', '1']);
});

test('beyond the window a record is late: backwards on its own CPU, or behind other CPUs', () => {
  lineCounter = 0;
  const c = collect(2);
  for (const ts of [10, 11, 12, 13]) c.buffer.push(ev(ts, 0)); // lines 1-4; 10 is released at 13
  assert.deepEqual(c.out, ['1']);
  c.buffer.push(ev(9, 1)); // line 5: CPU 1 never released anything
  c.buffer.push(ev(8, 0)); // line 6: CPU 0 released ts 10 already
  c.buffer.push(ev(11, 1)); // line 7: not older than what was released: merged after line 2 (same ts)
  c.buffer.flush();
  assert.deepEqual(c.late, ['5:beyond-window', '6:cpu-backwards']);
  assert.deepEqual(c.out, ['1', '2', '7', '3', '4']);
  assert.deepEqual(c.reordered, [7]);
});

test('untimed records travel just before the next timestamped one; headers go out at once', () => {
  lineCounter = 0;
  const c = collect(100);
  const span = (line: number) => ({ file: 't', line, offset: 0 });
  c.buffer.push(ev(50, 0)); // 1
  lineCounter = 4;
  c.buffer.push({ type: 'lost', span: span(2), text: 'CPU:1 [LOST 3 EVENTS]', cpu: 1, count: 3 });
  c.buffer.push({ type: 'header', span: span(3), text: '# tracer: nop' });
  c.buffer.push({ type: 'malformed', span: span(4), text: '?', expected: 'x' });
  c.buffer.push(ev(20, 1)); // 5
  c.buffer.push({ type: 'continuation', span: span(6), text: ' => f' });
  c.buffer.flush();
  assert.deepEqual(c.out, ['3', '2', '4', '5', '1', '6']);
});

test('a late record first hands on the untimed records waiting before it', () => {
  lineCounter = 0;
  const c = collect(0);
  c.buffer.push(ev(5)); // 1
  c.buffer.push(ev(6)); // 2: releases 1
  c.buffer.push({ type: 'lost', span: { file: 't', line: 3, offset: 0 }, text: 'CPU:0 [LOST 1 EVENTS]', cpu: 0, count: 1 });
  lineCounter = 3;
  c.buffer.push(ev(4)); // 4: late
  c.buffer.flush();
  assert.deepEqual(c.out, ['1', '3', '2']);
  assert.deepEqual(c.late, ['4:cpu-backwards']);
});

// ---- through the replay ----------------------------------------------------------------

const tracePath = resolve(process.cwd(), 'traces', 'mixed-hazards.trace');
const original = readFileSync(tracePath, 'utf8').replace(/\n$/, '').split('\n');
const headerCount = original.findIndex((line) => !line.startsWith('#'));
const cpuOf = (line: string): string => /\[(\d+)\]/.exec(line)?.[1] ?? '';
const tsOf = (line: string): number => Number(/ (\d+)\.(\d+): /.exec(line)?.slice(1).join('') ?? NaN);
/** Lines the replay has any use for: only these take part in ordering (kvm_entry/kvm_exit are counted and dropped). */
const isReplayed = (line: string): boolean => !/ kvm_(entry|exit): /.test(line);

interface Arranged {
  readonly text: string;
  /** Input line (1-based) → line of the original trace. */
  readonly originalLine: readonly number[];
}

/** The original trace with its event lines in the order of `order` (indexes into the event lines). */
function arrange(order: readonly number[]): Arranged {
  const lines = original.slice(0, headerCount);
  const originalLine = [0, ...lines.map((_, i) => i + 1)];
  for (const index of order) {
    lines.push(original[headerCount + index] as string);
    originalLine.push(headerCount + index + 1);
  }
  return { text: `${lines.join('\n')}\n`, originalLine };
}

const eventCount = original.length - headerCount;
const identity = Array.from({ length: eventCount }, (_, i) => i);

/** Per-CPU files concatenated, highest CPU first (every CPU but the first starts back in time). */
function concatenatedByCpu(): Arranged {
  const cpus = [...new Set(identity.map((i) => cpuOf(original[headerCount + i] as string)))].sort().reverse();
  return arrange(cpus.flatMap((cpu) => identity.filter((i) => cpuOf(original[headerCount + i] as string) === cpu)));
}

async function run(text: string, options: ReplayOptions = {}): Promise<Report> {
  const result = await replayBytes((async function* () {
    await Promise.resolve();
    yield Buffer.from(text);
  })(), 'in.trace', options);
  return buildReport('in.trace', result);
}

/** Findings as `check@original-line (inconclusive?) message`, sorted; lines in messages mapped too. */
function findingKeys(report: Report, originalLine: readonly number[]): string[] {
  const map = (line: number) => originalLine[line] ?? `?${line}`;
  return report.findings
    .map((f) => `${f.checkId}@${map(f.line)}${f.inconclusive ? ' inconclusive' : ''} ${f.message.replace(/\bline (\d+)/g, (_, line: string) => `line ${map(Number(line))}`)}`)
    .sort();
}

function diagnosticCount(report: Report, code: string): number {
  return report.diagnostics.find((d) => d.code === code)?.count ?? 0;
}

const baseline = await run(arrange(identity).text);
const baselineKeys = findingKeys(baseline, arrange(identity).originalLine);

test('the bundled trace spans less than the default window and has findings to compare', () => {
  assert.ok(tsOf(original.at(-1) as string) - tsOf(original[headerCount] as string) < defaultReorderWindowUs);
  assert.ok(baselineKeys.length >= 5, `findings: ${baselineKeys.length}`);
  assert.equal(baseline.verdict, 'findings');
  assert.equal(diagnosticCount(baseline, 'reordered'), 0);
});

test('per-CPU files concatenated unsorted: within the window, the same findings at the original lines', async () => {
  const concat = concatenatedByCpu();
  assert.notEqual(concat.text, arrange(identity).text);
  const report = await run(concat.text);
  assert.deepEqual(findingKeys(report, concat.originalLine), baselineKeys);
  assert.equal(report.verdict, baseline.verdict);
  assert.equal(report.dataLossAt, null);
  // Reordered: each replayed line older than a replayed line before it (nothing is released before the end).
  const lines = concat.text.split('\n').slice(headerCount, -1).filter(isReplayed);
  let newest = -Infinity;
  let expected = 0;
  for (const line of lines) {
    const ts = tsOf(line);
    if (ts < newest) expected++;
    newest = Math.max(newest, ts);
  }
  assert.ok(expected > 50);
  assert.equal(diagnosticCount(report, 'reordered'), expected);
  assert.equal(diagnosticCount(report, 'reorder-window-exceeded') + diagnosticCount(report, 'timestamp-backwards'), 0);
});

test('per-CPU files concatenated, window too small: data loss from the first late line, nothing decided after the oldest late event asserted', async () => {
  const concat = concatenatedByCpu();
  const report = await run(concat.text, { reorderWindowUs: 5 });
  const lines = concat.text.split('\n');
  // The first CPU section is in order; the second starts back at the trace's beginning.
  const firstLate = lines.findIndex((line, i) => i >= headerCount && i > 0 && tsOf(line) < tsOf(lines[i - 1] as string) - 5) + 1;
  assert.ok(firstLate > headerCount + 1);
  assert.equal(report.dataLossAt?.line, firstLate);
  const exceeded = report.diagnostics.find((d) => d.code === 'reorder-window-exceeded');
  assert.ok(exceeded !== undefined && exceeded.count > 10, `count ${exceeded?.count}`);
  assert.equal(exceeded.samples[0]?.line, firstLate);
  assert.equal(exceeded.severity, 'data-loss');
  // Nothing goes backwards on its own CPU: each CPU's lines are in order.
  assert.equal(diagnosticCount(report, 'timestamp-backwards'), 0);
  // The first CPU's section was replayed before the others' events, which are older than most
  // of it: its findings at or after the oldest late event's time were decided without them.
  const lateFrom = Math.min(...lines.slice(firstLate - 1, -1).filter(isReplayed).map(tsOf));
  const decidedBefore = report.findings.filter((f) => f.line < firstLate && f.tsUs >= lateFrom);
  assert.ok(decidedBefore.length > 0);
  for (const finding of report.findings) if (finding.tsUs >= lateFrom || finding.line >= firstLate) assert.equal(finding.inconclusive, true, `${finding.checkId}@${finding.line}`);
});

const isCpu1 = (i: number): boolean => cpuOf(original[headerCount + i] as string) === '001';

/**
 * The trace with a `vmid_clear_active` line of CPU 1 moved to 4 replayed lines after the next
 * replayed line of CPU 1: that CPU goes back in time at the moved line (by 4 µs or more: lines
 * are 1 µs apart).
 */
function moveCpu1Line(): { arranged: Arranged; movedTo: number } {
  const from = identity.find((i) => i > 20 && isCpu1(i) && / vmid_clear_active: /.test(original[headerCount + i] as string)) as number;
  const next = identity.find((i) => i > from && isCpu1(i) && isReplayed(original[headerCount + i] as string)) as number;
  const order = identity.filter((i) => i !== from);
  const replayedAfterNext = order.filter((i) => i > next && isReplayed(original[headerCount + i] as string));
  order.splice(order.indexOf(replayedAfterNext[3] as number) + 1, 0, from);
  const arranged = arrange(order);
  return { arranged, movedTo: arranged.originalLine.indexOf(headerCount + from + 1) };
}

test('one CPU going backwards within the window: merged back, same findings, nothing inconclusive', async () => {
  const { arranged } = moveCpu1Line();
  const report = await run(arranged.text);
  assert.deepEqual(findingKeys(report, arranged.originalLine), baselineKeys);
  assert.equal(diagnosticCount(report, 'reordered'), 1);
  assert.equal(diagnosticCount(report, 'timestamp-backwards'), 0);
  assert.equal(report.dataLossAt, null);
});

test('one CPU going backwards beyond the window: timestamp-backwards names the line, what follows is inconclusive', async () => {
  const { arranged, movedTo } = moveCpu1Line();
  const report = await run(arranged.text, { reorderWindowUs: 2 });
  const backwards = report.diagnostics.find((d) => d.code === 'timestamp-backwards');
  assert.equal(backwards?.count, 1);
  assert.equal(backwards.samples[0]?.line, movedTo);
  assert.match(backwards.samples[0]?.detail ?? '', /^CPU 1 went back in time/);
  assert.equal(diagnosticCount(report, 'reorder-window-exceeded'), 0);
  assert.equal(report.dataLossAt?.line, movedTo);
  // Replayed before the late line (all but the few lines held in the 2 µs window): the original's
  // findings, conclusive. Lines after it: inconclusive.
  const keys = findingKeys(report, arranged.originalLine);
  const expectedBefore = baselineKeys.filter((key) => Number(/@(\d+)/.exec(key)?.[1]) < movedTo - 6);
  assert.ok(expectedBefore.length > 0);
  for (const key of expectedBefore) assert.ok(keys.includes(key), key);
  const after = report.findings.filter((f) => f.line > movedTo);
  assert.ok(after.length > 0);
  for (const finding of after) assert.equal(finding.inconclusive, true, `${finding.checkId}@${finding.line}`);
});

test('the same trace with an untouched order and window 0 has no reordering diagnostics', async () => {
  const report = await run(arrange(identity).text, { reorderWindowUs: 0 });
  assert.deepEqual(findingKeys(report, arrange(identity).originalLine), baselineKeys);
  assert.equal(report.diagnostics.filter((d) => ['reordered', 'timestamp-backwards', 'reorder-window-exceeded'].includes(d.code)).length, 0);
});

test('property: any permutation of the event lines (all within the window) gives the original findings', async () => {
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray(identity, { minLength: eventCount, maxLength: eventCount }), async (order) => {
      const arranged = arrange(order);
      const report = await run(arranged.text);
      assert.deepEqual(findingKeys(report, arranged.originalLine), baselineKeys);
      assert.equal(report.dataLossAt, null);
    }),
    { numRuns: 40 },
  );
});

test('property: each line delayed by at most the window (a longer trace, 50 µs window) gives the original findings', async () => {
  const faults = readFileSync(resolve(process.cwd(), 'traces', 'generated-faults.trace'), 'utf8').replace(/\n$/, '').split('\n');
  const head = faults.findIndex((line) => !line.startsWith('#'));
  const body = faults.slice(head);
  assert.ok(body.every((line) => Number.isFinite(tsOf(line))), 'every body line is a timestamped event');
  const windowUs = 50;
  const keysOf = (report: Report, lineMap: readonly number[]) => findingKeys(report, lineMap);
  const identityMap = faults.map((_, i) => i + 1);
  const reference = await run(`${faults.join('\n')}\n`, { reorderWindowUs: windowUs });
  const referenceKeys = keysOf(reference, [0, ...identityMap]);
  assert.ok(referenceKeys.length > 0);
  const stamps = [...new Set(body.map(tsOf))];
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: windowUs }), { minLength: stamps.length, maxLength: stamps.length }), async (delays) => {
      // One delay per timestamp, so lines with equal stamps keep their order (ties go by input position).
      const delayOf = new Map(stamps.map((ts, i) => [ts, delays[i] as number]));
      const order = body.map((line, i) => ({ i, arrival: tsOf(line) + (delayOf.get(tsOf(line)) as number) })).sort((a, b) => a.arrival - b.arrival || a.i - b.i);
      const text = `${[...faults.slice(0, head), ...order.map(({ i }) => body[i] as string)].join('\n')}\n`;
      const lineMap = [0, ...faults.slice(0, head).map((_, i) => i + 1), ...order.map(({ i }) => head + i + 1)];
      const report = await run(text, { reorderWindowUs: windowUs });
      assert.deepEqual(keysOf(report, lineMap), referenceKeys);
      assert.equal(diagnosticCount(report, 'reorder-window-exceeded') + diagnosticCount(report, 'timestamp-backwards'), 0);
    }),
    { numRuns: 15 },
  );
});

test('--reorder-window reaches the replay; a bad value is a usage error (exit 64)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-reorder-'));
  try {
    const file = join(dir, 'concat.trace');
    writeFileSync(file, concatenatedByCpu().text);
    const merged = await runCli(['analyze', file, '--format', 'json']);
    // From stdin: a file would be read again and its per-CPU runs merged whatever the window.
    const strictWindow = await runCli(['analyze', '-', '--format', 'json', '--reorder-window', '0'], concatenatedByCpu().text);
    const mergedReport = JSON.parse(merged.stdout) as Report;
    const strictReport = JSON.parse(strictWindow.stdout) as Report;
    assert.equal(merged.code, 1);
    assert.equal(diagnosticCount(mergedReport, 'reorder-window-exceeded'), 0);
    assert.ok(diagnosticCount(strictReport, 'reorder-window-exceeded') > 10);
    assert.notEqual(strictReport.dataLossAt, null);
    const bad = await runCli(['analyze', file, '--reorder-window', '-1']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--reorder-window must be an integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
