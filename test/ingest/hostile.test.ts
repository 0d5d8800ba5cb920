/**
 * Hostile and broken ftrace text: each case ends either in a VmidReplayError with its code,
 * position and exit code, or in a completed run whose diagnostics count what was skipped and
 * why. Never a crash, a hang, or unbounded memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ExitCode, VmidReplayError } from '../../src/errors.js';
import { replayBytes } from '../../src/replay/analyze.js';
import { buildReport, type Report } from '../../src/report/report.js';
import type { ReplayOptions } from '../../src/replay/replayTypes.js';
import { runCli } from '../helpers/cli.js';
import { inChunks, readAllRecords } from './chunks.js';
import { toTraceCmdReport } from '../helpers/traceCmdReport.js';
import { pseudoRandomBytes } from '../helpers/randomBytes.js';

const tracePath = resolve(process.cwd(), 'traces', 'mixed-hazards.trace');
const traceBytes = readFileSync(tracePath);
const header = '# vmid-replay: vmid_bits=4 cpus=4 variant=rfc-v2\n';
const vmCreate = (ts: string, pointer: string) => `  qemu-4711 [000] d..1.     ${ts}: vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=${pointer}\n`;

async function run(bytes: Uint8Array, options: ReplayOptions = {}, chunk?: number): Promise<Report> {
  const source = chunk === undefined ? (async function* () {
    await Promise.resolve();
    yield bytes;
  })() : inChunks(bytes, chunk);
  return buildReport('in.trace', await replayBytes(source, 'in.trace', options));
}

function diagnostic(report: Report, code: string): { count: number; lines: number[]; details: string[] } {
  const found = report.diagnostics.find((d) => d.code === code);
  return { count: found?.count ?? 0, lines: found?.samples.map((s) => s.line) ?? [], details: found?.samples.map((s) => s.detail) ?? [] };
}

const findingKeys = (report: Report) => report.findings.map((f) => `${f.checkId}@${f.line}${f.inconclusive ? '?' : ''} ${f.message}`);

const baseline = await run(traceBytes);

test('random bytes: the run completes, every line is counted, the ones not ftrace are malformed-line', async () => {
  const bytes = pseudoRandomBytes(256 * 1024, 0x9e3779b9);
  // Not gzip by chance: this case is about text.
  assert.ok(!(bytes[0] === 0x1f && bytes[1] === 0x8b));
  const records = await readAllRecords(inChunks(bytes, 4096), { file: 'in.trace', format: 'ftrace' });
  const lines = bytes.reduce((n, byte) => n + (byte === 0x0a ? 1 : 0), 0) + (bytes.at(-1) === 0x0a ? 0 : 1);
  assert.equal(records.length, lines);
  const malformed = records.filter((r) => r.type === 'malformed').length;
  assert.ok(malformed > 0.9 * lines, `${malformed} of ${lines}`);
  const report = await run(bytes, { inputFormat: 'ftrace' });
  assert.equal(diagnostic(report, 'malformed-line').count, malformed);
  assert.equal(Object.values(report.counts.records).reduce((a, b) => a + b, 0), lines);
  assert.equal(report.findings.length, 0);
});

test('random bytes with --strict: MALFORMED_LINE naming file and line, exit 65', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-hostile-'));
  try {
    const file = join(dir, 'random.trace');
    writeFileSync(file, Buffer.concat([Buffer.from('# tracer: nop\n'), pseudoRandomBytes(4096, 7)]));
    const result = await runCli(['analyze', file, '--strict', '--input-format', 'ftrace']);
    assert.equal(result.code, ExitCode.badInput);
    assert.match(result.stderr, new RegExp(`^vmid-replay: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: expected .*\\[MALFORMED_LINE\\]\\n$`, 's'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A run on hostile bytes ends with a verdict or a VmidReplayError with a failure exit code. */
async function completesOrRaisesDocumentedError(bytes: Uint8Array, options: ReplayOptions): Promise<void> {
  try {
    const report = await run(bytes, options);
    assert.ok(['ok', 'findings', 'inconclusive'].includes(report.verdict));
  } catch (error) {
    if (!(error instanceof VmidReplayError)) throw error;
    assert.ok(error.exitCode >= ExitCode.usage, `${error.code} exits ${error.exitCode}`);
  }
}

test('property: arbitrary bytes through the ftrace importer complete or raise only VmidReplayError', async () => {
  const byteArb = fc.oneof(
    fc.uint8Array({ maxLength: 2000 }),
    // Mostly trace-shaped: pieces of real lines glued with random bytes, so decoding is reached.
    fc.array(fc.oneof(fc.constantFrom(...traceBytes.toString('latin1').split('\n').slice(0, 60)), fc.string(), fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('latin1'))), { maxLength: 40 }).map((parts) => Buffer.from(parts.join('\n'), 'latin1')),
  );
  await fc.assert(
    fc.asyncProperty(byteArb, fc.constantFrom<ReplayOptions>({}, { inputFormat: 'ftrace' }, { inputFormat: 'ftrace', vmidBits: 4, cpus: 4, variant: 'rfc-v2' }, { strict: true }), async (bytes, options) => {
      await completesOrRaisesDocumentedError(bytes, options);
    }),
    { numRuns: 300 },
  );
});

test('property: arbitrary chunking of arbitrary bytes gives identical records', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.concat([traceBytes.subarray(0, 400), Buffer.from(b), Buffer.from('\r\n\u0000\r')])),
      fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 10 }),
      async (bytes, sizes) => {
        const whole = await readAllRecords(inChunks(bytes, bytes.length), { file: 'f', format: 'ftrace' });
        const chunked = await readAllRecords(inChunks(bytes, sizes), { file: 'f', format: 'ftrace' });
        assert.ok(whole.length > 0);
        assert.deepEqual(chunked, whole);
      },
    ),
    { numRuns: 200 },
  );
});

test('a 100 MiB line without a newline: one malformed-line, memory bounded (child with a 48 MB heap)', () => {
  const readTrace = pathToFileURL(resolve(process.cwd(), 'dist', 'src', 'replay', 'analyze.js')).href;
  const script = `
    import { replayBytes } from ${JSON.stringify(readTrace)};
    const mib = Buffer.alloc(1 << 20, 0x61);
    async function* source() {
      yield Buffer.from(${JSON.stringify(header + vmCreate('1.000001', '0xffff000010001000'))});
      for (let i = 0; i < 100; i++) yield mib;
    }
    const result = await replayBytes(source(), 'long.trace', {});
    const d = result.diagnostics.list().map((x) => ({ code: x.code, count: x.count, lines: x.samples.map((s) => s.line), details: x.samples.map((s) => s.detail) }));
    process.stdout.write(JSON.stringify({ d, records: result.stats.records, maxRssKiB: process.resourceUsage().maxRSS }));
  `;
  const out = execFileSync(process.execPath, ['--max-old-space-size=48', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  const result = JSON.parse(out) as { d: { code: string; count: number; lines: number[]; details: string[] }[]; records: Record<string, number>; maxRssKiB: number };
  // The cut line is 1 of the 2 lines that should be events: far over the 1 % a conclusive verdict allows.
  assert.deepEqual(result.d, [
    { code: 'malformed-line', count: 1, lines: [3], details: ['expected a line of at most 1048576 bytes'] },
    { code: 'unreadable-lines', count: 1, lines: [3], details: ['1 of 2 lines (50 %) could not be read, more than 1 %: findings from here on are inconclusive'] },
  ]);
  assert.deepEqual([result.records['header'], result.records['event'], result.records['malformed']], [1, 1, 1]);
  // The 100 MiB never sit in memory at once (the heap limit alone would not show a buffer held off-heap).
  assert.ok(result.maxRssKiB < 192 * 1024, `peak RSS ${result.maxRssKiB} KiB`);
});

test('invalid UTF-8: in a task name it is harmless (same findings); in a pointer it is a malformed-event on its line', async () => {
  const text = traceBytes.toString('latin1');
  const inTask = Buffer.from(text.replaceAll('qemu-system-aar-4711', 'qemu-\xff\xfe\xc0-aar-4711'), 'latin1');
  assert.ok(inTask.includes(0xff) && inTask.includes(0xc0));
  const report = await run(inTask);
  assert.deepEqual(findingKeys(report), findingKeys(baseline));
  assert.equal(report.diagnostics.filter((d) => d.severity === 'error').length, 0);

  const inPointer = Buffer.concat([Buffer.from(header), Buffer.from(vmCreate('1.000001', '0xffff\xff\xfe10001000'), 'latin1'), Buffer.from(vmCreate('1.000002', '0xffff000010002000'))]);
  const broken = await run(inPointer);
  assert.deepEqual(diagnostic(broken, 'malformed-event'), { count: 1, lines: [2], details: ['expected vm_create: the VM pointer as mmu= or kvm_vmid='] });
  assert.equal(broken.counts.eventsByKind['vm-create'], 1);
});

test('NUL bytes: a line of NULs is a malformed-line, a NUL inside a field a malformed-event; the rest replays', async () => {
  const bytes = Buffer.concat([
    Buffer.from(header),
    Buffer.from([0, 0, 0, 0x0a]),
    Buffer.from(vmCreate('1.000001', '0xffff00\u000010001000')),
    Buffer.from(vmCreate('1.000002', '0xffff000010002000')),
  ]);
  const report = await run(bytes);
  assert.deepEqual(diagnostic(report, 'malformed-line'), { count: 1, lines: [2], details: ['expected a "[CPU]" column such as "[003]"'] });
  assert.equal(diagnostic(report, 'malformed-event').count, 1);
  assert.deepEqual(diagnostic(report, 'malformed-event').lines, [3]);
  assert.equal(report.counts.eventsByKind['vm-create'], 1);
});

test('CRLF line ends: the same findings, lines and messages as LF; byte offsets count the CRs', async () => {
  const crlf = Buffer.from(traceBytes.toString('utf8').replaceAll('\n', '\r\n'));
  const report = await run(crlf, {}, 7);
  assert.ok(baseline.findings.length > 0);
  assert.deepEqual(findingKeys(report), findingKeys(baseline));
  assert.equal(report.diagnostics.filter((d) => d.severity === 'error').length, 0);
  const records = await readAllRecords(inChunks(crlf, 13), { file: 'f' });
  const lf = await readAllRecords(inChunks(traceBytes, 13), { file: 'f' });
  assert.equal(records.length, lf.length);
  records.forEach((record, i) => {
    assert.equal(record.text, lf[i]?.text);
    assert.equal(record.span.offset, (lf[i]?.span.offset ?? 0) + i);
  });
});

test('truncated gzip: INPUT_CORRUPT naming the file and the decompressed byte reached, exit 65 (not 66: the file opened)', async () => {
  const gz = gzipSync(traceBytes);
  const cut = gz.subarray(0, Math.floor(gz.length / 2));
  await assert.rejects(run(cut), (error: unknown) => {
    assert.ok(error instanceof VmidReplayError);
    assert.equal(error.code, 'INPUT_CORRUPT');
    assert.equal(error.exitCode, ExitCode.badInput);
    const reached = Number(/after byte (\d+) of the decompressed input/.exec(error.message)?.[1]);
    assert.ok(reached >= 0 && reached < traceBytes.length, error.message);
    assert.match(error.message, /^in\.trace: gzip stream is corrupt or truncated/);
    return true;
  });
  const dir = mkdtempSync(join(tmpdir(), 'vmid-hostile-'));
  try {
    const file = join(dir, 'cut.trace.gz');
    writeFileSync(file, cut);
    const result = await runCli(['analyze', file]);
    assert.equal(result.code, 65);
    assert.ok(result.stderr.startsWith(`vmid-replay: ${file}: gzip stream is corrupt or truncated after byte `), result.stderr);
    assert.match(result.stderr, /\[INPUT_CORRUPT\]\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('property: arbitrary bytes through the trace-cmd report importer complete or raise only VmidReplayError', async () => {
  const reportLines = toTraceCmdReport(traceBytes.toString('utf8'), { cpus: 4, nanoseconds: true }).text.split('\n');
  assert.ok(reportLines.length > 100 && reportLines[0]?.startsWith('cpus='), 'a trace-cmd report to take pieces from');
  const byteArb = fc.oneof(
    fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.concat([Buffer.from('cpus=4\n'), Buffer.from(b)])),
    // Report-shaped: real report lines glued with random strings and bytes, so decoding is reached.
    fc
      .array(fc.oneof(fc.constantFrom(...reportLines.slice(1, 80)), fc.string(), fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('latin1'))), { maxLength: 40 })
      .map((parts) => Buffer.from(`cpus=4\n${parts.join('\n')}`, 'latin1')),
  );
  await fc.assert(
    fc.asyncProperty(byteArb, fc.constantFrom<ReplayOptions>({}, { inputFormat: 'trace-cmd' }, { inputFormat: 'trace-cmd', vmidBits: 4, cpus: 4, variant: 'rfc-v2' }, { inputFormat: 'trace-cmd', strict: true }), async (bytes, options) => {
      await completesOrRaisesDocumentedError(bytes, options);
    }),
    { numRuns: 300 },
  );
});
