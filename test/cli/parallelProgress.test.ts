/** Several traces in worker threads with a combined summary; the progress line on a terminal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { formatProgress } from '../../src/cli/progress.js';

const clean = 'traces/device-assignment-clean.trace';
const hazards = 'traces/mixed-hazards.trace';

test('formatProgress shows bytes, share, rate and ETA exactly', () => {
  assert.equal(formatProgress('big.trace', 256 << 20, 1024 << 20, 3_000_000, 1000), 'big.trace: 256.0 MiB of 1024.0 MiB (25%), 3.0 M events/s, ETA 0:03');
  assert.equal(formatProgress('-', 1 << 20, undefined, 500_000, 2000), '-: 1.0 MiB, 0.3 M events/s');
  assert.equal(formatProgress('x', 0, 100, 0, 0), 'x: 0.0 MiB of 0.0 MiB (0%), 0.0 M events/s');
});

test('several traces: each report in argument order, a summary, the worst verdict as exit code', async () => {
  const result = await runCli(['analyze', clean, hazards, '--jobs', '2']);
  assert.equal(result.code, 1, result.stderr);
  const first = result.stdout.indexOf(`vmid-replay: ${clean}`);
  const second = result.stdout.indexOf(`vmid-replay: ${hazards}`);
  assert.ok(first >= 0 && second > first, 'reports in argument order');
  assert.match(result.stdout, /summary: 2 traces\n {2}findings {5}traces\/mixed-hazards\.trace {2}\(\d+ findings\)\n {2}ok {11}traces\/device-assignment-clean\.trace {2}\(0 findings\)\n$/);
  const sequential = await runCli(['analyze', clean, hazards, '--jobs', '1']);
  assert.equal(sequential.stdout, result.stdout, 'worker threads and the main thread give the same bytes');
});

test('several traces as JSON: one document with the reports and the summary', async () => {
  const result = await runCli(['analyze', hazards, clean, '--format', 'json']);
  const document = JSON.parse(result.stdout) as { reports: { file: string; verdict: string }[]; summary: { file: string; verdict: string }[] };
  assert.deepEqual(
    document.reports.map((report) => [report.file, report.verdict]),
    [
      [hazards, 'findings'],
      [clean, 'ok'],
    ],
  );
  assert.deepEqual(document.summary, [
    { file: hazards, verdict: 'findings' },
    { file: clean, verdict: 'ok' },
  ]);
});

test('an error in a worker keeps its own code and message', async () => {
  const result = await runCli(['analyze', clean, 'traces/no-such.trace', '--jobs', '2']);
  assert.equal(result.code, 66);
  assert.match(result.stderr, /traces\/no-such\.trace: no such file \[INPUT_NOT_FOUND\]/);
});

test('progress is drawn on a terminal only, and never with --quiet', async () => {
  const tty = await runCli(['analyze', hazards], '', { stderrIsTty: true, tickMs: 300, fileSize: 23_403 });
  const clearLine = '\r\u001b[K';
  assert.ok(tty.stderr.startsWith(`${clearLine}traces/mixed-hazards.trace: 0.0 MiB of 0.0 MiB (`), JSON.stringify(tty.stderr.slice(0, 80)));
  assert.match(tty.stderr, /traces\/mixed-hazards\.trace: 0\.0 MiB of 0\.0 MiB \(\d+%\), \d+\.\d M events\/s/);
  assert.ok(tty.stderr.endsWith(clearLine), 'the line is cleared before the report');
  const quiet = await runCli(['analyze', hazards, '--quiet'], '', { stderrIsTty: true, tickMs: 300 });
  assert.equal(quiet.stderr, '');
  const pipe = await runCli(['analyze', hazards], '', { stderrIsTty: false, tickMs: 300 });
  assert.equal(pipe.stderr, '');
  assert.equal(tty.stdout, pipe.stdout, 'progress never touches the report');
});
