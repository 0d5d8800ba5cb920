/**
 * The real captures in ../shared/captures (Debian 6.1 arm64 KVM, see its README), read through
 * the shipped probe map: every mapped probe is recognised, and the model reproduces every
 * VMID, generation, rollover, per-CPU active/reserved value and bitmap word they recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from './helpers/cli.js';

const capturesRoot = resolve(process.cwd(), '..', 'shared', 'captures');
const map = 'traces/captures-6.1.map.json';

interface Expected {
  readonly folder: string;
  readonly bits: number;
  readonly rollovers: number;
  /** Whether the capture has the in-function probes (rollover, new_alloc, update_ret, ...). */
  readonly full: boolean;
}

/** From ../shared/captures/README.md's table. */
const captures: readonly Expected[] = [
  { folder: 'a57-8bit-nvhe-full', bits: 8, rollovers: 9, full: true },
  { folder: 'a57-8bit-nvhe-portable-tgid', bits: 8, rollovers: 5, full: false },
  { folder: 'a57-8bit-nvhe-trace-pipe', bits: 8, rollovers: 2, full: true },
  { folder: 'max-16bit-vhe-full', bits: 16, rollovers: 0, full: true },
];

interface JsonReport {
  verdict: string;
  findings: { checkId: string; line: number; message: string }[];
  costs: { loads: number; rollovers: number; generation: number };
  counts: {
    unrecognisedProbes: number;
    malformedEvents: number;
    allEventsAccounted: boolean;
    divergences: Record<string, number>;
    observedFields: Record<string, number>;
    eventsByKind: Record<string, number>;
  };
  diagnostics: { code: string; count: number }[];
}

function traceFile(folder: string): string {
  const dir = join(capturesRoot, folder);
  const name = readdirSync(dir).find((file) => file.endsWith('.txt.gz') && file.startsWith('trace'));
  assert.ok(name !== undefined, `${folder} has a trace`);
  return join(dir, name);
}

async function analyze(path: string, bits: number, extra: readonly string[] = []): Promise<JsonReport> {
  const result = await runCli(['analyze', path, '--vmid-bits', String(bits), '--cpus', '4', '--map', map, '--format', 'json', ...extra]);
  assert.ok(result.code <= 2, result.stderr);
  return JSON.parse(result.stdout) as JsonReport;
}

test('the captures are present', () => {
  assert.ok(existsSync(capturesRoot), `${capturesRoot} is missing`);
  for (const capture of captures) assert.ok(existsSync(join(capturesRoot, capture.folder)), capture.folder);
});

for (const capture of captures) {
  test(`${capture.folder}: replays with zero divergence through the probe map`, async () => {
    const report = await analyze(traceFile(capture.folder), capture.bits);
    assert.equal(report.counts.unrecognisedProbes, 0, 'every probe is mapped');
    assert.equal(report.counts.malformedEvents, 0);
    assert.equal(report.counts.allEventsAccounted, true);
    assert.deepEqual(report.counts.divergences, {});
    assert.deepEqual(report.findings, []);
    assert.equal(report.verdict, 'ok');
    assert.equal(report.costs.rollovers, capture.rollovers);
    assert.equal(report.costs.generation, capture.rollovers + 1);
    assert.ok(report.costs.loads > 5000, `${report.costs.loads} loads`);
    const observed = report.counts.observedFields;
    assert.ok((observed['idBefore'] ?? 0) >= report.costs.loads, 'every update entry id compared');
    assert.ok((observed['idAfter'] ?? 0) >= report.costs.loads, 'every update result compared');
    if (capture.full) {
      assert.equal(observed['flushGeneration'] ?? 0, capture.rollovers, 'every rollover seen by its probe');
      assert.equal(observed['mapWords'] ?? 0, capture.rollovers);
      assert.ok((observed['curIdx'] ?? 0) > 500, 'new_alloc cur_idx compared');
      assert.ok((observed['reservedAll'] ?? 0) >= report.costs.loads, 'reservations compared at every update');
      assert.ok((observed['activeAll'] ?? 0) >= report.costs.loads, 'active VMIDs compared at every update');
    }
    // Racy snapshots of other CPUs are explained, never silently dropped: few and counted.
    const skew = report.diagnostics.find((d) => d.code === 'snapshot-skew')?.count ?? 0;
    assert.ok(skew < 50, `${skew} clock-skewed snapshots`);
  });
}

test('the comparisons can fail: an edited capture line is reported as the divergence it is', async () => {
  const text = gunzipSync(readFileSync(traceFile('a57-8bit-nvhe-full'))).toString('utf8').split('\n');
  const firstRollover = text.findIndex((line) => line.includes(' rollover: '));
  assert.ok(firstRollover > 0);
  const excerpt = text.slice(0, firstRollover + 2000);
  const dir = mkdtempSync(join(tmpdir(), 'vmid-captures-'));
  const cases: [string, (line: string) => string | undefined, string][] = [
    ['bitmap', (line) => (line.includes(' rollover: ') ? line.replace('map0=0x1', 'map0=0x3') : undefined), 'bitmap'],
    ['reserved', (line) => (line.includes(' rollover: ') ? line.replace(/res2=\d+/, 'res2=300') : undefined), 'per-cpu-reserved'],
    ['cur_idx', (line) => (line.includes(' new_alloc: ') ? line.replace(/cur_idx=\d+/, 'cur_idx=99') : undefined), 'cur-idx'],
    ['generation', (line) => (line.includes(' update_slow: ') ? line.replace(/gen=\d+/, 'gen=1024') : undefined), 'generation'],
    ['id after', (line) => (line.includes(' after_update: ') ? line.replace(/id=\d+$/, 'id=7') : undefined), 'id-after'],
  ];
  const clean = join(dir, 'clean.txt');
  writeFileSync(clean, excerpt.join('\n'));
  assert.deepEqual((await analyze(clean, 8)).counts.divergences, {}, 'the unedited excerpt is clean');
  for (const [name, edit, kind] of cases) {
    const index = excerpt.findIndex((line) => edit(line) !== undefined && edit(line) !== line);
    assert.ok(index > 0, `${name}: a line to edit`);
    const edited = [...excerpt];
    edited[index] = edit(excerpt[index] as string) as string;
    const path = join(dir, `${name}.txt`);
    writeFileSync(path, edited.join('\n'));
    const report = await analyze(path, 8);
    assert.ok((report.counts.divergences[kind] ?? 0) >= 1, `${name}: ${JSON.stringify(report.counts.divergences)}`);
    const finding = report.findings.find((f) => f.checkId === 'model-divergence');
    assert.equal(finding?.line, index + 1, `${name}: reported at the edited line`);
  }
});
