/**
 * The real a57 8-bit capture (../shared/captures/a57-8bit-nvhe-full) with one CPU's clock
 * edited to run milliseconds behind around a rollover, as the `local` trace clock can: the
 * replay must find the order the allocator's own probes show and report zero divergence, and
 * without the skew bound the same edit must diverge (so the edit is one the bound is needed for).
 *
 * The edits are smooth: the CPU's offset ramps from 0 to its full value and back at half the
 * speed of time, so that CPU's own stamps still only grow (a real clock never runs backwards),
 * and the file is re-sorted by stamp, as ftrace merges the per-CPU buffers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runCli } from './helpers/cli.js';

const capture = resolve(process.cwd(), '..', 'shared', 'captures', 'a57-8bit-nvhe-full', 'trace.txt.gz');
const map = 'traces/captures-6.1.map.json';
/** The capture up to just past its fifth rollover (line 134,165, generation 1536). */
const linesKept = 140_000;

interface Edit {
  readonly cpu: number;
  /** The rollover the edit is centred on, µs. */
  readonly aroundUs: number;
  /** The CPU's offset at its fullest, µs (negative: its clock runs behind). */
  readonly offsetUs: number;
}

const stamp = /^(.*?\[(\d{3})\] \S+\s+)(\d+)\.(\d{6})(: .*)$/;

/** The offset of `edit.cpu`'s clock at true time `us`: ramps of slope 1/2 around a plateau 20 ms wide. */
function offsetAt(edit: Edit, us: number): number {
  const full = Math.abs(edit.offsetUs);
  const plateauFrom = edit.aroundUs - 10_000;
  const plateauTo = edit.aroundUs + 10_000;
  const ramp = us < plateauFrom ? Math.max(0, full - (plateauFrom - us) / 2) : us > plateauTo ? Math.max(0, full - (us - plateauTo) / 2) : full;
  return Math.sign(edit.offsetUs) * Math.round(ramp);
}

function edited(lines: readonly string[], edit: Edit): string {
  const head: string[] = [];
  const events: { us: number; order: number; text: string }[] = [];
  lines.forEach((text, order) => {
    const match = stamp.exec(text);
    if (match === null) {
      head.push(text);
      return;
    }
    const [, before = '', cpu = '', secs = '', micros = '', after = ''] = match;
    let us = Number(secs) * 1_000_000 + Number(micros);
    if (Number(cpu) === edit.cpu) us += offsetAt(edit, us);
    const printed = `${Math.floor(us / 1_000_000)}.${String(us % 1_000_000).padStart(6, '0')}`;
    events.push({ us, order, text: `${before}${printed.padStart(secs.length + 7)}${after}` });
  });
  events.sort((a, b) => a.us - b.us || a.order - b.order);
  return [...head, ...events.map((event) => event.text)].join('\n') + '\n';
}

interface JsonReport {
  verdict: string;
  counts: { divergences: Record<string, number>; allEventsAccounted: boolean };
  costs: { rollovers: number };
  diagnostics: { code: string; count: number; samples: { line: number; detail: string }[] }[];
}

async function analyze(path: string, extra: readonly string[] = []): Promise<JsonReport> {
  const result = await runCli(['analyze', path, '--vmid-bits', '8', '--cpus', '4', '--map', map, '--format', 'json', ...extra]);
  assert.ok(result.code <= 2, result.stderr);
  return JSON.parse(result.stdout) as JsonReport;
}

const edits: readonly { name: string; edit: Edit }[] = [
  // Generation 1280 (line 103,386, CPU 0, 55.455494): CPU 1 runs VM ...679c8 (res1=1162) and
  // keeps its index at 55.458458 (new_keep, reserved_hit=1). 8 ms behind, that keep is stamped
  // before the rollover that made it.
  { name: 'CPU 1 8 ms behind across the rollover to generation 1280', edit: { cpu: 1, aroundUs: 55_455_494, offsetUs: -8_000 } },
  // Generation 1536 (line 134,165, CPU 0, 64.738208): CPUs 1, 2 and 3 wait for the lock while
  // CPU 0 rolls over, then keep their indexes. 6 ms behind, CPU 2's keep (64.742237) is
  // stamped before the rollover.
  { name: 'CPU 2 6 ms behind across the rollover to generation 1536', edit: { cpu: 2, aroundUs: 64_738_208, offsetUs: -6_000 } },
];

const lines = existsSync(capture) ? gunzipSync(readFileSync(capture)).toString('utf8').split('\n').slice(0, linesKept) : [];

test('the capture is present', () => {
  assert.ok(lines.length === linesKept, `${capture} has ${linesKept} lines or more`);
});

for (const { name, edit } of edits) {
  test(`${name}: the replay adopts the order the probes show, with zero divergence`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmid-skew-'));
    const path = join(dir, 'skewed.txt');
    writeFileSync(path, edited(lines, edit));
    const report = await analyze(path);
    assert.equal(report.counts.allEventsAccounted, true);
    assert.deepEqual(report.counts.divergences, {});
    assert.equal(report.verdict, 'ok');
    assert.equal(report.costs.rollovers, 5);
    const skew = report.diagnostics.find((d) => d.code === 'cross-cpu-skew');
    assert.ok(skew !== undefined && skew.samples.some((sample) => sample.detail.includes(`CPU ${edit.cpu}'s line`)), JSON.stringify(skew?.samples));
    assert.equal(report.diagnostics.find((d) => d.code === 'skew-unresolved'), undefined);
    const strict = await analyze(path, ['--skew-bound', '0']);
    assert.ok(Object.keys(strict.counts.divergences).length > 0, 'without the bound the edit diverges');
  });
}
