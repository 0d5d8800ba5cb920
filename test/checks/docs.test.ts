/**
 * The check pages execute: every ```trace block of docs/checks/*.md runs through
 * `vmid-replay analyze` and must produce exactly the findings its `<!-- expect: ... -->` comment
 * lists (`check-id@line ...` in report order, or `none`). Every check in `allChecks` must have a
 * page whose title, description and severity match its metadata, with at least one violating
 * and one clean example, and the page's text report must still match its first violating trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { allChecks } from '../../src/checks/index.js';
import { runCli } from '../helpers/cli.js';
import { analyze } from './harness.js';

const docsDir = resolve(process.cwd(), 'docs', 'checks');

interface TraceBlock {
  /** 1-based line of the opening fence in the page. */
  readonly at: number;
  readonly text: string;
  /** `[]` for `none`. */
  readonly expect: readonly string[];
}

interface Page {
  readonly file: string;
  readonly title: string | undefined;
  readonly description: string | undefined;
  readonly severity: string | undefined;
  readonly traces: readonly TraceBlock[];
  /** The ```text block under "## Report", and the exit code the page states for it. */
  readonly report: { readonly text: string; readonly exit: number | undefined } | undefined;
}

const expectComment = /^<!-- expect: (.+?) -->$/;

/** Parses a page; throws with the page's name and line on a block without an expectation. */
function parsePage(file: string): Page {
  const lines = readFileSync(join(docsDir, file), 'utf8').split('\n');
  const traces: TraceBlock[] = [];
  let report: Page['report'];
  let section = '';
  let pendingExpect: { value: string; line: number } | undefined;
  let lastExit: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('## ')) section = line.slice(3).trim();
    const comment = expectComment.exec(line.trim());
    if (comment !== null) {
      pendingExpect = { value: (comment[1] as string).trim(), line: i + 1 };
      continue;
    }
    const exit = /\(exit (\d+)\)/.exec(line);
    if (exit !== null) lastExit = Number(exit[1]);
    if (line.startsWith('```')) {
      const lang = line.slice(3).trim();
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !(lines[j] as string).startsWith('```')) body.push(lines[j++] as string);
      if (j >= lines.length) throw new Error(`${file}:${i + 1}: unclosed fence`);
      if (lang === 'trace') {
        // The expectation is the comment right before the block, or right after it.
        let expectation = pendingExpect !== undefined && pendingExpect.line >= i - 1 ? pendingExpect.value : undefined;
        if (expectation === undefined) {
          const after = expectComment.exec((lines[j + 1] ?? '').trim()) ?? expectComment.exec((lines[j + 2] ?? '').trim());
          expectation = after === null ? undefined : (after[1] as string).trim();
        }
        if (expectation === undefined) throw new Error(`${file}:${i + 1}: trace block without an <!-- expect: ... --> comment`);
        traces.push({ at: i + 1, text: `${body.join('\n')}\n`, expect: expectation === 'none' ? [] : expectation.split(/[\s,]+/).filter((s) => s.length > 0) });
      } else if (lang === 'text' && section === 'Report' && report === undefined) {
        report = { text: body.join('\n'), exit: lastExit };
      }
      pendingExpect = undefined;
      i = j;
    }
  }
  const title = /^# `([a-z0-9-]+)`$/.exec(lines[0] ?? '')?.[1];
  const description = lines.find((line) => line.startsWith('> '))?.slice(2).trim();
  const severity = /^\| Default severity \| (\w+) \|$/.exec(lines.find((line) => line.startsWith('| Default severity |')) ?? '')?.[1];
  return { file, title, description, severity, traces, report };
}

const pageFiles = existsSync(docsDir) ? readdirSync(docsDir).filter((name) => name.endsWith('.md')).sort() : [];
const pages = new Map(pageFiles.map((file) => [file, parsePage(file)]));

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
    try {
      const path = join(dir, file);
      writeFileSync(path, first.text);
      const result = await runCli(['analyze', path, '--format', 'text']);
      assert.equal(result.code, page.report.exit, 'the exit code the page states');
      const actual = result.stdout.split(path).join(file).split('\n');
      // Verdict, per-check counts and finding headings; message wording may evolve without the page.
      const stable = (lines: readonly string[]) => lines.filter((line) => /^verdict: |^\s+\d+(?: \(\+\d+ inconclusive\))?\s+[a-z0-9-]+$|^\[\d+\] /.test(line));
      assert.ok(stable(shown).some((line) => line.startsWith('[1] ')));
      assert.deepEqual(stable(shown), stable(actual));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
