/** The CLI in-process: exit codes for each verdict and for bad usage, help text, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.js';
import { runCli } from './helpers/cli.js';
import { TraceWriter, vmPointer } from './helpers/traceWriter.js';
import { reportFormats } from '../src/cli/commands/analyze.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-cli-'));
function traceFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const clean = new TraceWriter().header('vmid_bits=8 cpus=2 variant=mainline').vmCreate(vmPointer(1)).load(vmPointer(1), 0, 0, 257).put(0).toString();
const exhausted = new TraceWriter()
  .header('vmid_bits=3 cpus=2 variant=rfc-v2')
  .vmCreate(vmPointer(1))
  .vmCreate(vmPointer(2))
  .vmCreate(vmPointer(3))
  .vmCreate(vmPointer(4))
  .vmCreate(vmPointer(5))
  .pin(vmPointer(1))
  .pin(vmPointer(2))
  .pin(vmPointer(3))
  .pin(vmPointer(4))
  .pin(vmPointer(5))
  .toString();

test('exit 0 for an ok verdict, with the verdict in the text report', async () => {
  const result = await runCli(['analyze', traceFile('clean.trace', clean)]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^verdict: ok$/m);
});

test('exit 1 for findings; --exit-zero keeps the verdict but exits 0', async () => {
  const path = traceFile('exhausted.trace', exhausted);
  const result = await runCli(['analyze', path, '--format', 'json']);
  assert.equal(result.code, 1);
  const report = JSON.parse(result.stdout) as { verdict: string; findings: { checkId: string; line: number }[] };
  assert.equal(report.verdict, 'findings');
  assert.deepEqual(report.findings.map((f) => [f.checkId, f.line]), [['pin-exhausted', 16], ['pin-leaked', 16]]);
  const zero = await runCli(['analyze', path, '--exit-zero']);
  assert.equal(zero.code, 0);
  assert.match(zero.stdout, /^verdict: findings$/m);
});

test('exit 2 for an inconclusive verdict (lost events, nothing conclusive)', async () => {
  const text = `${clean}CPU:1 [LOST 7 EVENTS]\n`;
  const result = await runCli(['analyze', traceFile('lost.trace', text)]);
  assert.equal(result.code, 2);
  assert.match(result.stdout, /^verdict: inconclusive$/m);
  assert.match(result.stdout, /lost-events \(data-loss\)/);
});

test('flags win over the header and a conflict is reported', async () => {
  const result = await runCli(['analyze', traceFile('clean2.trace', clean), '--vmid-bits', '16', '--format', 'json']);
  const report = JSON.parse(result.stdout) as { config: { vmidBits: number; origins: Record<string, string> }; diagnostics: { code: string }[]; findings: { checkId: string }[] };
  assert.equal(report.config.vmidBits, 16);
  assert.equal(report.config.origins['vmidBits'], '--vmid-bits');
  assert.ok(report.diagnostics.some((d) => d.code === 'config-conflict'));
  // The trace recorded 8-bit ids, so the 16-bit model diverges: flags win, and it shows.
  assert.deepEqual(report.findings.map((f) => f.checkId), ['model-divergence']);
});

test('usage errors exit 64 with a message on stderr', async () => {
  for (const argv of [['analyze'], ['analyze', 'x', '--variant', 'rfc-v9'], ['analyze', 'x', '--vmid-bits', '17'], ['frobnicate'], ['analyze', 'x', '--btm', 'maybe']]) {
    const result = await runCli(argv);
    assert.equal(result.code, 64, `${argv.join(' ')}: ${result.code}`);
    assert.ok(result.stderr.length > 0, `${argv.join(' ')} printed nothing on stderr`);
  }
});

test('a missing VMID width is a usage error naming the line that needed it', async () => {
  const text = clean.replace('# vmid-replay: vmid_bits=8 cpus=2 variant=mainline\n', '');
  const path = traceFile('noheader.trace', text);
  const result = await runCli(['analyze', path]);
  assert.equal(result.code, 64);
  assert.match(result.stderr, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1: the VMID width is unknown.*\\[CONFIG_MISSING\\]`));
  const fixed = await runCli(['analyze', path, '--vmid-bits', '8', '--cpus', '2']);
  assert.equal(fixed.code, 0, fixed.stderr);
});

test('a missing file exits 66; --strict turns a malformed line into exit 65 naming file and line', async () => {
  const missing = await runCli(['analyze', join(dir, 'nope.trace')]);
  assert.equal(missing.code, 66);
  assert.match(missing.stderr, /nope\.trace: no such file \[INPUT_NOT_FOUND\]/);
  const path = traceFile('bad.trace', `${clean}this is not an ftrace line\n`);
  const lenient = await runCli(['analyze', path, '--format', 'json']);
  // Counted, not fatal; but 1 unreadable line of 5 event lines + 1 (17 %) is over the 1 % a
  // conclusive verdict allows, so the clean trace is inconclusive rather than ok.
  assert.equal(lenient.code, 2);
  assert.equal((JSON.parse(lenient.stdout) as { diagnostics: { code: string; count: number }[] }).diagnostics.find((d) => d.code === 'malformed-line')?.count, 1);
  const strict = await runCli(['analyze', path, '--strict']);
  assert.equal(strict.code, 65);
  assert.match(strict.stderr, /bad\.trace:6: expected a "\[CPU\]" column/);
});

test('pins under the mainline variant are refused with a pointer to --variant', async () => {
  const result = await runCli(['analyze', traceFile('pins.trace', exhausted), '--variant', 'mainline']);
  assert.equal(result.code, 64);
  assert.match(result.stderr, /--variant rfc-v2 or rfc-v3/);
});

test('--out writes the report in every format named after the trace, each as --format prints it', async () => {
  const path = traceFile('out.trace', clean);
  const result = await runCli(['analyze', path, '--out', 'reports-dir']);
  assert.equal(result.code, 0);
  const formats = Object.entries(reportFormats);
  assert.ok(formats.length >= 5);
  assert.deepEqual([...result.files.keys()].sort(), formats.map(([, format]) => join('reports-dir', `out.trace.${format.suffix}`)).sort());
  assert.equal(result.files.get(join('reports-dir', 'out.trace.txt')), result.stdout);
  for (const [name, format] of formats) {
    assert.equal(result.files.get(join('reports-dir', `out.trace.${format.suffix}`)), (await runCli(['analyze', path, '--format', name])).stdout, name);
  }
});

test('stdin is read with -', async () => {
  const result = await runCli(['replay', '-'], clean);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(lines, [
    { line: 2, op: 'create', vm: vmPointer(1) },
    { line: 4, op: 'load', vm: vmPointer(1), cpu: 0, vmid: 1, gen: 1, flushes: 0, slow: true, vm_id_after: '257' },
    { line: 5, op: 'put', cpu: 0 },
    { summary: { flushes: 0, generation: 1 } },
  ]);
});

test('a gzip-compressed trace is recognised by content', async () => {
  const { gzipSync } = await import('node:zlib');
  const path = join(dir, 'compressed.bin');
  writeFileSync(path, gzipSync(Buffer.from(clean)));
  const result = await runCli(['analyze', path]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^allocator: 1 load \(/m);
  assert.equal(readFileSync(path)[0], 0x1f);
});

test('--version and -V print the version of package.json and exit 0', async () => {
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
  assert.match(version, /^\d+\.\d+\.\d+/);
  for (const flag of ['--version', '-V']) {
    const result = await runCli([flag]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${version}\n`);
  }
  assert.match((await runCli(['--help'])).stdout, /-V, --version/);
});

test('every exit code is documented: analyze --help, the README and docs/trace-format.md', async () => {
  const codes = Object.values(ExitCode);
  assert.ok(codes.includes(3) && codes.length >= 9);
  const help = /Exit status:([\s\S]*?)\n\n/.exec((await runCli(['analyze', '--help'])).stdout)?.[1] ?? '';
  const readme = /Verdicts and exit codes:([\s\S]*?)\n\n/.exec(readFileSync('README.md', 'utf8'))?.[1] ?? '';
  const traceFormat = /### Errors and exit codes([\s\S]*?)\n## /.exec(readFileSync('docs/trace-format.md', 'utf8'))?.[1] ?? '';
  for (const [where, text] of [['analyze --help', help], ['README.md', readme], ['docs/trace-format.md', traceFormat]] as const) {
    for (const code of codes) assert.match(text, new RegExp(`(?<![\\d.])${code}(?![\\d.%])`), `${where} does not list exit code ${code}`);
  }
});

test('--help of each command explains every option with an example', async () => {
  for (const command of ['analyze', 'replay']) {
    const result = await runCli([command, '--help']);
    assert.equal(result.code, 0);
    for (const option of ['--variant', '--vmid-bits', '--cpus', '--btm', '--strict']) assert.ok(result.stdout.includes(option), `${command} --help lacks ${option}`);
    assert.match(result.stdout, /Example/);
  }
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /analyze/);
  assert.match(top.stdout, /replay/);
});
