/** Timed child processes: `analyze` with its peak RSS, and the shell baselines it is compared to. */
import { spawnSync } from 'node:child_process';

export interface AnalyzeRun {
  readonly seconds: number;
  readonly maxRssMiB: number;
  /** Event lines the report counted (`counts.records.event`). */
  readonly eventLines: number;
  /** Lines decoded into typed events (the sum of `counts.eventsByKind`). */
  readonly decodedEvents: number;
}

interface ReportCounts {
  readonly counts: { readonly records: { readonly event: number }; readonly eventsByKind: Record<string, number> };
}

export function timeAnalyze(cli: string, rssHook: string, file: string, extraArgs: readonly string[] = []): AnalyzeRun {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--import', rssHook, cli, 'analyze', file, ...extraArgs, '--format', 'json', '--exit-zero'], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`analyze ${file} failed (${run.status}): ${run.stderr}`);
  const rss = /bench-max-rss-kib=(\d+)/.exec(run.stderr);
  const report = JSON.parse(run.stdout) as ReportCounts;
  const decodedEvents = Object.values(report.counts.eventsByKind).reduce((sum, n) => sum + n, 0);
  return { seconds, maxRssMiB: rss === null ? Number.NaN : Number(rss[1]) / 1024, eventLines: report.counts.records.event, decodedEvents };
}

/** Wall time of a shell pipeline (`wc -l`, `grep -c`), which must exit 0 (or 1 for grep's no match). */
export function timeShell(command: string): number {
  const started = process.hrtime.bigint();
  // stdout is a pipe, not /dev/null: GNU grep stops at the first match when it sees /dev/null.
  const run = spawnSync('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'inherit'] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0 && run.status !== 1) throw new Error(`${command} failed (${run.status})`);
  return seconds;
}

/** One input's rounds: analyze, then each baseline, `rounds` times over, so drift weighs on all alike. */
export interface Rounds {
  readonly analyze: readonly AnalyzeRun[];
  /** Per baseline command, its time in each round. */
  readonly baselines: readonly (readonly number[])[];
}

export function interleavedRounds(rounds: number, analyze: () => AnalyzeRun, baselineCommands: readonly string[]): Rounds {
  const runs: AnalyzeRun[] = [];
  const baselines: number[][] = baselineCommands.map(() => []);
  for (let round = 0; round < rounds; round++) {
    runs.push(analyze());
    baselineCommands.forEach((command, i) => baselines[i]?.push(timeShell(command)));
  }
  return { analyze: runs, baselines };
}
