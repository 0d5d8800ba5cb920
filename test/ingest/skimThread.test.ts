/**
 * A large sparse ftrace or trace-cmd report file is read and skimmed on a second thread (src/ingest/threads/skimThread.ts).
 * That must not show: every trace gives the report the in-thread reader gives, plain or gzip,
 * with over-long lines, when the file turns out to be another format, and when the input or
 * the replay fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MessageChannel } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { VmidReplayError } from '../../src/errors.js';
import { skimFlavorPlain } from '../../src/ingest/lines/ftraceSkim.js';
import { InFlightBudget, transferredBytes } from '../../src/ingest/threads/inFlightBudget.js';
import type { ReadRecord } from '../../src/ingest/records.js';
import { readWithSkimThread, skimThreadPlan } from '../../src/ingest/threads/skimThread.js';
import { analyzeTrace } from '../../src/cli/analyzeTrace.js';
import { Replay, type ReplayOptions } from '../../src/replay/replay.js';
import { assertSameReportWithThread, inTempDir, sparse, withReadingThread } from '../helpers/sparseTrace.js';
import { toTraceCmdReport } from '../helpers/traceCmdReport.js';

const bothWays = (file: string, options?: ReplayOptions): Promise<void> => assertSameReportWithThread(file, skimThreadPlan, options);

test('a sparse trace (4 MiB, many 1 MiB reads) gives the same report with a skim thread, plain and gzip', () =>
  inTempDir(async (dir) => {
    const text = sparse(300);
    assert.ok(text.length > 4 << 20, `${text.length} bytes`);
    writeFileSync(join(dir, 'sparse.trace'), text);
    writeFileSync(join(dir, 'sparse.trace.gz'), gzipSync(text));
    await bothWays(join(dir, 'sparse.trace'));
    await bothWays(join(dir, 'sparse.trace.gz'));
  }));

test('over-long lines and CRLF line ends read the same on the skim thread', () =>
  inTempDir(async (dir) => {
    const text = sparse(40, (index) => (index % 50 === 7 ? [`   x-1 [000] d..1.     1.0: huge: ${'y'.repeat((1 << 20) + 10)}`] : [])).replace(/\n/g, (_match, at: number) => (at % 3 === 0 ? '\r\n' : '\n'));
    writeFileSync(join(dir, 'long.trace'), text);
    await bothWays(join(dir, 'long.trace'));
  }));

test('a sparse trace-cmd report, in the default and -l shapes, plain and gzip, gives the same report with a skim thread', () =>
  inTempDir(async (dir) => {
    const text = sparse(150);
    for (const [name, shape] of [['default', { cpus: 4 }], ['latency', { cpus: 4, latency: true, nanoseconds: true }]] as const) {
      const report = toTraceCmdReport(text, shape).text;
      writeFileSync(join(dir, `${name}.report`), report);
      writeFileSync(join(dir, `${name}.report.gz`), gzipSync(report));
      for (const file of [join(dir, `${name}.report`), join(dir, `${name}.report.gz`)]) {
        assert.equal(skimThreadPlan(file, { file, wantEvent: new Replay({}).wantEvent }, 0)?.format, 'trace-cmd');
        await bothWays(file);
      }
    }
  }));

test('a file whose lines look like sparse ftrace but which sniffs as trace-cmd report text is planned as trace-cmd: nothing to skim', () =>
  inTempDir(async (dir) => {
    // `cpus=4` first: trace-cmd's header. Its grammar takes none of these lines, so no line is
    // refused and there is nothing to skim; read as ftrace, they would have been events.
    const file = join(dir, 'sparse.report');
    writeFileSync(file, `cpus=4\n${sparse(20)}`);
    const options: ReplayOptions = {};
    assert.equal(skimThreadPlan(file, { file, wantEvent: new Replay(options).wantEvent }, 0), undefined);
    // Read as trace-cmd text, no line is an event: nothing to replay, the same error either way.
    const inThread = await analyzeTrace(file, Readable.from([]), options).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(inThread instanceof VmidReplayError && inThread.code === 'NO_EVENTS', String(inThread));
    assert.match(inThread.message, /found \d{4,} lines that are not trace lines \(first at line \d+: expected a trace-cmd report line/);
    await assert.rejects(analyzeTrace(file, Readable.from([]), options, undefined, withReadingThread), (error: unknown) => error instanceof VmidReplayError && error.message === inThread.message);
  }));

test('a report forced to ftrace by --input-format is read as ftrace text, with the thread or without', () =>
  inTempDir(async (dir) => {
    // The plan and the worker take the forced format alike; they never sniff it.
    const file = join(dir, 'forced.report');
    writeFileSync(file, toTraceCmdReport(sparse(20), { cpus: 4 }).text);
    const options: ReplayOptions = { inputFormat: 'ftrace' };
    const inThread = await analyzeTrace(file, Readable.from([]), options);
    assert.deepEqual(await analyzeTrace(file, Readable.from([]), options, undefined, withReadingThread), inThread);
  }));

test('a worker that sniffs another format than its plan hands the file back before any record', () =>
  inTempDir(async (dir) => {
    // Plans agree with the worker on every file made here (both sniff the same head), so the
    // plan is made by hand: trace-cmd, for a file of ftrace text.
    const file = join(dir, 'sparse.trace');
    writeFileSync(file, sparse(20));
    const wantEvent = new Replay({}).wantEvent;
    const taken: ReadRecord[] = [];
    assert.equal(await readWithSkimThread(file, { file, wantEvent }, { format: 'trace-cmd', lessons: [] }, (records) => taken.push(...records)), 'other-format');
    assert.equal(taken.length, 0);
    assert.equal(await readWithSkimThread(file, { file, wantEvent }, { format: 'ftrace', lessons: [] }, (records) => taken.push(...records)), 'done');
    assert.ok(taken.length > 0);
  }));

test('a dense trace is not read with a skim thread (it would only copy lines across)', () =>
  inTempDir(async (dir) => {
    const file = join(dir, 'dense.trace');
    writeFileSync(file, sparse(0));
    assert.equal(skimThreadPlan(file, { file, wantEvent: new Replay({}).wantEvent }, 0), undefined);
  }));

test('the plan for a sparse trace teaches the worker the names the replay refuses in its first lines, and no other', () =>
  inTempDir(async (dir) => {
    const file = join(dir, 'sparse.trace');
    writeFileSync(file, sparse(20));
    const plan = skimThreadPlan(file, { file, wantEvent: new Replay({}).wantEvent }, 0);
    const taught = plan?.lessons.map((lesson) => `${Buffer.from(lesson.name).toString('latin1')} ${lesson.flavor === skimFlavorPlain ? 'plain' : lesson.flavor}`);
    // Both noise names print a plain body (no probe location).
    assert.deepEqual(taught, ['kvm_entry plain', 'kvm_exit plain']);
    assert.equal(skimThreadPlan(file, { file, wantEvent: new Replay({}).wantEvent }, 1 << 30), undefined, 'below the size where a thread pays');
  }));

test('a truncated gzip fails on the skim thread as in this thread; a strict-mode error from the replay stops the reader', () =>
  inTempDir(async (dir) => {
    const gz = gzipSync(sparse(150));
    const cut = join(dir, 'cut.trace.gz');
    writeFileSync(cut, gz.subarray(0, gz.length - 1000));
    const expected = await analyzeTrace(cut, Readable.from([]), {}).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(expected instanceof VmidReplayError && expected.code === 'INPUT_CORRUPT');
    await assert.rejects(analyzeTrace(cut, Readable.from([]), {}, undefined, withReadingThread), (error: unknown) => error instanceof VmidReplayError && error.code === 'INPUT_CORRUPT' && error.message === expected.message);

    const broken = join(dir, 'broken.trace');
    writeFileSync(broken, sparse(150, (index) => (index === 100 ? ['   x-1 [000] d..1.     1.0: vmid_update: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=nonsense'] : [])));
    await assert.rejects(analyzeTrace(broken, Readable.from([]), { strict: true }, undefined, withReadingThread), (error: unknown) => error instanceof VmidReplayError && error.code === 'MALFORMED_LINE');
  }));

test('the skim worker posts batches until the bytes not yet taken reach its budget, then waits for takes', async () => {
  const budget = new InFlightBudget(100);
  let settled = 0;
  const post = (bytes: number): Promise<void> => budget.posted(bytes).then(() => void (settled += 1));
  await post(40);
  await post(50);
  assert.equal(budget.inFlight, 90);
  // This one reaches the budget: it goes (the batch is already posted), and the worker waits.
  const waiting = post(30);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, 2, 'the worker waits at 120 bytes in flight');
  budget.taken(10);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, 2, 'still 110 bytes in flight: still waiting');
  budget.taken(40);
  await waiting;
  assert.equal(settled, 3);
  assert.equal(budget.inFlight, 70);
  // A batch larger than the whole budget is posted too, and waits until it is taken.
  const large = post(500);
  budget.taken(70);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, 3);
  budget.taken(500);
  await large;
  assert.equal(budget.inFlight, 0);
});

test('a posted message weighs its transferred buffers as they were before the transfer emptied them', async () => {
  const { port1, port2 } = new MessageChannel();
  try {
    const budget = new InFlightBudget(1000);
    const buffers = [new ArrayBuffer(300), new ArrayBuffer(200)];
    assert.equal(transferredBytes(buffers), 500);
    await budget.postTransferring(port1, { type: 'lines' }, buffers);
    assert.equal(buffers[0]?.byteLength, 0, 'transferred, not copied');
    assert.equal(budget.inFlight, 500);
    let settled = false;
    const waiting = budget.postTransferring(port1, { type: 'lines' }, [new ArrayBuffer(600)]).then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, '1100 bytes in flight: the reader waits');
    budget.taken(500);
    await waiting;
    assert.equal(budget.inFlight, 600);
  } finally {
    port1.close();
    port2.close();
  }
});
