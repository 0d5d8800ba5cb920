/**
 * The timeline collector and the Perfetto writer of one analysis, made anew for each replay
 * pass (replayTypes.ts, `stepObservers`): a file of per-CPU runs is replayed a second time and
 * its first pass thrown away (perCpuRuns.ts), and only the last pass's observers saw the result.
 *
 * The Perfetto events of a first pass that may be thrown away are held back, since what is
 * written cannot be taken back; up to `holdBackChars`, then the pass gives up on them and, if
 * it stands after all, the analysis replays the file once more for Perfetto alone
 * (`needsPerfettoPass`). A pass after the first, or a first pass that cannot be replayed again
 * (stdin, CSV, MessagePack), streams its events as they come.
 */
import type { Report } from '../report/report.js';
import type { StepObserver } from '../steps/step.js';
import { TimelineCollector, defaultTimelineLimits, type TimelineLimits } from './collector.js';
import { PerfettoStepWriter } from './perfettoEvents.js';
import type { Timeline } from './types.js';

/** What an analysis makes beside its report, for the HTML and Perfetto formats. */
export interface VisualOutputs {
  /** Collect the timeline the HTML report draws. */
  readonly timeline: boolean;
  /** Stream the Perfetto JSON events of the trace, as process `pid`, to `emit` (chunks of events, no separators at their ends). */
  readonly perfetto?: { readonly pid: number; readonly emit: (chunk: string) => void };
  readonly timelineLimits?: TimelineLimits;
}

/** 64 Mi characters of JSON: a million events or so. */
export const defaultHoldBackChars = 64 << 20;

interface Pass {
  readonly collector: TimelineCollector | undefined;
  perfetto: PerfettoStepWriter | undefined;
  /** The chunks held back, or `gave-up`, or `streamed`. */
  held: string[] | 'gave-up' | 'streamed';
}

export class VisualPasses {
  private readonly passes: Pass[] = [];

  /**
   * @param firstMayBeDiscarded whether the first pass may be replaced by another (a file whose runs could be merged)
   */
  constructor(
    private readonly file: string,
    private readonly outputs: VisualOutputs,
    private readonly firstMayBeDiscarded: boolean,
    private readonly holdBackChars = defaultHoldBackChars,
  ) {}

  /** The `stepObservers` option. */
  readonly observers = (): readonly StepObserver[] => {
    const holdBack = this.passes.length === 0 && this.firstMayBeDiscarded;
    for (const earlier of this.passes) earlier.held = 'gave-up';
    const collector = this.outputs.timeline ? new TimelineCollector(this.outputs.timelineLimits ?? defaultTimelineLimits) : undefined;
    const perfetto = this.outputs.perfetto;
    let heldChars = 0;
    const pass: Pass = { collector, perfetto: undefined, held: holdBack ? [] : 'streamed' };
    if (perfetto !== undefined) {
      pass.perfetto = new PerfettoStepWriter(perfetto.pid, this.file, (chunk) => {
        if (pass.held === 'streamed') return perfetto.emit(chunk);
        if (pass.held === 'gave-up') return;
        heldChars += chunk.length;
        if (heldChars > this.holdBackChars) pass.held = 'gave-up';
        else pass.held.push(chunk);
      });
    }
    this.passes.push(pass);
    return [...(collector === undefined ? [] : [collector.observe]), ...(pass.perfetto === undefined ? [] : [pass.perfetto.observe])];
  };

  private get last(): Pass | undefined {
    return this.passes[this.passes.length - 1];
  }

  /** The result's timeline, if one was collected. */
  timeline(): Timeline | undefined {
    return this.last?.collector?.timeline();
  }

  /** Whether the pass that stands gave up its Perfetto events: they need a pass of their own. */
  get needsPerfettoPass(): boolean {
    return this.outputs.perfetto !== undefined && this.last?.held === 'gave-up';
  }

  /** Hands on what the standing pass held back, then the events that need the report (findings). */
  finish(report: Report | undefined): void {
    const pass = this.last;
    const perfetto = this.outputs.perfetto;
    if (pass?.perfetto === undefined || perfetto === undefined || pass.held === 'gave-up') return;
    if (pass.held !== 'streamed') for (const chunk of pass.held) perfetto.emit(chunk);
    pass.held = 'streamed';
    pass.perfetto.finish(report);
  }
}
