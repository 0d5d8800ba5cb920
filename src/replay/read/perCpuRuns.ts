/**
 * Per-CPU files pasted one after another: the runs the reader found (ingest/runs/detect.ts) are
 * read each from its own place in the file and merged by timestamp (ingest/runs/merge.ts) into
 * a new replay, whose result replaces the first pass's. Where that cannot be done (stdin, CSV,
 * a CPU going back in time) the windowed replay stands, what the late events touched
 * inconclusive, and a diagnostic says why and what would fix it.
 */
import type { Importer } from '../../ingest/importer.js';
import { rereadableFile, sniffFile } from '../../ingest/readTrace.js';
import { maxRuns, type CpuRun, type RunsVerdict } from '../../ingest/runs/detect.js';
import { mergeableFormats, readMergedRuns } from '../../ingest/runs/read.js';
import { ReplayFeed, readOptionsFor } from './feed.js';
import { Replay, type ReplayOptions, type ReplayResult } from '../replay.js';

/** Why per-CPU runs were not merged, and what the user can do about it. */
const unmergedBecause = {
  stream: 'a stream is read once, so they cannot be merged: pass the file instead of stdin, sort the trace by timestamp, or give a --reorder-window longer than the trace (it holds 100000 records at most)',
  format: 'only ftrace and trace-cmd report text are merged: sort the trace by timestamp, or convert it from the original text',
  'cpu-back': 'a CPU goes back in time, so they are not per-CPU files (two captures pasted together, a clock that jumped) and merging by timestamp could be wrong: sort the trace by timestamp, or split it',
  'too-many-runs': `more than ${maxRuns} runs are not per-CPU files: sort the trace by timestamp`,
} as const;

type UnmergedBecause = keyof typeof unmergedBecause;

/** A file whose runs can be merged: a regular file in a line format, and how to read it; else why not. */
export type MergeableSource = { readonly gzip: boolean; readonly importer: Importer } | 'stream' | 'format';

/** Whether `file` could have its runs merged (a peek at its first bytes, not a pass). */
export async function mergeableSource(file: string, options: ReplayOptions): Promise<MergeableSource> {
  const rereadable = await rereadableFile(file);
  if (rereadable === undefined) return 'stream';
  const format = options.inputFormat === 'auto' ? undefined : options.inputFormat;
  const importer = await sniffFile(file, rereadable.gzip, { file, csvMap: options.csvMap, format });
  return mergeableFormats.has(importer.format) ? { gzip: rereadable.gzip, importer } : 'format';
}

/** The second pass: `runs` of `file` merged by timestamp into a new replay. */
export async function replayMergedRuns(file: string, source: { readonly gzip: boolean; readonly importer: Importer }, runs: readonly CpuRun[], options: ReplayOptions, first: ReplayFeed): Promise<ReplayResult> {
  const replay = new Replay(options);
  const feed = new ReplayFeed(replay, first.laterPass());
  for await (const batch of readMergedRuns(file, source.gzip, runs, source.importer, readOptionsFor(file, options, replay))) feed.push(batch);
  const merged = replay.finish();
  const starts = runs.map((run) => run.line);
  merged.diagnostics.add(
    'per-cpu-runs-merged',
    { file, line: starts[1] as number, detail: `${starts.length} runs whose timestamps restart far back (per-CPU files pasted together), read each from its place and merged by timestamp; they start at lines ${listed(starts)}` },
    starts.length,
  );
  return merged;
}

/**
 * When the input had runs the window could not merge and they were not merged, says so: why
 * (the runs are not per-CPU ones, or the `source` cannot be merged) and what would fix it.
 */
export function noteUnmergedRuns(result: ReplayResult, file: string, runs: RunsVerdict, source: MergeableSource): void {
  if (runs.kind === 'one-run') return;
  const lateEvents = result.diagnostics.count('reorder-window-exceeded') + result.diagnostics.count('timestamp-backwards');
  if (lateEvents === 0) return;
  const because: UnmergedBecause | undefined = runs.kind === 'not-per-cpu' ? (runs.cpuBack === undefined ? 'too-many-runs' : 'cpu-back') : typeof source === 'string' ? source : undefined;
  if (because === undefined) return;
  const where = runs.kind === 'not-per-cpu' && runs.cpuBack !== undefined ? ` (CPU ${runs.cpuBack.cpu} at line ${runs.cpuBack.span.line})` : '';
  const starts = runs.runs.map((run) => run.line);
  result.diagnostics.add(
    'per-cpu-runs-unmerged',
    { file, line: starts[1] as number, detail: `${starts.length} runs whose timestamps restart far back, at lines ${listed(starts)}: ${unmergedBecause[because]}${where}` },
    starts.length,
  );
}

/** The first few numbers of a list, and how many more. */
function listed(numbers: readonly number[]): string {
  const shown = 8;
  return numbers.length <= shown ? numbers.join(', ') : `${numbers.slice(0, shown).join(', ')} and ${numbers.length - shown} more`;
}
