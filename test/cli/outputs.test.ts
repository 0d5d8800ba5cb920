/**
 * What commands write: `analyze --out` names each input's reports uniquely, an output that
 * cannot be written is a coded error naming it (exit 73, never an internal error with a stack),
 * and no command writes over its own input or reads stdin twice.
 *
 * The tests run as root, for whom permission bits make no folder unwritable, so they fail
 * writes in ways that hold for root too: a path under a regular file (ENOTDIR), /proc (no
 * file can be created there) and /dev/full (every write fails with ENOSPC, a full disk).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { reportFormats } from '../../src/cli/commands/analyze.js';
import { reportNames } from '../../src/cli/reportNames.js';
import { runCli } from '../helpers/cli.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-outputs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function file(path: string, content: string | Buffer): string {
  const full = join(dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
  return full;
}

const clean = new TraceWriter().header('vmid_bits=8 cpus=2 variant=mainline').vmCreate(vmPointer(1)).load(vmPointer(1), 0, 0, 257).put(0).toString();
/** Another clean trace, told apart from `clean` by its CPU count in the report. */
const clean4 = clean.replace('cpus=2', 'cpus=4');
const regularFile = file('a-regular-file', 'not a folder');

test('--out: inputs sharing a file name get reports named after the folders that differ, each its own', async () => {
  const host1 = file('host1/trace.txt', clean);
  const host2 = file('host2/trace.txt', clean4);
  const unique = file('host2/other.trace', clean);
  const result = await runCli(['analyze', host1, host2, unique, '--out', 'reports', '--jobs', '1']);
  assert.equal(result.code, 0, result.stderr);
  // Every format of each trace (README, "--out"): text, mail, Markdown, CSV and JSON, and any format added to the table.
  const suffixes = Object.values(reportFormats).map((format) => format.suffix);
  assert.deepEqual(['txt', 'mail.txt', 'md', 'csv', 'json'].filter((suffix) => !suffixes.includes(suffix)), []);
  const stems = ['host1_trace.txt', 'host2_trace.txt', 'other.trace'];
  assert.deepEqual([...result.files.keys()].sort(), stems.flatMap((stem) => suffixes.map((suffix) => join('reports', `${stem}.${suffix}`))).sort());
  assert.match(result.files.get(join('reports', 'host1_trace.txt.txt')) ?? '', new RegExp(`^vmid-replay: ${host1.replaceAll('.', '\\.')}\n.*\nconfig: mainline allocator, 8-bit VMIDs, 2 CPUs`));
  assert.match(result.files.get(join('reports', 'host2_trace.txt.txt')) ?? '', new RegExp(`^vmid-replay: ${host2.replaceAll('.', '\\.')}\n.*\nconfig: mainline allocator, 8-bit VMIDs, 4 CPUs`));
});

test('report names: unique names unchanged, shared ones by folder, else by position; a clash left is refused', () => {
  assert.deepEqual(reportNames(['traces/a.trace', 'b.trace.gz', '-']), ['a.trace', 'b.trace', 'stdin']);
  // `a` is the folder both share: the one above it tells them apart.
  assert.deepEqual(reportNames(['/x/a/trace.txt', '/y/a/trace.txt', '/y/a/other.txt']), ['x_a_trace.txt', 'y_a_trace.txt', 'other.txt']);
  // Same folder (a file given twice, or beside its gzip form): positions among the inputs, from 1.
  assert.deepEqual(reportNames(['/x/trace.txt', '/y/z.trace', '/x/trace.txt.gz']), ['1_trace.txt', 'z.trace', '3_trace.txt']);
  assert.deepEqual(reportNames(['/x/t', '/x/./t']), ['1_t', '2_t']);
  // Disambiguated names must not take another input's plain name.
  assert.throws(
    () => reportNames(['/d/a/trace.txt', '/d/b/trace.txt', '/d/a_trace.txt']),
    (error: Error & { code?: string }) => error.code === 'USAGE' && /"\/d\/a\/trace\.txt" and "\/d\/a_trace\.txt" would both be named "a_trace\.txt"/.test(error.message),
  );
});

test('--out: a failed trace gets files saying so, not a stale report of an earlier run', async () => {
  const out = join(dir, 'stale');
  const trace = file('stale-input/x.trace', clean);
  assert.equal((await runCli(['analyze', trace, '--out', out], '', { disk: true })).code, 0);
  assert.match(readFileSync(join(out, 'x.trace.txt'), 'utf8'), /^verdict: ok$/m);
  writeFileSync(trace, gzipSync(Buffer.from(clean)).subarray(0, 20));
  const failed = await runCli(['analyze', trace, '--out', out], '', { disk: true });
  assert.equal(failed.code, 65);
  const text = readFileSync(join(out, 'x.trace.txt'), 'utf8');
  assert.doesNotMatch(text, /verdict/);
  // The message, wrapped as the text report's prose is.
  const message = failed.stderr.replace(/^vmid-replay: (.*) \[INPUT_CORRUPT\]\n$/, '$1');
  assert.match(text, /^vmid-replay: .*x\.trace\nerror: /);
  assert.equal(text.replace(/^vmid-replay: .*\nerror: /, '').replace(/\n {2}/g, ' '), `${message} [INPUT_CORRUPT]\n`);
  assert.equal(readFileSync(join(out, 'x.trace.mail.txt'), 'utf8'), text);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'x.trace.json'), 'utf8')), { schemaVersion: 1, tool: 'vmid-replay', file: trace, error: { code: 'INPUT_CORRUPT', message, exitCode: 65 } });
  assert.equal(readFileSync(join(out, 'x.trace.md'), 'utf8'), `# vmid-replay: \`${trace}\`\n\n**Error:** ${message} \`INPUT_CORRUPT\`\n`);
  assert.equal(readFileSync(join(out, 'x.trace.csv'), 'utf8'), `file,error,code\n${trace},${message.includes(',') ? `"${message}"` : message},INPUT_CORRUPT\n`);
});

test('an --out folder that cannot be made: exit 73 naming it, before any trace is read', async () => {
  const trace = file('fine.trace', clean);
  for (const [out, reason] of [
    [join(regularFile, 'reports'), 'ENOTDIR'],
    ['/proc/vmid-replay-reports', undefined],
  ] as const) {
    const result = await runCli(['analyze', trace, '--out', out], '', { disk: true });
    assert.equal(result.code, 73, result.stderr);
    assert.match(result.stderr, new RegExp(`^vmid-replay: ${out.replaceAll('.', '\\.')}: cannot write the output \\(${reason ?? '[A-Z]+'}\\) \\[OUTPUT_UNWRITABLE\\]\n$`));
    assert.equal(result.stdout, '', 'checked before the analysis');
  }
});

test('capture-script -o, generate -o and convert -o that cannot be written: exit 73 naming the file', async () => {
  const trace = file('source.trace', clean);
  for (const [argv, path, reason] of [
    // /dev/full takes the file's creation and fails every write: a full disk.
    [['capture-script', '-o', '/dev/full'], '/dev/full', 'ENOSPC'],
    [['capture-script', '-o', join(regularFile, 'capture.sh')], join(regularFile, 'capture.sh'), 'ENOTDIR'],
    [['generate', '--vms', '3', '-o', join(regularFile, 'x.trace')], join(regularFile, 'x.trace'), 'ENOTDIR'],
    [['generate', '--vms', '3', '-o', '/dev/full'], '/dev/full', 'ENOSPC'],
    // The sidecar fails while the trace is written: the error names the sidecar, not the trace.
    [['generate', '--vms', '3', '-o', join(dir, 'fine-generated.trace'), '--sidecar', join(regularFile, 'x.json')], join(regularFile, 'x.json'), 'ENOTDIR'],
    [['generate', '--vms', '3', '-o', join(dir, 'fine-generated.trace'), '--sidecar', '/dev/full'], '/dev/full', 'ENOSPC'],
    [['convert', trace, '-o', join(regularFile, 'x.msgpack')], join(regularFile, 'x.msgpack'), 'ENOTDIR'],
    [['convert', trace, '-o', '/dev/full', '--to', 'ftrace'], '/dev/full', 'ENOSPC'],
  ] as const) {
    const result = await runCli(argv, '', { disk: true });
    assert.equal(result.code, 73, `${argv.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr, `vmid-replay: ${path}: cannot write the output (${reason}) [OUTPUT_UNWRITABLE]\n`, argv.join(' '));
  }
});

test('convert refuses to write over its input, by name, through a symbolic link or a hard link', async () => {
  const input = file('self/input.trace', clean);
  symlinkSync(input, join(dir, 'self', 'symlink.trace'));
  linkSync(input, join(dir, 'self', 'hardlink.trace'));
  const same = [
    [input, input],
    [input, join(dir, 'self', '.', 'input.trace')],
    [input, join(dir, 'self', 'symlink.trace')],
    [join(dir, 'self', 'symlink.trace'), input],
    [input, join(dir, 'self', 'hardlink.trace')],
  ];
  for (const [from, to] of same) {
    const result = await runCli(['convert', from as string, '-o', to as string, '--to', 'ftrace'], '', { disk: true });
    assert.equal(result.code, 64, `${from} -> ${to}: ${result.stderr}`);
    assert.match(result.stderr, /refusing to write: this output is the input .* \(the same file\).*\[USAGE\]\n$/);
    assert.equal(readFileSync(input, 'utf8'), clean, `${from} -> ${to}: the input is intact`);
  }
  const copy = await runCli(['convert', input, '-o', join(dir, 'self', 'copy.trace')], '', { disk: true });
  assert.equal(copy.code, 0, copy.stderr);
  assert.equal(readFileSync(join(dir, 'self', 'copy.trace'), 'utf8'), clean);
});

test('analyze --out refuses a report name that is one of the inputs', async () => {
  const folder = join(dir, 'clash');
  const bare = file('clash/x', clean);
  const report = file('clash/x.txt', clean4);
  const result = await runCli(['analyze', bare, report, '--out', folder], '', { disk: true });
  assert.equal(result.code, 64);
  assert.match(result.stderr, /clash\/x\.txt: refusing to write: this output is the input .*clash\/x\.txt/);
  assert.equal(readFileSync(report, 'utf8'), clean4);
  assert.ok(!existsSync(join(folder, 'x.json')), 'nothing written');
});

test('analyze - - is refused: stdin can be read once', async () => {
  const result = await runCli(['analyze', '-', '-'], clean);
  assert.equal(result.code, 64);
  assert.equal(result.stderr, 'vmid-replay: stdin (-) can be read only once: give - once among the traces [USAGE]\n');
  assert.equal(result.stdout, '');
  assert.equal((await runCli(['analyze', '-'], clean)).code, 0);
});
