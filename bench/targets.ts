/**
 * Issue 4's speed and memory targets ("Speed", on a 2-core machine), judged against the rows
 * of one bench run, so the run itself says which are met instead of a reader comparing tables
 * by hand. Each verdict carries the row's ratio to `wc -l` on the same file in the same run,
 * which the issue asks to print beside it (it drifts too, though not in step with the times:
 * bench/README.md, round 9).
 */

import type { Density } from './traces.js';

/** One `analyze` run on a generated trace, as the bench measured it. */
export interface MeasuredRow {
  readonly density: Density;
  /** The generated size, as named on the command line (`256M`, `1G`). */
  readonly size: string;
  /** `text`, `gzip`, `msgpack` or `trace-cmd`. */
  readonly format: string;
  readonly mibPerSecond: number;
  readonly eventLinesPerSecond: number;
  readonly maxRssMiB: number;
  /** The run's time over `wc -l`'s (over `gzip -dc | wc -l`'s for gzip). */
  readonly timesWcL: number;
}

interface Target {
  readonly name: string;
  readonly appliesTo: (row: MeasuredRow) => boolean;
  /** What is compared, formatted for the table. */
  readonly measured: (row: MeasuredRow) => string;
  readonly met: (row: MeasuredRow) => boolean;
}

const mibPerSecond = (row: MeasuredRow): string => `${row.mibPerSecond.toFixed(1)} MiB/s`;

/** The issue's words, in its order. "Events" for MessagePack are event lines, as the issue counts them for text. */
export const issueTargets: readonly Target[] = [
  {
    name: 'dense text ≥ 250 MiB/s',
    appliesTo: (row) => row.density === 'dense' && row.format === 'text',
    measured: mibPerSecond,
    met: (row) => row.mibPerSecond >= 250,
  },
  {
    name: 'sparse text ≥ 600 MiB/s',
    appliesTo: (row) => row.density === 'sparse' && row.format === 'text',
    measured: mibPerSecond,
    met: (row) => row.mibPerSecond >= 600,
  },
  {
    name: 'MessagePack ≥ 10 M events/s',
    appliesTo: (row) => row.format === 'msgpack',
    measured: (row) => `${(row.eventLinesPerSecond / 1e6).toFixed(2)} M event lines/s`,
    met: (row) => row.eventLinesPerSecond >= 10e6,
  },
  {
    name: 'peak RSS ≤ 256 MiB',
    appliesTo: () => true,
    measured: (row) => `${row.maxRssMiB.toFixed(0)} MiB`,
    // An unmeasured RSS (NaN) is not a met target.
    met: (row) => row.maxRssMiB <= 256,
  },
];

export interface Verdict {
  readonly target: string;
  readonly trace: string;
  readonly format: string;
  readonly measured: string;
  readonly met: boolean;
  readonly timesWcL: number;
}

/** Every target against every row it applies to, target by target. */
export function judgeTargets(rows: readonly MeasuredRow[], targets: readonly Target[] = issueTargets): Verdict[] {
  return targets.flatMap((target) =>
    rows
      .filter((row) => target.appliesTo(row))
      .map((row) => ({ target: target.name, trace: `${row.density} ${row.size}`, format: row.format, measured: target.measured(row), met: target.met(row), timesWcL: row.timesWcL })),
  );
}

/** The verdicts as a Markdown table, with a closing count. */
export function verdictTable(verdicts: readonly Verdict[]): string[] {
  const lines = ['| target | trace | format | measured | met | × wc -l |', '|---|---|---|---|---|---|'];
  for (const verdict of verdicts) {
    lines.push(`| ${verdict.target} | ${verdict.trace} | ${verdict.format} | ${verdict.measured} | ${verdict.met ? 'yes' : '**no**'} | ${verdict.timesWcL.toFixed(1)} |`);
  }
  lines.push('', `${verdicts.filter((verdict) => verdict.met).length} of ${verdicts.length} met.`);
  return lines;
}
