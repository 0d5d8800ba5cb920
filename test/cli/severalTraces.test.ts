/**
 * `analyze a b c`: a trace that fails costs the others nothing. Each trace gets its report or
 * its error, on worker threads and on the main thread alike; the summary lists both, worst
 * first; the exit code is the worst outcome's (an error, then findings, inconclusive, ok).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runCli } from '../helpers/cli.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-several-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function traceFile(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const cleanText = new TraceWriter().header('vmid_bits=8 cpus=2 variant=mainline').vmCreate(vmPointer(1)).load(vmPointer(1), 0, 0, 257).put(0).toString();
const clean = traceFile('clean.trace', cleanText);
/** Five VMs pin with 3-bit VMIDs on 2 CPUs: max_pinned_vmids = 2^3 - 2 - 2 = 4, so the fifth pin fails (a finding). */
const exhaustedWriter = new TraceWriter().header('vmid_bits=3 cpus=2 variant=rfc-v2');
for (const n of [1, 2, 3, 4, 5]) exhaustedWriter.vmCreate(vmPointer(n));
for (const n of [1, 2, 3, 4, 5]) exhaustedWriter.pin(vmPointer(n));
const exhausted = traceFile('exhausted.trace', exhaustedWriter.toString());
/** Events lost and nothing conclusive found: inconclusive. */
const lost = traceFile('lost.trace', `${cleanText}CPU:1 [LOST 7 EVENTS]\n`);
const missing = join(dir, 'missing.trace');
/** No header and no flags: the replay stops at the first allocator event (CONFIG_MISSING, exit 64). */
const noHeader = traceFile('noheader.trace', cleanText.replace(/^# vmid-replay: .*\n/, ''));
/** A gzip stream cut short: INPUT_CORRUPT, exit 65. */
const cut = traceFile('cut.trace.gz', gzipSync(Buffer.from(cleanText.repeat(50))).subarray(0, 200));

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('a missing, an unconfigured and a truncated trace: the others still get their reports, on threads and without', async () => {
  const argv = ['analyze', clean, missing, noHeader, cut, exhausted];
  const threads = await runCli([...argv, '--jobs', '2']);
  const oneByOne = await runCli([...argv, '--jobs', '1']);
  for (const result of [threads, oneByOne]) {
    // Three traces failed; the first of them in argument order (the missing file) gives the exit code.
    assert.equal(result.code, 66, result.stderr);
    assert.match(result.stdout, new RegExp(`^vmid-replay: ${escape(clean)}\nverdict: ok$`, 'm'));
    assert.match(result.stdout, new RegExp(`^vmid-replay: ${escape(exhausted)}\nverdict: findings$`, 'm'));
    assert.ok(result.stdout.indexOf(`vmid-replay: ${clean}`) < result.stdout.indexOf(`vmid-replay: ${exhausted}`), 'reports in argument order');
    const errors = result.stderr.split('\n').filter((line) => line.length > 0);
    assert.equal(errors.length, 3, result.stderr);
    assert.equal(errors[0], `vmid-replay: ${missing}: no such file [INPUT_NOT_FOUND]`);
    assert.match(errors[1] ?? '', new RegExp(`^vmid-replay: ${escape(noHeader)}:\\d+: the VMID width is unknown.*\\[CONFIG_MISSING\\]$`));
    assert.match(errors[2] ?? '', new RegExp(`^vmid-replay: ${escape(cut)}: gzip stream is corrupt or truncated.*\\[INPUT_CORRUPT\\]$`));
    const summary = result.stdout.slice(result.stdout.indexOf('summary:')).split('\n');
    assert.equal(summary[0], 'summary: 5 traces, 3 failed');
    // Worst first: the errors in argument order, then findings, then ok.
    assert.equal(summary[1], `  error        ${missing}  (${missing}: no such file [INPUT_NOT_FOUND])`);
    assert.match(summary[2] ?? '', new RegExp(`^ {2}error {8}${escape(noHeader)} {2}\\(${escape(noHeader)}:\\d+: the VMID width is unknown.*\\[CONFIG_MISSING\\]\\)$`));
    assert.match(summary[3] ?? '', new RegExp(`^ {2}error {8}${escape(cut)} {2}\\(.*\\[INPUT_CORRUPT\\]\\)$`));
    assert.match(summary[4] ?? '', new RegExp(`^ {2}findings {5}${escape(exhausted)} {2}\\([1-9]\\d* findings\\)$`));
    assert.equal(summary[5], `  ok           ${clean}  (0 findings)`);
  }
  assert.deepEqual(threads, oneByOne, 'worker threads and the main thread give the same outcome');
});

test('as JSON: the reports of the traces that ran, and a summary naming every failure with its code and message', async () => {
  for (const jobs of ['1', '2']) {
    const result = await runCli(['analyze', clean, missing, '--format', 'json', '--jobs', jobs]);
    assert.equal(result.code, 66);
    const document = JSON.parse(result.stdout) as { reports: { file: string; verdict: string }[]; summary: unknown[] };
    assert.deepEqual(document.reports.map((report) => [report.file, report.verdict]), [[clean, 'ok']]);
    assert.deepEqual(document.summary, [
      { file: clean, verdict: 'ok' },
      { file: missing, error: { code: 'INPUT_NOT_FOUND', message: `${missing}: no such file`, exitCode: 66 } },
    ]);
  }
});

test('every trace failing: the summary alone on stdout, each error on stderr', async () => {
  const other = join(dir, 'also-missing.trace');
  const result = await runCli(['analyze', missing, other, '--jobs', '1']);
  assert.equal(result.code, 66);
  assert.equal(result.stdout, `summary: 2 traces, 2 failed\n  error        ${missing}  (${missing}: no such file [INPUT_NOT_FOUND])\n  error        ${other}  (${other}: no such file [INPUT_NOT_FOUND])\n`);
  assert.equal(result.stderr, `vmid-replay: ${missing}: no such file [INPUT_NOT_FOUND]\nvmid-replay: ${other}: no such file [INPUT_NOT_FOUND]\n`);
});

test('a finding in one trace outranks an inconclusive other, in the exit code as in the summary', async () => {
  for (const argv of [
    [lost, exhausted],
    [exhausted, lost],
  ]) {
    const result = await runCli(['analyze', ...argv, '--jobs', '1']);
    // One trace proves a problem (1); the other only could not tell (2): the proven problem is the worse news.
    assert.equal(result.code, 1, argv.join(' '));
    assert.match(result.stdout, new RegExp(`summary: 2 traces\n {2}findings {5}${escape(exhausted)} .*\n {2}inconclusive {1}${escape(lost)} `));
  }
  assert.equal((await runCli(['analyze', clean, lost])).code, 2);
});

test('--exit-zero spares verdicts, never an error', async () => {
  assert.equal((await runCli(['analyze', clean, exhausted, '--exit-zero'])).code, 0);
  const failed = await runCli(['analyze', exhausted, missing, '--exit-zero']);
  assert.equal(failed.code, 66);
  assert.match(failed.stdout, /^verdict: findings$/m);
});
