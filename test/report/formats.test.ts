/**
 * The CSV and Markdown reports: CSV has one row per finding under a fixed header (read back by
 * csv-parse, the project's own CSV reader, quoting included), and Markdown escapes what would
 * otherwise be markup and lays out the findings as the text report does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { findingColumns } from '../../src/report/csv.js';
import { escapeMarkdown } from '../../src/report/markdown.js';
import { runCli } from '../helpers/cli.js';
import type { JsonReport } from '../checks/harness.js';

const hazards = 'traces/mixed-hazards.trace';
const clean = 'traces/device-assignment-clean.trace';

async function jsonOf(trace: string): Promise<JsonReport> {
  return JSON.parse((await runCli(['analyze', trace, '--format', 'json'])).stdout) as JsonReport;
}

test('CSV: a header, then one row per finding in report order, reading back to the JSON report', async () => {
  const json = await jsonOf(hazards);
  const rows = parse((await runCli(['analyze', hazards, '--format', 'csv'])).stdout);
  assert.deepEqual(rows[0], ['file', 'line', 'time', 'check', 'severity', 'inconclusive', 'message', 'parties', 'witness_lines', 'needed', 'needed_after_line', 'needed_before_line']);
  assert.deepEqual(rows[0], [...findingColumns]);
  assert.equal(json.findings.length, 11);
  assert.equal(rows.length, 1 + json.findings.length);
  json.findings.forEach((finding, index) => {
    const row = rows[index + 1] ?? [];
    // The time is the witness line's own stamp, secs.usecs.
    const time = `${Math.floor(finding.tsUs / 1e6)}.${String(finding.tsUs % 1e6).padStart(6, '0')}`;
    assert.deepEqual(row.slice(0, 7), [finding.file, String(finding.line), time, finding.checkId, finding.severity, 'no', finding.message]);
    assert.equal(row[8], finding.witnesses.map((witness) => witness.ref.line).join(' '));
    assert.deepEqual(row.slice(9), [finding.needed ?? '', String(finding.remedy?.afterLine ?? ''), String(finding.remedy?.beforeLine ?? '')]);
  });
  // mixed-hazards.trace:200: the invalidation belonged after line 196 (the old STE left VMID 20) and before line 200.
  assert.deepEqual(rows.find((row) => row[3] === 'vmid-reuse-without-invalidation')?.slice(10), ['196', '200']);
});

test('CSV of several traces: one header, the findings of each in argument order; a clean trace adds none', async () => {
  const one = parse((await runCli(['analyze', hazards, '--format', 'csv'])).stdout);
  const both = parse((await runCli(['analyze', clean, hazards, '--format', 'csv', '--jobs', '1'])).stdout);
  assert.deepEqual(both, one);
  assert.deepEqual(parse((await runCli(['analyze', clean, '--format', 'csv'])).stdout), [[...findingColumns]]);
});

test('Markdown escapes markup in prose, and leaves an underscore inside a word alone', () => {
  assert.equal(escapeMarkdown('kvm_arm_pinned_vmid_get() | *x* <b> [l](u) `c` \\'), 'kvm_arm_pinned_vmid_get() \\| \\*x\\* \\<b\\> \\[l\\](u) \\`c\\` \\\\');
  assert.equal(escapeMarkdown('_emphasis_ and snake_case'), '\\_emphasis\\_ and snake_case');
});

test('Markdown: a heading per finding with its place, the witness lines in a code block, a scenario table per finding', async () => {
  const json = await jsonOf(hazards);
  const markdown = (await runCli(['analyze', hazards, '--format', 'markdown'])).stdout;
  assert.deepEqual(
    [...markdown.matchAll(/^### \[(\d+)\] `([a-z0-9-]+)` \(\w+\) at `[^`]+:(\d+)`$/gm)].map((match) => `${match[2]}@${match[3]}`),
    json.findings.map((finding) => `${finding.checkId}@${finding.line}`),
  );
  // Every witness line quoted whole inside a code block, under its file:line.
  for (const finding of json.findings) for (const witness of finding.witnesses) assert.ok(markdown.includes(`\n    ${witness.ref.text}\n`), witness.ref.text);
  // The pin-leaked notice at the end has no scenario; the ten others have one.
  assert.equal([...markdown.matchAll(/^\*\*Scenario\*\*$/gm)].length, 10);
  assert.match(markdown, /^\| line \| CPU 2 \| CPU 3 \|\n\| ---: \| --- \| --- \|\n\| 174 \| enters the VM with VMID 13 \| {3}\|$/m);
  const several = (await runCli(['analyze', clean, hazards, '--format', 'markdown', '--jobs', '1'])).stdout;
  assert.match(several, /\n## Summary: 2 traces\n\n\| verdict \| trace \| {3}\|\n\| --- \| --- \| --- \|\n\| findings \| `traces\/mixed-hazards\.trace` \| 11 findings \|\n\| ok \| `traces\/device-assignment-clean\.trace` \| 0 findings \|\n$/);
});
