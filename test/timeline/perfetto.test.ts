/**
 * `--format perfetto` and `--out`'s `.perfetto.json`: Chrome Trace Event JSON that keeps the
 * format's rules (test/helpers/chromeTrace.ts), checked on the real captures and every bundled
 * trace. No Perfetto trace processor ships as a Debian or npm package, so the documents are
 * validated structurally, and their content against the JSON report of the same run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { chromeTraceProblems, parseChromeTrace, type ChromeTraceEvent } from '../helpers/chromeTrace.js';
import { argsFor, bundledTraces } from '../../scripts/start.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';

const capturesRoot = resolve(process.cwd(), '..', 'shared', 'captures');
const dir = mkdtempSync(join(tmpdir(), 'vmid-perfetto-'));

interface Inputs {
  readonly path: string;
  readonly args: readonly string[];
}

function realCaptures(): Inputs[] {
  return readdirSync(capturesRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((folder) => {
      const name = readdirSync(join(capturesRoot, folder)).find((file) => file.startsWith('trace') && file.endsWith('.txt.gz')) as string;
      const bits = folder.includes('16bit') ? '16' : '8';
      return { path: join(capturesRoot, folder, name), args: ['--map', 'traces/captures-6.1.map.json', '--vmid-bits', bits, '--cpus', '4'] };
    });
}

interface JsonReport {
  readonly file: string;
  readonly verdict: string;
  readonly config: { readonly variant: string };
  readonly costs: { readonly loads: number; readonly rollovers: number };
  readonly findings: readonly unknown[];
}

const named = (events: readonly ChromeTraceEvent[], what: string) => events.filter((event) => event.ph === 'M' && event.name === what).map((event) => event.args?.['name']);

async function exportsOf(input: Inputs): Promise<{ document: string; report: JsonReport }> {
  const out = join(dir, basename(input.path).replace(/\W/g, '_'));
  const result = await runCli(['analyze', input.path, ...input.args, '--out', out, '--exit-zero']);
  assert.equal(result.code, 0, result.stderr);
  const stem = join(out, basename(input.path).replace(/\.gz$/, ''));
  const document = result.files.get(`${stem}.perfetto.json`);
  const report = result.files.get(`${stem}.json`);
  assert.ok(document !== undefined && report !== undefined, [...result.files.keys()].join(' '));
  return { document, report: JSON.parse(report) as JsonReport };
}

test('the real captures are there to export', () => {
  assert.equal(realCaptures().length, 4);
  assert.ok(realCaptures().every((input) => existsSync(input.path)));
});

for (const input of [...realCaptures(), ...bundledTraces().map((path) => ({ path, args: argsFor(path) }))]) {
  test(`perfetto export of ${input.path} keeps the format's rules and says what the report says`, async () => {
    const { document, report } = await exportsOf(input);
    assert.deepEqual(chromeTraceProblems(document), []);
    const events = parseChromeTrace(document);
    assert.deepEqual(named(events, 'process_name'), [`vmid-replay: ${report.file}`]);
    const threads = named(events, 'thread_name') as string[];
    assert.deepEqual(threads.slice(0, 2), ['findings', 'allocator: rollovers']);
    const slicesOn = (tid: number) => events.filter((event) => event.ph === 'X' && event.tid === tid).length;
    const cpuTracks = events.filter((event) => event.ph === 'M' && event.name === 'thread_name' && /^CPU \d+$/.test(String(event.args?.['name'])));
    if (report.costs.loads > 0) {
      assert.ok(cpuTracks.length > 0, 'a track per CPU that ran a VM');
      // Every load opens a slice on its CPU: as many VM slices as loads.
      assert.equal(cpuTracks.reduce((sum, track) => sum + slicesOn(track.tid), 0), report.costs.loads);
      assert.ok(events.some((event) => event.ph === 'b' && event.cat === 'vmid'), 'VMID ownership slices');
      assert.ok(events.some((event) => event.ph === 'C' && event.name === 'generation'));
      assert.ok(events.some((event) => event.ph === 'C' && event.name === 'live VMs'));
    }
    const rollovers = events.filter((event) => event.ph === 'i' && event.name === 'rollover');
    assert.equal(rollovers.reduce((sum, event) => sum + (event.args?.['flushes'] as number), 0), report.costs.rollovers);
    assert.equal(events.filter((event) => event.ph === 'i' && event.cat === 'finding').length, report.findings.length);
    if (report.config.variant !== 'mainline' && events.some((event) => event.ph === 'C' && event.name === 'pinned VMIDs')) {
      assert.ok(events.filter((event) => event.ph === 'C' && event.name === 'pinned VMIDs').every((event) => Number.isInteger(event.args?.['value'])));
    }
    const tail = JSON.parse(document) as { otherData: Record<string, string> };
    assert.equal(tail.otherData['pid 1'], `${report.file}: ${report.verdict}`);
  });
}

test('the validator finds what breaks the format: overlapping slices, an unpaired async end, a fractional ts, an unnamed thread', () => {
  const head = (events: object[]) => JSON.stringify({ displayTimeUnit: 'ms', traceEvents: [{ ph: 'M', pid: 1, tid: 1, name: 'process_name', args: { name: 'p' } }, { ph: 'M', pid: 1, tid: 1, name: 'thread_name', args: { name: 't' } }, ...events] });
  assert.deepEqual(chromeTraceProblems(head([{ ph: 'X', pid: 1, tid: 1, ts: 10, dur: 5, name: 'a' }, { ph: 'X', pid: 1, tid: 1, ts: 15, dur: 5, name: 'b' }])), []);
  assert.match(chromeTraceProblems(head([{ ph: 'X', pid: 1, tid: 1, ts: 10, dur: 5, name: 'a' }, { ph: 'X', pid: 1, tid: 1, ts: 12, dur: 5, name: 'b' }])).join('\n'), /overlaps "a"/);
  assert.match(chromeTraceProblems(head([{ ph: 'e', pid: 1, tid: 1, ts: 10, cat: 'c', id: 'x', name: 'a' }])).join('\n'), /without a b/);
  assert.match(chromeTraceProblems(head([{ ph: 'b', pid: 1, tid: 1, ts: 10, cat: 'c', id: 'x', name: 'a' }, { ph: 'e', pid: 1, tid: 1, ts: 11, cat: 'c', id: 'x', name: 'z' }])).join('\n'), /ends another slice/);
  assert.match(chromeTraceProblems(head([{ ph: 'i', s: 't', pid: 1, tid: 1, ts: 10.5, name: 'a' }])).join('\n'), /whole number of microseconds/);
  assert.match(chromeTraceProblems(head([{ ph: 'i', s: 't', pid: 1, tid: 2, ts: 10, name: 'a' }])).join('\n'), /thread 1\/2 has no thread_name/);
  assert.match(chromeTraceProblems(head([{ ph: 'B', pid: 1, tid: 1, ts: 10, name: 'a' }, { ph: 'E', pid: 1, tid: 1, ts: 9, name: 'a' }])).join('\n'), /closes no B|never closed/);
  assert.match(chromeTraceProblems(JSON.stringify({ traceEvents: [], displayTimeUnit: 'ms' })).join('\n'), /displayTimeUnit after traceEvents/);
});

test('a finding\'s instant names its parties and what was needed', async () => {
  // traces/mixed-hazards.trace shares VM 0xffff00001000c000's VMID 12 with smmu0's SID 768 at
  // line 120 without pinning it, and the VM gets VMID 15 at line 169: a pin was needed.
  const result = await runCli(['analyze', 'traces/mixed-hazards.trace', '--format', 'perfetto']);
  const instant = parseChromeTrace(result.stdout).find((event) => event.ph === 'i' && event.name === 'vmid-changed-under-bound-ste');
  assert.equal(instant?.args?.['line'], 'traces/mixed-hazards.trace:169');
  assert.equal(instant?.args?.['parties'], 'VM 0xffff00001000c000, SMMU smmu0 SID 768');
  assert.match(String(instant?.args?.['needed']), /^pin the VMID \(kvm_arm_pinned_vmid_get\(\)\) before sharing it with the SMMU at line 120/);
});

function writeTrace(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('several traces on stdout make one document, a process per trace in argument order, even from parallel workers', async () => {
  const one = writeTrace('one.trace', new TraceWriter().header('vmid_bits=8 cpus=2').vmCreate(vmPointer(1)).load(vmPointer(1), 0).put(0).toString());
  const two = writeTrace('two.trace', new TraceWriter().header('vmid_bits=8 cpus=2').vmCreate(vmPointer(2)).load(vmPointer(2), 1).put(1).toString());
  const result = await runCli(['analyze', one, two, '--format', 'perfetto', '--jobs', '2']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(chromeTraceProblems(result.stdout), []);
  const events = parseChromeTrace(result.stdout);
  assert.deepEqual(
    events.filter((event) => event.ph === 'M' && event.name === 'process_name').map((event) => [event.pid, event.args?.['name']]).sort(),
    [
      [1, `vmid-replay: ${one}`],
      [2, `vmid-replay: ${two}`],
    ],
  );
  // Trace one ran on CPU 0, trace two on CPU 1: each process has its own CPU track.
  assert.deepEqual(events.filter((event) => event.ph === 'X').map((event) => [event.pid, event.tid]).sort(), [
    [1, 100],
    [2, 101],
  ]);
  assert.deepEqual((JSON.parse(result.stdout) as { otherData: unknown }).otherData, { tool: 'vmid-replay', 'pid 1': `${one}: ok`, 'pid 2': `${two}: ok` });
});

test('a trace that fails still closes the document, and its process says why', async () => {
  const good = writeTrace('good.trace', new TraceWriter().header('vmid_bits=8 cpus=2').vmCreate(vmPointer(1)).load(vmPointer(1), 0).put(0).toString());
  const result = await runCli(['analyze', good, join(dir, 'missing.trace'), '--format', 'perfetto', '--jobs', '1']);
  assert.equal(result.code, 66, result.stderr);
  assert.deepEqual(chromeTraceProblems(result.stdout), []);
  assert.match((JSON.parse(result.stdout) as { otherData: Record<string, string> }).otherData['pid 2'] ?? '', /missing\.trace: error: .*\[INPUT_NOT_FOUND\]/);
});

test('stdout and --out hold the same document for one trace', async () => {
  const path = writeTrace('same.trace', new TraceWriter().header('vmid_bits=2 cpus=1').vmCreate(vmPointer(1)).load(vmPointer(1), 0).put(0).toString());
  const result = await runCli(['analyze', path, '--format', 'perfetto', '--out', join(dir, 'same')]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.files.get(join(dir, 'same', 'same.trace.perfetto.json')), result.stdout);
});
