/**
 * Golden tests (Perfetto's diff tests): a trace in, the expected report out, kept as files and
 * reviewed as diffs. Covers the bundled traces (traces/ -> reports/, exactly what `npm start`
 * writes, in every format), the small cases in test/golden/, and each check's example traces
 * (docs/checks/*.md -> test/golden/checks/, as text, Markdown, CSV and JSON).
 * `npm run golden:update` rewrites them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pages } from './helpers/checkPages.js';
import { runCli } from './helpers/cli.js';
import { argsFor, bundledTraces, reportsReadme, whatIfCommand } from '../scripts/start.js';
import { reportFormats, type FormatName } from '../src/cli/commands/analyze.js';

const formatNames = Object.keys(reportFormats) as FormatName[];

const update = process.env['UPDATE_GOLDEN'] === '1';

interface GoldenCase {
  readonly trace: string;
  readonly args: readonly string[];
  readonly expected: string;
  readonly format: FormatName;
}

/**
 * Every format of every bundled trace, as `npm start` writes it into reports/ (its flags come
 * from the trace's .args file, so this test checks what it writes).
 */
function bundledCases(): GoldenCase[] {
  return bundledTraces().flatMap((trace) => {
    const stem = basename(trace).replace(/\.gz$/, '');
    return formatNames.map((format) => ({
      trace,
      args: [...argsFor(trace), '--format', format],
      expected: join('reports', `${stem}.${reportFormats[format].suffix}`),
      format,
    }));
  });
}

/** test/golden/NAME.trace with optional NAME.args (one flag per line) and NAME.expected.txt. */
function smallCases(): GoldenCase[] {
  return readdirSync('test/golden')
    .filter((name) => name.endsWith('.trace'))
    .map((name) => {
      const stem = name.slice(0, -'.trace'.length);
      const argsFile = join('test/golden', `${stem}.args`);
      const args = existsSync(argsFile) ? readFileSync(argsFile, 'utf8').split('\n').filter((line) => line.length > 0) : [];
      return { trace: join('test/golden', name), args, expected: join('test/golden', `${stem}.expected.txt`), format: 'text' as const };
    });
}

const cases = [...bundledCases(), ...smallCases()];

test('golden cases exist', () => {
  assert.ok(bundledTraces().length >= 6, 'six bundled traces at least');
  assert.equal(bundledCases().length, bundledTraces().length * formatNames.length, 'every format of each');
  assert.ok(smallCases().length >= 3, 'small golden cases in test/golden');
});

for (const golden of cases) {
  test(`golden: ${golden.trace} (${golden.format}) matches ${golden.expected}`, async () => {
    const result = await runCli(['analyze', golden.trace, ...golden.args]);
    assert.ok(result.code <= 2, `analyze failed (${result.code}): ${result.stderr}`);
    if (update) {
      writeFileSync(golden.expected, result.stdout);
      return;
    }
    assert.ok(existsSync(golden.expected), `${golden.expected} is missing: run npm run golden:update`);
    assert.equal(result.stdout, readFileSync(golden.expected, 'utf8'), `${golden.expected} differs: review the diff, then npm run golden:update`);
  });
}

test('golden: reports/README.md is what npm start writes, naming every format and the command of every trace', () => {
  const readme = reportsReadme();
  if (update) {
    writeFileSync(join('reports', 'README.md'), readme);
    return;
  }
  assert.equal(readFileSync(join('reports', 'README.md'), 'utf8'), readme);
  for (const format of formatNames) assert.ok(readme.includes(`| \`<name>.${reportFormats[format].suffix}\` | \`--format ${format}\` |`), format);
  assert.ok(readme.includes('- `vmid-replay analyze traces/capture-max-16bit-vhe.trace.gz --map traces/captures-6.1.map.json --out reports`'));
});

/**
 * The what-if comparisons `npm start` writes for bundled traces with a `.whatif` file: one
 * compare run writes all four formats (the files the run would write are kept in memory).
 */
const whatIfTraces = bundledTraces().filter((trace) => whatIfCommand(trace, 'reports') !== undefined);

test('golden: what-if comparisons exist for a real capture, a generated SMMU trace and a --diff', () => {
  assert.ok(whatIfTraces.some((trace) => trace.includes('capture-')), 'a real capture');
  assert.ok(whatIfTraces.some((trace) => trace.includes('smmu')), 'a trace with its own attaches');
  assert.ok(whatIfTraces.some((trace) => (whatIfCommand(trace, 'reports') ?? []).includes('--diff')), 'a --diff');
});

for (const trace of whatIfTraces) {
  test(`golden: ${trace}'s what-if comparison matches reports/ in every format`, async () => {
    const result = await runCli(whatIfCommand(trace, 'reports') ?? []);
    assert.equal(result.code, 0, result.stderr);
    const stem = basename(trace).replace(/\.gz$/, '');
    for (const suffix of ['whatif.txt', 'whatif.md', 'whatif.json', 'whatif.html']) {
      const path = join('reports', `${stem}.${suffix}`);
      const written = result.files.get(path);
      assert.ok(written !== undefined, `${path} not written`);
      if (update) writeFileSync(path, written);
      else assert.equal(written, readFileSync(path, 'utf8'), `${path} differs: review the diff, then npm run golden:update`);
    }
  });
}

/** Each check page's example traces, in page order, as test/golden/checks/<check-id>-<n>.trace. */
const examplesDir = join('test', 'golden', 'checks');
const exampleFormats: readonly FormatName[] = ['text', 'markdown', 'csv', 'json'];

function checkExamples(): { readonly trace: string; readonly text: string }[] {
  return [...pages.values()].flatMap((page) => page.traces.map((block, index) => ({ trace: join(examplesDir, `${page.file.replace(/\.md$/, '')}-${index + 1}.trace`), text: block.text })));
}

const exampleFiles = (trace: string) => [trace, ...exampleFormats.map((format) => `${trace}.${reportFormats[format].suffix}`)];

test('golden: test/golden/checks holds every example of every check page and nothing else', () => {
  const examples = checkExamples();
  assert.ok(examples.length >= 2 * pages.size, 'a violating and a clean example per check at least');
  if (update) {
    rmSync(examplesDir, { recursive: true, force: true });
    mkdirSync(examplesDir, { recursive: true });
    return;
  }
  assert.deepEqual(readdirSync(examplesDir).map((name) => join(examplesDir, name)).sort(), examples.flatMap((example) => exampleFiles(example.trace)).sort());
});

for (const example of checkExamples()) {
  test(`golden: ${example.trace} is its page's example, and its reports match as text, Markdown, CSV and JSON`, async () => {
    if (update) writeFileSync(example.trace, example.text);
    else assert.equal(readFileSync(example.trace, 'utf8'), example.text, `${example.trace}: the page's example changed: npm run golden:update`);
    const out = 'examples-out';
    const result = await runCli(['analyze', example.trace, '--out', out, '--exit-zero']);
    assert.equal(result.code, 0, result.stderr);
    for (const format of exampleFormats) {
      const suffix = reportFormats[format].suffix;
      const written = result.files.get(join(out, `${basename(example.trace)}.${suffix}`));
      assert.ok(written !== undefined, `${format} not written`);
      const expected = `${example.trace}.${suffix}`;
      if (update) writeFileSync(expected, written);
      else assert.equal(written, readFileSync(expected, 'utf8'), `${expected} differs: review the diff, then npm run golden:update`);
    }
  });
}
