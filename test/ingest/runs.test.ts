/**
 * Per-CPU runs, below the replay: finding them in input order, reading a part of a file (plain
 * or gzip) with the spans of the whole, and merging runs by timestamp.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ftraceImporter } from '../../src/ingest/ftrace/ftraceImporter.js';
import { openTraceRange, openTraceSource, readRecords, rereadableFile } from '../../src/ingest/readTrace.js';
import { plainRecord, type EventRecord, type ReadRecord, type TraceRecord } from '../../src/ingest/records.js';
import { CpuRunDetector } from '../../src/ingest/runs/detect.js';
import { mergeRuns } from '../../src/ingest/runs/merge.js';
import { samplesGoBack } from '../../src/ingest/runs/sample.js';
import { concatenatePerCpu } from '../helpers/perCpuFiles.js';

function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-runs-'));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function bytesOf(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

// ---- finding runs ----------------------------------------------------------------------

let nextLine = 0;
function ev(tsUs: number, cpu: number): EventRecord {
  nextLine += 1;
  return { type: 'event', span: { file: 't', line: nextLine, offset: nextLine * 100 }, text: '', task: 'x', pid: 1, cpu, tsUs, tsNs: 0, name: 'e', body: '' };
}
function header(): TraceRecord {
  nextLine += 1;
  return { type: 'header', span: { file: 't', line: nextLine, offset: nextLine * 100 }, text: '# tracer: nop' };
}

function detect(windowUs: number, records: readonly TraceRecord[]): ReturnType<CpuRunDetector['verdict']> {
  const detector = new CpuRunDetector(windowUs);
  for (const record of records) {
    if (record.type === 'event') detector.event(record);
    else detector.untimed(record);
  }
  return detector.verdict();
}

test('in order, or back by no more than the window: one run', () => {
  nextLine = 0;
  assert.deepEqual(detect(10, [ev(100, 0), ev(95, 1), ev(120, 0), ev(110, 1)]), { kind: 'one-run' });
});

test('a run starts where an event is older than its run\'s newest by more than the window, with the header block before it', () => {
  nextLine = 0;
  // Lines 1-3 CPU 0 from 100 to 300; 4-5 a header block; 6-7 CPU 1 from 105; 8 CPU 2 back at 90 with no header.
  const records = [ev(100, 0), ev(200, 0), ev(300, 0), header(), header(), ev(105, 1), ev(250, 1), ev(90, 2)];
  assert.deepEqual(detect(10, records), {
    kind: 'per-cpu-runs',
    runs: [
      { line: 1, offset: 0 },
      { line: 4, offset: 400, back: { cpu: 1, us: 105 } },
      { line: 8, offset: 800, back: { cpu: 2, us: 90 } },
    ],
  });
});

test('a CPU going back beyond the window makes the runs not per-CPU, naming the first such event', () => {
  nextLine = 0;
  const verdict = detect(10, [ev(100, 0), ev(300, 1), ev(50, 2), ev(150, 1)]);
  assert.equal(verdict.kind, 'not-per-cpu');
  assert.equal(verdict.kind === 'not-per-cpu' ? verdict.runs.length : 0, 2);
  assert.deepEqual(verdict.kind === 'not-per-cpu' ? verdict.cpuBack : undefined, { span: { file: 't', line: 4, offset: 400 }, cpu: 1 });
});

test('a continuation line stays with the event before it: the next run starts after it', () => {
  nextLine = 0;
  const continuation: TraceRecord = { type: 'continuation', span: { file: 't', line: 3, offset: 300 }, text: ' => f' };
  const records = [ev(100, 0), ev(300, 0)];
  nextLine = 3;
  const verdict = detect(10, [...records, continuation, header(), ev(100, 1)]);
  assert.deepEqual(verdict.kind === 'per-cpu-runs' ? verdict.runs[1] : undefined, { line: 4, offset: 400, back: { cpu: 1, us: 100 } });
});

// ---- reading part of a file ------------------------------------------------------------------

const traceText = readFileSync(resolve(process.cwd(), 'traces', 'generated-faults.trace'), 'utf8');

test('a range of a plain or gzip file is exactly those bytes of the (decompressed) file', async () => {
  await withDir(async (dir) => {
    const bytes = Buffer.from(traceText);
    const plain = join(dir, 'plain.trace');
    const gzip = join(dir, 'gz.trace');
    writeFileSync(plain, bytes);
    writeFileSync(gzip, gzipSync(bytes));
    assert.deepEqual(await rereadableFile(plain), { gzip: false });
    assert.deepEqual(await rereadableFile(gzip), { gzip: true });
    assert.equal(await rereadableFile('-'), undefined);
    assert.equal(await rereadableFile(join(dir, 'missing')), undefined);
    // Around the 64 KiB read size, across it, empty, and past the end.
    const edges = [0, 1, 65535, 65536, 65537, 200_000, bytes.length - 1, bytes.length];
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom(...edges), fc.nat(bytes.length)), fc.oneof(fc.constantFrom(...edges, Infinity), fc.nat(bytes.length)), fc.boolean(), async (a, b, zipped) => {
        const from = Math.min(a, b);
        const to = Math.max(a, b);
        const read = await bytesOf(openTraceRange(zipped ? gzip : plain, zipped, from, to));
        assert.ok(read.equals(bytes.subarray(from, to === Infinity ? undefined : to)), `${from}..${to}`);
      }),
      { numRuns: 60 },
    );
  });
});

test('records read from a line\'s start on carry the spans the whole file gives them', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 't.trace');
    writeFileSync(file, traceText);
    const whole: TraceRecord[] = [];
    for await (const batch of readRecords(openTraceSource(file, Readable.from([])), { file })) whole.push(...(batch as TraceRecord[]));
    const from = whole[2000] as TraceRecord;
    const to = whole[4000] as TraceRecord;
    const part: TraceRecord[] = [];
    const options = { file, from: { line: from.span.line, offset: from.span.offset } };
    for await (const batch of ftraceImporter.records(openTraceRange(file, false, from.span.offset, to.span.offset), options)) part.push(...(batch as TraceRecord[]));
    assert.deepEqual(part.map(plainRecord), whole.slice(2000, 4000).map(plainRecord));
  });
});

test('samples of a plain file: per-CPU files pasted together go back in time, the sorted trace does not', async () => {
  await withDir(async (dir) => {
    const sorted = join(dir, 'sorted.trace');
    const pasted = join(dir, 'pasted.trace');
    writeFileSync(sorted, traceText);
    writeFileSync(pasted, concatenatePerCpu(traceText).text);
    const options = { file: sorted, wantEvent: () => true };
    assert.equal(await samplesGoBack(sorted, ftraceImporter, options, 1000), false);
    assert.equal(await samplesGoBack(pasted, ftraceImporter, options, 1000), true);
    // Back by less than the window between samples is no disorder: the trace lasts 77 ms.
    assert.equal(await samplesGoBack(pasted, ftraceImporter, options, 100_000), false);
  });
});

// ---- merging ---------------------------------------------------------------------------------

/** A record of run `run` at `tsUs` (or untimed when `tsUs` is a type), named `run.index` for the check. */
function rec(run: number, index: number, tsUs: number | 'lost' | 'header' | 'unused'): ReadRecord {
  const span = { file: 't', line: run * 1000 + index, offset: 0 };
  const text = `${run}.${index}`;
  if (tsUs === 'lost') return { type: 'lost', span, text, cpu: run, count: 1 };
  if (tsUs === 'header') return { type: 'header', span, text };
  if (tsUs === 'unused') return { type: 'unused-events', span, countsByName: new Map([[text, 1]]) };
  return { type: 'event', span, text, task: 'x', pid: 1, cpu: run, tsUs, tsNs: 0, name: 'e', body: '' };
}

const nameOf = (record: ReadRecord): string => (record.type === 'unused-events' ? [...record.countsByName.keys()].join() : record.text);

/** The batches of one run, cut after the records whose index is in `cuts`. */
async function* batchesOf(records: readonly ReadRecord[], cuts: ReadonlySet<number>): AsyncGenerator<ReadRecord[]> {
  let batch: ReadRecord[] = [];
  for (const [index, record] of records.entries()) {
    batch.push(record);
    if (cuts.has(index)) {
      await Promise.resolve();
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function merged(runs: readonly (readonly ReadRecord[])[], cuts: readonly ReadonlySet<number>[] = []): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of mergeRuns(runs.map((records, i) => batchesOf(records, cuts[i] ?? new Set())[Symbol.asyncIterator]()))) out.push(...batch.map(nameOf));
  return out;
}

test('runs merge by timestamp, ties in run order; untimed records travel just before their run\'s next event', async () => {
  const run0 = [rec(0, 1, 'header'), rec(0, 2, 10), rec(0, 3, 30), rec(0, 4, 'lost'), rec(0, 5, 50)];
  const run1 = [rec(1, 1, 'header'), rec(1, 2, 'lost'), rec(1, 3, 20), rec(1, 4, 'unused'), rec(1, 5, 30), rec(1, 6, 40), rec(1, 7, 'lost')];
  // Headers go out first (each run's, read up to its first event), counts of unused lines as
  // soon as read (1.4 when run 1 moved past 1.3), the trailing 1.7 when run 1 ends.
  assert.deepEqual(await merged([run0, run1]), ['0.1', '1.1', '0.2', '1.2', '1.3', '1.4', '0.3', '1.5', '1.6', '1.7', '0.4', '0.5']);
});

test('property: however the runs come in batches, the merge is the same, and each run keeps its order but for headers', async () => {
  const runArb = fc.array(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constantFrom<'lost' | 'header' | 'unused'>('lost', 'header', 'unused')), { maxLength: 30 });
  await fc.assert(
    fc.asyncProperty(fc.array(runArb, { minLength: 1, maxLength: 5 }), fc.array(fc.array(fc.nat(30)), { maxLength: 5 }), async (stamps, cutLists) => {
      // Each run's timestamps in order, as a per-CPU file has them.
      const runs = stamps.map((list, run) => {
        const sorted = list.filter((item): item is number => typeof item === 'number').sort((a, b) => a - b);
        let next = 0;
        return list.map((item, index) => rec(run, index, typeof item === 'number' ? (sorted[next++] as number) : item));
      });
      const whole = await merged(runs);
      assert.deepEqual(await merged(runs, cutLists.map((cuts) => new Set(cuts))), whole);
      assert.equal(whole.length, runs.flat().length);
      // Headers and counts go out at once, ahead of untimed records waiting for an event; the
      // rest of each run keeps its order.
      const goesAtOnce = new Set(runs.flat().filter((record) => record.type === 'header' || record.type === 'unused-events').map(nameOf));
      for (const [run, records] of runs.entries()) {
        assert.deepEqual(
          whole.filter((name) => name.startsWith(`${run}.`) && !goesAtOnce.has(name)),
          records.map(nameOf).filter((name) => !goesAtOnce.has(name)),
        );
      }
      // Events come out in (timestamp, run) order.
      const events = runs.flat().filter((record): record is EventRecord => record.type === 'event');
      const expected = [...events].sort((a, b) => a.tsUs - b.tsUs || a.cpu - b.cpu || a.span.line - b.span.line).map(nameOf);
      const eventNames = new Set(expected);
      assert.deepEqual(whole.filter((name) => eventNames.has(name)), expected);
    }),
    { numRuns: 200 },
  );
});
