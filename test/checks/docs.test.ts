/**
 * The check pages execute: every ```trace block of docs/checks/*.md runs through
 * `vmid-replay analyze` and must produce exactly the findings its `<!-- expect: ... -->` comment
 * lists (`check-id@line ...` in report order, or `none`). Every check in `allChecks` must have a
 * page whose title, description and severity match its metadata, with at least one violating
 * and one clean example, and the page's text report must still match its first violating trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allChecks } from '../../src/checks/index.js';
import { pageFiles, pages } from '../helpers/checkPages.js';
import { runCli } from '../helpers/cli.js';
import { analyze } from './harness.js';

test('every check in allChecks has a page, and every page is a check', () => {
  assert.equal(allChecks.length, 10);
  const ids = allChecks.map((check) => check.meta.id).sort();
  assert.deepEqual(pageFiles.map((file) => file.replace(/\.md$/, '')).sort(), ids);
});

for (const check of allChecks) {
  const id = check.meta.id;
  const page = pages.get(`${id}.md`);

  test(`${id}: the page names the check as its metadata does and has violating and clean examples`, () => {
    assert.ok(page !== undefined, `docs/checks/${id}.md is missing`);
    assert.equal(page.title, id);
    assert.equal(page.description, check.meta.description);
    assert.equal(page.severity, check.meta.severity);
    const violating = page.traces.filter((block) => block.expect.some((entry) => entry.startsWith(`${id}@`)));
    const clean = page.traces.filter((block) => block.expect.length === 0);
    assert.ok(violating.length >= 1, `${id}.md has no trace block expecting ${id}`);
    assert.ok(clean.length >= 1, `${id}.md has no trace block expecting none`);
    for (const block of page.traces) {
      assert.match(block.text, /^# vmid-replay: vmid_bits=\d+ cpus=\d+/, `${id}.md:${block.at}: the trace starts with its vmid-replay header`);
      if (block.text.includes(' smmu=')) assert.match(block.text, /^# vmid-replay: smmu=\S+ vmid_bits=\d+/m, `${id}.md:${block.at}: an SMMU header`);
      for (const entry of block.expect) assert.match(entry, /^[a-z0-9-]+@\d+$/, `${id}.md:${block.at}: "${entry}"`);
    }
  });

  test(`${id}: every trace block produces exactly the findings it expects`, async () => {
    assert.ok(page !== undefined && page.traces.length >= 2);
    for (const block of page.traces) {
      const result = await analyze(block.text);
      const where = `docs/checks/${id}.md:${block.at}`;
      assert.deepEqual(result.found, block.expect, where);
      assert.equal(result.report.counts.allEventsAccounted, true, where);
      assert.equal(result.report.counts.malformedEvents, 0, where);
      assert.equal(result.report.dataLossAt, null, where);
      const counted = result.report.findings.some((finding) => finding.severity !== 'notice');
      assert.equal(result.code, counted ? 1 : 0, where);
      assert.equal(result.report.verdict, counted ? 'findings' : 'ok', where);
    }
  });

  test(`${id}: the page's text report matches its first violating trace`, async () => {
    assert.ok(page !== undefined && page.report !== undefined, `${id}.md has no text report under "## Report"`);
    const first = page.traces.find((block) => block.expect.length > 0);
    assert.ok(first !== undefined);
    const shown = page.report.text.split('\n');
    const file = /^vmid-replay: (\S+)$/.exec(shown[0] ?? '')?.[1];
    assert.ok(file !== undefined, 'the report starts with "vmid-replay: <file>"');
    const dir = mkdtempSync(join(tmpdir(), 'vmid-docs-'));
    const cwd = process.cwd();
    try {
      writeFileSync(join(dir, file), first.text);
      // Run where the file is, as the page does: the report names it, and prose wraps around the name.
      process.chdir(dir);
      const result = await runCli(['analyze', file, '--format', 'text']);
      assert.equal(result.code, page.report.exit, 'the exit code the page states');
      const actual = result.stdout.split('\n');
      // Verdict, per-check counts and finding headings; message wording may evolve without the page.
      const stable = (lines: readonly string[]) => lines.filter((line) => /^verdict: |^\s+\d+(?: \(\+\d+ inconclusive\))?\s+[a-z0-9-]+$|^\[\d+\] /.test(line));
      assert.ok(stable(shown).some((line) => line.startsWith('[1] ')));
      assert.deepEqual(stable(shown), stable(actual));
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
