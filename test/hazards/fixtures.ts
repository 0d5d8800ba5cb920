/**
 * The hazard tests' fixtures (test/fixtures/hazards/*.trace) and the one shape every hazard
 * test asserts exactly: each finding as `check@line`, marked when inconclusive, the verdict and
 * the exit code. Traces run through the user-facing path in ../checks/harness.ts.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Analysis } from '../checks/harness.js';

const fixtureDir = resolve(process.cwd(), 'test', 'fixtures', 'hazards');

export function fixture(name: string): string {
  return readFileSync(join(fixtureDir, name), 'utf8');
}

export interface Outcome {
  /** `check-id@line`, with ` inconclusive` appended to findings made after a data loss. */
  readonly found: readonly string[];
  readonly verdict: string;
  readonly code: number;
}

export function outcome(analysis: Analysis): Outcome {
  if (!analysis.report.counts.allEventsAccounted) throw new Error('the replay did not account for every event');
  const found = analysis.report.findings.map((finding) => `${finding.checkId}@${finding.line}${finding.inconclusive ? ' inconclusive' : ''}`);
  return { found, verdict: analysis.report.verdict, code: analysis.code };
}

/** `text` with 1-based line `line` replaced; throws unless that line matches `expected`, so a fixture edit cannot shift a test silently. */
export function replaceLine(text: string, line: number, expected: RegExp, replacement: string): string {
  const lines = text.split('\n');
  const old = lines[line - 1];
  if (old === undefined || !expected.test(old)) throw new Error(`line ${line} is ${JSON.stringify(old)}, expected ${String(expected)}`);
  lines[line - 1] = replacement;
  return lines.join('\n');
}
