/**
 * `--btm` and `--smmu-vmid-bits` per SMMU name: a name the trace never shows (a typo, or the
 * SMMU of another host) set nothing, which the report must say: a `smmu-not-in-trace` warning
 * diagnostic. It is a diagnostic, not a finding: the verdict is what it would be without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { TraceWriter } from '../helpers/traceWriter.js';
import { unwrapped } from '../helpers/textReport.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-smmu-flags-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

interface Diagnostic {
  readonly code: string;
  readonly severity: string;
  readonly count: number;
  readonly samples: readonly { readonly line: number; readonly detail: string }[];
}
interface JsonReport {
  readonly verdict: string;
  readonly findings: readonly unknown[];
  readonly diagnostics: readonly Diagnostic[];
}

async function analyze(path: string, flags: readonly string[]): Promise<{ code: number; report: JsonReport }> {
  const result = await runCli(['analyze', path, '--format', 'json', ...flags]);
  assert.ok(result.stdout.length > 0, result.stderr);
  return { code: result.code, report: JSON.parse(result.stdout) as JsonReport };
}

const unseen = (report: JsonReport) => report.diagnostics.find((diagnostic) => diagnostic.code === 'smmu-not-in-trace');

/** smmu0 in events only, smmu1 in a header fact only. */
const writer = new TraceWriter().header('vmid_bits=16 cpus=4').header('smmu=smmu1 vmid_bits=16').smmuVmid('alloc', 'smmu0', 3).ste('smmu0', 1, 's2', 3);
const lastLine = writer.lineCount();
const trace = join(dir, 'smmu0.trace');
writeFileSync(trace, writer.toString());

test('an SMMU named by --btm or --smmu-vmid-bits that the trace never shows: a warning at the end of the trace', async () => {
  const plain = await analyze(trace, []);
  assert.equal(unseen(plain.report), undefined);
  const { code, report } = await analyze(trace, ['--btm', 'smmu0=on,smmu7=on', '--smmu-vmid-bits', 'smmu9=8']);
  const warning = unseen(report);
  assert.equal(warning?.severity, 'warning');
  assert.equal(warning?.count, 2);
  assert.deepEqual(warning?.samples, [
    { file: trace, line: lastLine, detail: '--btm names SMMU smmu7, which the trace never shows (its SMMUs: smmu0, smmu1)' },
    { file: trace, line: lastLine, detail: '--smmu-vmid-bits names SMMU smmu9, which the trace never shows (its SMMUs: smmu0, smmu1)' },
  ]);
  // A warning diagnostic: the verdict and exit code are those of the run without the flags.
  assert.equal(report.verdict, plain.report.verdict);
  assert.equal(code, plain.code);
  assert.deepEqual(report.findings, plain.report.findings);
});

test('no warning for an SMMU the trace shows, in an event or a header fact, nor for a value given for every SMMU', async () => {
  for (const flags of [['--btm', 'smmu0=on'], ['--btm', 'smmu1=on'], ['--smmu-vmid-bits', 'smmu0=16,smmu1=8'], ['--btm', 'on'], ['--smmu-vmid-bits', '8']]) {
    assert.equal(unseen((await analyze(trace, flags)).report), undefined, flags.join(' '));
  }
});

test('a trace with findings keeps its verdict and findings when a flag names an absent SMMU', async () => {
  const hazards = 'traces/mixed-hazards.trace';
  const plain = await analyze(hazards, []);
  assert.equal(plain.report.verdict, 'findings');
  const named = await analyze(hazards, ['--btm', 'smmu3=off']);
  assert.equal(unseen(named.report)?.count, 1);
  assert.equal(named.code, plain.code);
  assert.deepEqual(named.report.findings, plain.report.findings);
  assert.match(unwrapped((await runCli(['analyze', hazards, '--btm', 'smmu3=off'])).stdout), /^ +1 {2}smmu-not-in-trace \(warning\), first at traces\/mixed-hazards\.trace:\d+: --btm names SMMU smmu3, which the trace never shows \(its SMMUs: smmu0\)$/m);
});
