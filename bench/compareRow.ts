/**
 * Issue 15's speed target: `compare` of the six policies against one `analyze` of the same
 * trace, in interleaved rounds of the same call; the median ratio must be at most 2.
 */
import { spawnSync } from 'node:child_process';
import { timeAnalyze } from './measure.js';
import { median } from './targets.js';

export const compareTargetRatio = 2;

export interface CompareRow {
  readonly trace: string;
  readonly analyzeSeconds: number;
  readonly compareSeconds: number;
  /** The median over rounds of compare's time over analyze's in the same round. */
  readonly ratio: number;
}

function timeCompare(cli: string, file: string, args: readonly string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [cli, 'compare', file, ...args, '--quiet', '--format', 'json'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0 && run.status !== 2) throw new Error(`compare ${file} failed (${run.status}): ${run.stderr}`);
  return seconds;
}

export function measureCompare(cli: string, rssHook: string, name: string, file: string, args: readonly string[], rounds: number): CompareRow {
  const analyze: number[] = [];
  const compare: number[] = [];
  for (let round = 0; round < rounds; round++) {
    analyze.push(timeAnalyze(cli, rssHook, file, args).seconds);
    compare.push(timeCompare(cli, file, args));
  }
  return { trace: name, analyzeSeconds: median(analyze), compareSeconds: median(compare), ratio: median(compare.map((seconds, round) => seconds / (analyze[round] as number))) };
}
