/**
 * Malformed lines are counted in the report's sums, and above 1 % of the lines that should be
 * events (docs/trace-format.md, "Broken and out-of-order input") they make the verdict
 * inconclusive: findings from the first of them on are no longer asserted, as after lost
 * events. `--strict` still stops at the first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';
import { unwrapped } from '../helpers/textReport.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-unreadable-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const garbage = 'this is not an ftrace line';

/** 25 VMs, each created, loaded (entry and return) and put: 100 event lines, no finding. */
function hundredEventLines(): TraceWriter {
  const writer = new TraceWriter().header('vmid_bits=8 cpus=2 variant=mainline');
  for (let n = 1; n <= 25; n++) writer.vmCreate(vmPointer(n)).load(vmPointer(n), 0).put(0);
  return writer;
}

interface JsonCounts {
  readonly verdict: string;
  readonly counts: { readonly records: Record<string, number>; readonly malformedLines: number; readonly malformedEvents: number; readonly allEventsAccounted: boolean };
  readonly unreadableFrom: { readonly line: number } | null;
  readonly diagnostics: readonly { readonly code: string; readonly count: number; readonly samples: readonly { readonly line: number; readonly detail: string }[] }[];
  readonly findings: readonly { readonly checkId: string; readonly line: number; readonly inconclusive: boolean }[];
}

async function analyzeBoth(path: string): Promise<{ code: number; text: string; json: JsonCounts }> {
  const text = await runCli(['analyze', path]);
  const json = await runCli(['analyze', path, '--format', 'json']);
  assert.equal(json.code, text.code);
  return { code: text.code, text: unwrapped(text.stdout), json: JSON.parse(json.stdout) as JsonCounts };
}

test('1 malformed line in 101 (0.99 %) is counted in the events line and leaves an ok verdict ok', async () => {
  const writer = hundredEventLines();
  const path = file('one-in-101.trace', `${writer.toString()}${garbage}\n`);
  const { code, text, json } = await analyzeBoth(path);
  assert.equal(code, ExitCode.ok);
  assert.equal(json.verdict, 'ok');
  // 25 creates + 50 update lines + 25 puts are used; the one malformed line stands beside them.
  assert.match(text, /^events: 100 event lines \+ 1 malformed line: 100 used, 0 unused, 0 unrecognised probes, 1 malformed; all accounted: yes$/m);
  assert.equal(json.counts.malformedLines, 1);
  assert.equal(json.unreadableFrom, null);
  assert.equal(json.diagnostics.find((d) => d.code === 'unreadable-lines'), undefined);
});

test('2 unreadable lines in 102 (1.96 %), a malformed line and a malformed event: inconclusive from the first, exit 2', async () => {
  const writer = hundredEventLines();
  writer.raw(garbage);
  const malformedLine = writer.lineCount();
  // A vm_create whose pointer cannot be read: an event line, but a malformed one.
  writer.event('vm_create', '(kvm_init_stage2_mmu+0x0/0x1a0) mmu=nonsense', { cpu: 0 });
  const path = file('two-in-101.trace', writer.toString());
  const { code, text, json } = await analyzeBoth(path);
  assert.equal(code, ExitCode.inconclusive);
  assert.equal(json.verdict, 'inconclusive');
  assert.match(text, /^events: 101 event lines \+ 1 malformed line: 100 used, 0 unused, 0 unrecognised probes, 2 malformed; all accounted: yes$/m);
  assert.deepEqual([json.counts.malformedLines, json.counts.malformedEvents, json.counts.allEventsAccounted], [1, 1, true]);
  assert.deepEqual(json.unreadableFrom, { file: path, line: malformedLine });
  const diagnostic = json.diagnostics.find((d) => d.code === 'unreadable-lines');
  assert.deepEqual(
    { count: diagnostic?.count, line: diagnostic?.samples[0]?.line, detail: diagnostic?.samples[0]?.detail },
    { count: 2, line: malformedLine, detail: '2 of 102 lines (2 %) could not be read, more than 1 %: findings from here on are inconclusive' },
  );
  assert.match(text, new RegExp(`^unreadable lines from ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${malformedLine}: more than 1 % of the lines could not be read, findings from there on are inconclusive$`, 'm'));
  // --strict is unchanged: the first malformed line stops the run.
  const strict = await runCli(['analyze', path, '--strict']);
  assert.equal(strict.code, ExitCode.badInput);
  assert.match(strict.stderr, new RegExp(`:${malformedLine}: expected a "\\[CPU\\]" column`));
});

test('above the share, findings before the first unreadable line stay conclusive and later ones are not asserted', async () => {
  // 3-bit VMIDs, 2 CPUs: max_pinned_vmids = 2^3 - 2 - 2 = 4, so the 5th and the 6th pin are refused.
  const writer = new TraceWriter().header('vmid_bits=3 cpus=2 variant=rfc-v2');
  for (let n = 1; n <= 6; n++) writer.vmCreate(vmPointer(n));
  for (let n = 1; n <= 5; n++) writer.pin(vmPointer(n));
  const firstRefusal = writer.lineCount();
  writer.raw(garbage).raw(garbage);
  const unreadable = writer.lineCount() - 1;
  writer.pin(vmPointer(6));
  const secondRefusal = writer.lineCount();
  const { code, json } = await analyzeBoth(file('pins.trace', writer.toString()));
  // 2 malformed lines of 18 event lines + 2: 10 %, over the share.
  assert.equal(json.unreadableFrom?.line, unreadable);
  const exhausted = json.findings.filter((finding) => finding.checkId === 'pin-exhausted');
  assert.deepEqual(exhausted.map((finding) => [finding.line, finding.inconclusive]), [
    [firstRefusal, false],
    [secondRefusal, true],
  ]);
  assert.equal(json.verdict, 'findings');
  assert.equal(code, ExitCode.findings);
});
