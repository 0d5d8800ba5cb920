/**
 * Issue 18's speed and memory targets, judged against the rows of one bench run, so the run
 * itself says which are met. The issue's rule: every figure is the median of at least 5 runs
 * interleaved with the baselines (`grep -c`, `wc -l` on the same file) in the same call, ratios
 * are quoted, and a target holds when the median meets it. A ratio is taken per round (the
 * run's time over the baseline's of the same round) and its median is the row's, so a slow
 * phase of the VM weighs on both sides alike.
 */

/** The fewest interleaved rounds a figure may come from (issue 18). */
export const minimumRounds = 5;

/** What a row's trace is: generated (`generate --noise 0|14`, or `--probes capture-6.1`) or a real capture. */
export type TraceKind = 'dense' | 'sparse' | 'capture-shaped' | 'real capture';

/** One input, measured over interleaved rounds: each figure a median over the rounds. */
export interface MeasuredRow {
  readonly kind: TraceKind;
  /** What the row is called in the tables (`dense 256M`, `capture a57-8bit-nvhe-full`). */
  readonly trace: string;
  /** `text`, `gzip`, `msgpack` or `trace-cmd`. */
  readonly format: string;
  /** The uncompressed trace's size. */
  readonly inputMiB: number;
  readonly rounds: number;
  readonly mibPerSecond: number;
  readonly eventLinesPerSecond: number;
  readonly maxRssMiB: number;
  /** The median over rounds of analyze's time over `wc -l`'s (over `gzip -dc | wc -l`'s for gzip). */
  readonly timesWcL: number;
  /** The median over rounds of analyze's time over `grep -c`'s; NaN where there is no such baseline (gzip). */
  readonly timesGrepC: number;
}

interface Target {
  readonly name: string;
  readonly appliesTo: (row: MeasuredRow) => boolean;
  /** What is compared, formatted for the table. */
  readonly measured: (row: MeasuredRow) => string;
  readonly met: (row: MeasuredRow) => boolean;
}

const mibPerSecond = (row: MeasuredRow): string => `${row.mibPerSecond.toFixed(1)} MiB/s`;
const timesGrepC = (row: MeasuredRow): string => `${row.timesGrepC.toFixed(1)}× grep -c`;
const capturesText = (row: MeasuredRow): boolean => (row.kind === 'capture-shaped' || row.kind === 'real capture') && row.format === 'text';
/** The 1 GiB and 4 GiB inputs (a generated size lands within 1 % of its target). */
const gibOrMore = (row: MeasuredRow): boolean => row.inputMiB >= 1024 * 0.99;

/**
 * The issue's words, in its order. A NaN (unmeasured) figure meets nothing. "Events" for
 * MessagePack are event lines, as the issue counts them for text; its row reads the format
 * version `convert` writes (3).
 */
export const issueTargets: readonly Target[] = [
  {
    name: "a real capture's shape: analyze ≤ 15× grep -c",
    appliesTo: capturesText,
    measured: timesGrepC,
    met: (row) => row.timesGrepC <= 15,
  },
  {
    name: "a real capture's shape, stretch: ≤ 10× grep -c",
    appliesTo: capturesText,
    measured: timesGrepC,
    met: (row) => row.timesGrepC <= 10,
  },
  {
    name: 'dense text ≥ 250 MiB/s',
    appliesTo: (row) => row.kind === 'dense' && row.format === 'text',
    measured: mibPerSecond,
    met: (row) => row.mibPerSecond >= 250,
  },
  {
    name: 'sparse text ≥ 600 MiB/s',
    appliesTo: (row) => row.kind === 'sparse' && row.format === 'text',
    measured: mibPerSecond,
    met: (row) => row.mibPerSecond >= 600,
  },
  {
    name: 'MessagePack ≥ 5 M events/s (dense)',
    appliesTo: (row) => row.kind === 'dense' && row.format === 'msgpack',
    measured: (row) => `${(row.eventLinesPerSecond / 1e6).toFixed(2)} M event lines/s`,
    met: (row) => row.eventLinesPerSecond >= 5e6,
  },
  {
    name: 'peak RSS ≤ 256 MiB (1 GiB and 4 GiB inputs)',
    appliesTo: gibOrMore,
    measured: (row) => `${row.maxRssMiB.toFixed(0)} MiB`,
    met: (row) => row.maxRssMiB <= 256,
  },
];

export interface Verdict {
  readonly target: string;
  readonly trace: string;
  readonly format: string;
  readonly measured: string;
  readonly met: boolean;
  readonly rounds: number;
  readonly timesGrepC: number;
  readonly timesWcL: number;
}

/** Every target against every row it applies to, target by target; a row of fewer rounds than the rule asks meets none. */
export function judgeTargets(rows: readonly MeasuredRow[], targets: readonly Target[] = issueTargets): Verdict[] {
  return targets.flatMap((target) =>
    rows
      .filter((row) => target.appliesTo(row))
      .map((row) => ({
        target: target.name,
        trace: row.trace,
        format: row.format,
        measured: target.measured(row),
        met: row.rounds >= minimumRounds && target.met(row),
        rounds: row.rounds,
        timesGrepC: row.timesGrepC,
        timesWcL: row.timesWcL,
      })),
  );
}

const ratio = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(1));

/** The verdicts as a Markdown table, with a closing count. */
export function verdictTable(verdicts: readonly Verdict[]): string[] {
  const lines = ['| target | trace | format | measured (median) | met | rounds | × grep -c | × wc -l |', '|---|---|---|---|---|---|---|---|'];
  for (const verdict of verdicts) {
    lines.push(
      `| ${verdict.target} | ${verdict.trace} | ${verdict.format} | ${verdict.measured} | ${verdict.met ? 'yes' : '**no**'} | ${verdict.rounds} | ${ratio(verdict.timesGrepC)} | ${ratio(verdict.timesWcL)} |`,
    );
  }
  lines.push('', `${verdicts.filter((verdict) => verdict.met).length} of ${verdicts.length} met.`);
  return lines;
}

/** The median (the mean of the middle two for an even count); NaN for no values or an unmeasured one. */
export function median(values: readonly number[]): number {
  if (values.length === 0 || values.some((value) => Number.isNaN(value))) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
