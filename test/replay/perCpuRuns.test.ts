/**
 * Per-CPU files pasted one after another (`per_cpu/cpuN/trace`, each in its own time order, the
 * trace's 77 ms far longer than the 1 ms reorder window). From a stream nothing decided after
 * the disorder may be asserted; a file is merged back into timestamp order and gives the sorted
 * trace's findings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { replayBytes } from '../../src/replay/analyze.js';
import { analyzeTrace } from '../../src/cli/analyzeTrace.js';
import { defaultReorderWindowUs } from '../../src/replay/reorder/reorderBuffer.js';
import { buildReport, type Report } from '../../src/report/report.js';
import { concatenatePerCpu, type PerCpuConcatenation } from '../helpers/perCpuFiles.js';
import { runCli } from '../helpers/cli.js';
import { toTraceCmdReport } from '../helpers/traceCmdReport.js';

const sortedText = readFileSync(resolve(process.cwd(), 'traces', 'generated-faults.trace'), 'utf8');
const sortedLines = sortedText.replace(/\n$/, '').split('\n');
const tsOf = (line: string): number => Number(/ (\d+)\.(\d{6}): /.exec(line)?.slice(1).join('') ?? NaN);

async function fromStream(text: string, file: string): Promise<Report> {
  const result = await replayBytes(
    (async function* () {
      await Promise.resolve();
      yield Buffer.from(text);
    })(),
    file,
    {},
  );
  return buildReport(file, result);
}

function diagnosticCount(report: Report, code: string): number {
  return report.diagnostics.find((d) => d.code === code)?.count ?? 0;
}

/**
 * The oldest event that comes late in per-CPU files pasted together: the first event of a file
 * after the first (every CPU runs from the trace's start, so each is older than the end of the
 * file before it).
 */
function oldestLateUs(pasted: PerCpuConcatenation): number {
  const lines = pasted.text.split('\n');
  return Math.min(...pasted.fileStarts.slice(1).map((start) => tsOf(lines.slice(start - 1).find((line) => !line.startsWith('#')) as string)));
}

test('the trace spans far more than the default window, on several CPUs, with findings', async () => {
  const events = sortedLines.filter((line) => !line.startsWith('#'));
  assert.ok(tsOf(events.at(-1) as string) - tsOf(events[0] as string) > 50 * defaultReorderWindowUs);
  assert.ok(concatenatePerCpu(sortedText).cpus.length >= 4);
  const sorted = await fromStream(sortedText, 'sorted.trace');
  assert.equal(sorted.verdict, 'findings');
  assert.ok(sorted.findings.length >= 5);
  assert.equal(sorted.dataLossAt, null);
});

test('per-CPU files from a stream: no finding decided at or after the oldest late event is asserted', async () => {
  const pasted = concatenatePerCpu(sortedText);
  const report = await fromStream(pasted.text, 'stdin');
  assert.ok(diagnosticCount(report, 'reorder-window-exceeded') > 0);
  // A finding is decided no earlier than its own line's time, so every finding at or after the
  // oldest late event's time was decided without that event.
  const lateFrom = oldestLateUs(pasted);
  const after = report.findings.filter((finding) => finding.tsUs >= lateFrom);
  assert.ok(after.length > 0);
  for (const finding of after) assert.equal(finding.inconclusive, true, `${finding.checkId}@${finding.line} (${finding.tsUs})`);
  assert.equal(report.verdict, report.findings.some((finding) => !finding.inconclusive && finding.severity !== 'notice') ? 'findings' : 'inconclusive');
});

// ---- a file: merged back ----------------------------------------------------------------

/**
 * Findings as `check@original-line (inconclusive?) message [witness lines]`, sorted, every line
 * number of the input mapped to the sorted trace's line it is a copy of.
 */
function findingKeys(report: Report, originalLine: readonly number[]): string[] {
  const map = (line: number) => originalLine[line] ?? `?${line}`;
  return report.findings
    .map((f) => {
      const message = f.message.replace(/\bline (\d+)/g, (_, line: string) => `line ${map(Number(line))}`);
      return `${f.checkId}@${map(f.line)}${f.inconclusive ? ' inconclusive' : ''} ${message} [${f.witnesses.map((w) => map(w.ref.line)).join(',')}]`;
    })
    .sort();
}

const identityLines = [0, ...sortedLines.map((_, i) => i + 1)];
const sortedReport = await fromStream(sortedText, 'sorted.trace');
const sortedKeys = findingKeys(sortedReport, identityLines);

/** Analyzes `content` written to a file named `name`, as the CLI does. */
async function fromFile(name: string, content: string | Buffer): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-percpu-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, content);
    return await analyzeTrace(file, Readable.from([]), {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The merged replay gives the sorted trace's findings, conclusive, with no data loss, and says where the runs started. */
function assertMergedLikeSorted(report: Report, pasted: PerCpuConcatenation): void {
  assert.deepEqual(findingKeys(report, pasted.originalLine), sortedKeys);
  assert.equal(report.verdict, sortedReport.verdict);
  assert.equal(report.dataLossAt, null);
  assert.equal(diagnosticCount(report, 'reorder-window-exceeded') + diagnosticCount(report, 'timestamp-backwards'), 0);
  const merged = report.diagnostics.find((d) => d.code === 'per-cpu-runs-merged');
  assert.equal(merged?.count, pasted.cpus.length);
  assert.equal(merged.severity, 'info');
  // A run starts with its file's header block: the second file's first line.
  assert.equal(merged.samples[0]?.line, pasted.fileStarts[1]);
  assert.match(merged.samples[0]?.detail ?? '', new RegExp(`start at lines ${pasted.fileStarts.join(', ')}$`));
  assert.equal(diagnosticCount(report, 'per-cpu-runs-unmerged'), 0);
}

test('per-CPU files in a plain file: merged back, the sorted trace\'s findings at its lines, no data loss', async () => {
  const pasted = concatenatePerCpu(sortedText);
  assertMergedLikeSorted(await fromFile('percpu.trace', pasted.text), pasted);
});

test('per-CPU files in a gzip file, highest CPU first: merged back the same way', async () => {
  const pasted = concatenatePerCpu(sortedText, 'descending');
  assertMergedLikeSorted(await fromFile('percpu.trace.gz', gzipSync(pasted.text)), pasted);
});

test('per-CPU files on stdin: not merged, nothing decided after the disorder asserted, the diagnostic names the fix', async () => {
  const pasted = concatenatePerCpu(sortedText);
  const { code, stdout } = await runCli(['analyze', '-', '--format', 'json'], pasted.text);
  const report = JSON.parse(stdout) as Report;
  assert.equal(code, 2);
  assert.equal(report.verdict, 'inconclusive');
  // Every CPU's file starts within the trace's first microseconds, before any finding.
  assert.ok(report.findings.length > 0);
  assert.ok(report.findings.every((finding) => finding.tsUs >= oldestLateUs(pasted)));
  for (const finding of report.findings) assert.equal(finding.inconclusive, true, `${finding.checkId}@${finding.line}`);
  const unmerged = report.diagnostics.find((d) => d.code === 'per-cpu-runs-unmerged');
  assert.equal(unmerged?.count, pasted.cpus.length);
  assert.equal(unmerged.samples[0]?.line, pasted.fileStarts[1]);
  assert.match(unmerged.samples[0]?.detail ?? '', /pass the file instead of stdin/);
});

test('per-CPU trace-cmd reports pasted together: merged back like ftrace text', async () => {
  const pasted = concatenatePerCpu(sortedText);
  const pastedLines = pasted.text.replace(/\n$/, '').split('\n');
  const headerCount = sortedLines.findIndex((line) => !line.startsWith('#'));
  // One `trace-cmd report --cpu N` per CPU; the header comments (become trace-cmd `print`
  // events on CPU 0) only in the first, CPU 0's, so no CPU's events are in two reports.
  const reports: string[] = [];
  const originalLine = [0];
  pasted.fileStarts.forEach((start, index) => {
    const end = pasted.fileStarts[index + 1] ?? pastedLines.length + 1;
    const from = index === 0 ? start : start + headerCount;
    const report = toTraceCmdReport(`${pastedLines.slice(from - 1, end - 1).join('\n')}\n`, { cpus: pasted.cpus.length });
    reports.push(report.text);
    for (let i = 0; i < report.headerLines; i++) originalLine.push(0);
    for (let line = from; line < end; line++) originalLine.push(pasted.originalLine[line] as number);
  });
  const sortedReportText = toTraceCmdReport(sortedText, { cpus: pasted.cpus.length });
  const sortedAsReport = await fromStream(sortedReportText.text, 'sorted.report');
  const sortedAsReportLines = [...Array.from({ length: sortedReportText.headerLines + 1 }, () => 0), ...sortedLines.map((_, i) => i + 1)];
  const expected = findingKeys(sortedAsReport, sortedAsReportLines);
  assert.ok(expected.length >= 5);
  const report = await fromFile('percpu.report', reports.join(''));
  assert.deepEqual(findingKeys(report, originalLine), expected);
  assert.equal(report.dataLossAt, null);
  assert.equal(report.diagnostics.find((d) => d.code === 'per-cpu-runs-merged')?.count, pasted.cpus.length);
});

test('a CPU going back in time (the trace\'s second half pasted before its first): not merged, nothing after the disorder asserted', async () => {
  const headerCount = sortedLines.findIndex((line) => !line.startsWith('#'));
  const body = sortedLines.slice(headerCount);
  const half = Math.floor(body.length / 2);
  const text = `${[...sortedLines.slice(0, headerCount), ...body.slice(half), ...body.slice(0, half)].join('\n')}\n`;
  const report = await fromFile('rotated.trace', text);
  const unmerged = report.diagnostics.find((d) => d.code === 'per-cpu-runs-unmerged');
  assert.equal(unmerged?.count, 2);
  assert.equal(unmerged.samples[0]?.line, headerCount + body.length - half + 1);
  assert.match(unmerged.samples[0]?.detail ?? '', /a CPU goes back in time/);
  assert.equal(diagnosticCount(report, 'per-cpu-runs-merged'), 0);
  // The second half, replayed first, was decided after the first half's time, all of it late.
  assert.ok(report.findings.length > 0);
  for (const finding of report.findings) assert.equal(finding.inconclusive, true, `${finding.checkId}@${finding.line}`);
  assert.equal(report.verdict, 'inconclusive');
});

test('per-CPU files converted to CSV: not merged (a CSV run has no header row), the diagnostic says to sort', async () => {
  const pasted = concatenatePerCpu(sortedText);
  const dir = mkdtempSync(join(tmpdir(), 'vmid-percpu-'));
  try {
    const source = join(dir, 'percpu.trace');
    writeFileSync(source, pasted.text);
    const converted = await runCli(['convert', source, '-o', join(dir, 'percpu.csv')]);
    assert.equal(converted.code, 0, converted.stderr);
    const report = await fromFile('percpu.csv', converted.files.get(join(dir, 'percpu.csv')) as string);
    const unmerged = report.diagnostics.find((d) => d.code === 'per-cpu-runs-unmerged');
    assert.equal(unmerged?.count, pasted.cpus.length);
    assert.match(unmerged.samples[0]?.detail ?? '', /only ftrace and trace-cmd report text are merged: sort the trace by timestamp/);
    assert.notEqual(report.dataLossAt, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('property: CPUs grouped into files in any way and order give the sorted trace\'s findings', async () => {
  const cpus = concatenatePerCpu(sortedText).cpus;
  const headerCount = sortedLines.findIndex((line) => !line.startsWith('#'));
  const cpuOfLine = (line: string) => Number(/\[(\d+)\]/.exec(line)?.[1]);
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray([...cpus], { minLength: cpus.length, maxLength: cpus.length }), fc.array(fc.boolean(), { minLength: cpus.length, maxLength: cpus.length }), fc.boolean(), async (order, startsFile, gzip) => {
      // CPUs in `order`; a new file starts before a CPU whose flag is set (and before the first).
      const groups: number[][] = [];
      order.forEach((cpu, i) => {
        if (i === 0 || startsFile[i] === true) groups.push([]);
        (groups.at(-1) as number[]).push(cpu);
      });
      const lines: string[] = [];
      const originalLine = [0];
      for (const group of groups) {
        for (let i = 0; i < sortedLines.length; i++) {
          const line = sortedLines[i] as string;
          if (i < headerCount || group.includes(cpuOfLine(line))) {
            lines.push(line);
            originalLine.push(i + 1);
          }
        }
      }
      const text = `${lines.join('\n')}\n`;
      const report = await fromFile(gzip ? 'p.trace.gz' : 'p.trace', gzip ? gzipSync(text) : text);
      assert.deepEqual(findingKeys(report, originalLine), sortedKeys);
      assert.equal(report.dataLossAt, null);
      assert.equal(diagnosticCount(report, 'per-cpu-runs-merged'), groups.length > 1 ? groups.length : 0);
    }),
    { numRuns: 12 },
  );
});

test('per-CPU files with the first pasted again at the end: not per-CPU after all, replayed windowed, nothing after the disorder asserted', async () => {
  const pasted = concatenatePerCpu(sortedText);
  const lines = pasted.text.replace(/\n$/, '').split('\n');
  const again = lines.slice(0, (pasted.fileStarts[1] as number) - 1);
  const text = `${[...lines, ...again].join('\n')}\n`;
  const report = await fromFile('twice.trace', text);
  // The runs look per-CPU until CPU 0's file comes again: its first event goes back in time.
  const firstEventAgain = lines.length + again.findIndex((line) => !line.startsWith('#')) + 1;
  const unmerged = report.diagnostics.find((d) => d.code === 'per-cpu-runs-unmerged');
  assert.equal(unmerged?.count, pasted.cpus.length + 1);
  assert.match(unmerged.samples[0]?.detail ?? '', new RegExp(`a CPU goes back in time.*\\(CPU ${pasted.cpus[0]} at line ${firstEventAgain}\\)$`));
  assert.equal(diagnosticCount(report, 'per-cpu-runs-merged'), 0);
  assert.ok(report.findings.length > 0);
  assert.ok(report.findings.every((finding) => finding.tsUs >= oldestLateUs(pasted)));
  for (const finding of report.findings) assert.equal(finding.inconclusive, true, `${finding.checkId}@${finding.line}`);
});
