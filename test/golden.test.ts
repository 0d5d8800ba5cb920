/**
 * Golden tests (Perfetto's diff tests): a trace in, the expected report out, kept as files and
 * reviewed as diffs. Covers the bundled traces (traces/ -> reports/, exactly what `npm start`
 * writes) and the small cases in test/golden/. `npm run golden:update` rewrites them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { argsFor, bundledTraces } from '../scripts/start.js';

const update = process.env['UPDATE_GOLDEN'] === '1';

interface GoldenCase {
  readonly trace: string;
  readonly args: readonly string[];
  readonly expected: string;
  readonly format: 'text' | 'json' | 'html';
}

const suffixes = { text: 'txt', json: 'json', html: 'html' } as const;

/** The flags `npm start` passes come from package.json, so this test checks what it writes. */
function bundledCases(): GoldenCase[] {
  return bundledTraces().flatMap((trace) => {
    const stem = basename(trace).replace(/\.gz$/, '');
    return (['text', 'json', 'html'] as const).map((format) => ({
      trace,
      args: [...argsFor(trace), '--format', format],
      expected: join('reports', `${stem}.${suffixes[format]}`),
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
  assert.ok(bundledCases().length >= 12, 'six bundled traces, text and json each');
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
