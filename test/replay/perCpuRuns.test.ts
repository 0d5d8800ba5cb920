/**
 * Per-CPU files pasted one after another (`per_cpu/cpuN/trace`, each in its own time order, the
 * trace's 77 ms far longer than the 1 ms reorder window). From a stream nothing decided after
 * the disorder may be asserted; a file is merged back into timestamp order and gives the sorted
 * trace's findings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { replayBytes } from '../../src/replay/analyze.js';
import { defaultReorderWindowUs } from '../../src/replay/reorderBuffer.js';
import { buildReport, type Report } from '../../src/report/report.js';
import { concatenatePerCpu } from '../helpers/perCpuFiles.js';

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
  // The oldest event that comes late: the first event of a file after the first, every CPU
  // running from the trace's start. A finding is decided no earlier than its own line's time,
  // so every finding at or after that time was decided without that event.
  const pastedLines = pasted.text.split('\n');
  const lateFrom = Math.min(...pasted.fileStarts.slice(1).map((start) => tsOf(pastedLines.slice(start - 1).find((line) => !line.startsWith('#')) as string)));
  const after = report.findings.filter((finding) => finding.tsUs >= lateFrom);
  assert.ok(after.length > 0);
  for (const finding of after) assert.equal(finding.inconclusive, true, `${finding.checkId}@${finding.line} (${finding.tsUs})`);
  assert.equal(report.verdict, report.findings.some((finding) => !finding.inconclusive && finding.severity !== 'notice') ? 'findings' : 'inconclusive');
});
