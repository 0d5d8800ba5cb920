/**
 * What `analyze` asks of each trace's replay for the visual formats: the timeline (for HTML,
 * on stdout or under `--out`), and a Perfetto stream (on stdout, into `<name>.perfetto.json`
 * under `--out`, or both), opened before the replays start because it is written while they run.
 */
import type { VisualOutputs } from '../timeline/visualPasses.js';
import type { TraceOutcome } from '../report/summary.js';
import type { CliIo } from './io.js';
import { PerfettoOut } from './perfettoOut.js';

export class TraceVisuals {
  private readonly stdoutPerfetto: PerfettoOut | undefined;
  /** Per trace, its own file under --out. */
  private readonly filePerfetto: PerfettoOut[];

  constructor(
    io: CliIo,
    private readonly timeline: boolean,
    perfettoOnStdout: boolean,
    perfettoFiles: readonly string[] | undefined,
  ) {
    this.stdoutPerfetto = perfettoOnStdout ? new PerfettoOut(io.openWritable('-'), '-') : undefined;
    this.filePerfetto = (perfettoFiles ?? []).map((path) => new PerfettoOut(io.openWritable(path), path));
  }

  /** The trace at `index` is process `index + 1` in every Perfetto output. */
  forTrace(index: number): VisualOutputs | undefined {
    const outs = [this.stdoutPerfetto, this.filePerfetto[index]].filter((out) => out !== undefined);
    if (!this.timeline && outs.length === 0) return undefined;
    if (outs.length === 0) return { timeline: this.timeline };
    return { timeline: this.timeline, perfetto: { pid: index + 1, emit: (chunk) => outs.forEach((out) => out.write(chunk)) } };
  }

  /** Closes every Perfetto output with the outcomes; the first output that failed is the error. */
  async end(outcomes: readonly TraceOutcome[]): Promise<void> {
    const traces = outcomes.map((outcome, index) => ({ pid: index + 1, outcome }));
    const ends = [...(this.stdoutPerfetto === undefined ? [] : [this.stdoutPerfetto.end(traces)]), ...this.filePerfetto.map((out, index) => out.end(traces.slice(index, index + 1)))];
    const settled = await Promise.allSettled(ends);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}
