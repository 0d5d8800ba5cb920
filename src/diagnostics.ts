/**
 * Diagnostics are data (Perfetto's `stats.h`): every skipped line, lost-event marker or
 * replay anomaly is counted under a stable code with a severity and a source, never printed
 * from below `cli/`.
 */

export type DiagnosticSeverity = 'info' | 'notice' | 'warning' | 'data-loss' | 'error';
/** `trace`: the trace itself recorded it (a lost-event marker); `analysis`: we found it. */
export type DiagnosticSource = 'trace' | 'analysis';

export interface DiagnosticSpec {
  readonly severity: DiagnosticSeverity;
  readonly source: DiagnosticSource;
  readonly description: string;
}

export const diagnosticSpecs = {
  'malformed-line': { severity: 'error', source: 'analysis', description: 'a line that is neither a header, a marker nor an ftrace event line' },
  'malformed-event': { severity: 'error', source: 'analysis', description: 'a recognised event whose fields could not be read' },
  'continuation-line': { severity: 'info', source: 'analysis', description: 'a line that continues the previous event (stack trace, wrapped output)' },
  'lost-events': { severity: 'data-loss', source: 'trace', description: 'the ring buffer dropped events (`CPU:N [LOST M EVENTS]`)' },
  'buffer-started': { severity: 'notice', source: 'trace', description: 'a per-CPU buffer started mid-trace (`##### CPU N buffer started ####`): older events of that CPU were overwritten' },
  'timestamp-backwards': { severity: 'data-loss', source: 'analysis', description: 'an event older than an already replayed event of the same CPU, by more than the reorder window: what follows is inconclusive' },
  'reorder-window-exceeded': { severity: 'data-loss', source: 'analysis', description: 'an event older than already replayed events of other CPUs, by more than the reorder window (e.g. per-CPU files concatenated): what follows is inconclusive' },
  'per-cpu-runs-merged': { severity: 'info', source: 'analysis', description: 'runs whose timestamps restart far back (per-CPU files pasted together), too far apart for the reorder window, read each from its place in the file and merged by timestamp (counted per run)' },
  'per-cpu-runs-unmerged': { severity: 'notice', source: 'analysis', description: 'runs whose timestamps restart far back that could not be merged (stdin, a CPU going back in time, CSV or MessagePack): the detail says why and what to do; what the late events touched is inconclusive (counted per run)' },
  'reordered': { severity: 'info', source: 'analysis', description: 'a record that arrived out of timestamp order and was merged back within the reorder window' },
  'unused-event': { severity: 'info', source: 'analysis', description: 'an event the tool does not use (counted by name)' },
  'unrecognised-probe': { severity: 'notice', source: 'analysis', description: 'a dynamic event at a probe location the tool has no meaning for' },
  'probe-map-fits': { severity: 'notice', source: 'analysis', description: 'the unrecognised probes are a known probe set (names at the same functions and offsets): the shipped probe map named reads them (`--map NAME`)' },
  'unreadable-lines': { severity: 'data-loss', source: 'analysis', description: 'more than 1 % of the lines that should be events could not be read (malformed lines and events): the replay may have missed what they held, so findings from the first of them on are inconclusive' },
  'missing-return': { severity: 'data-loss', source: 'analysis', description: 'an allocator call whose return probe never came; it was replayed at its entry' },
  'entry-race': { severity: 'info', source: 'analysis', description: 'an update read the VM\'s id before another CPU\'s racing update changed it (entry probes see the pre-lock value); replayed as the kernel does: slow path, id re-read under the lock' },
  'cross-cpu-skew': {
    severity: 'info',
    source: 'analysis',
    description:
      "the allocator's own observations show two CPUs' racing events in another order than stamped (the trace clock, e.g. the per-CPU `local` one, does not order CPUs exactly); the replay adopted that order",
  },
  'snapshot-skew': {
    severity: 'info',
    source: 'analysis',
    description: "a probe's snapshot of another CPU's active VMID shows a value that CPU held within the skew bound of it, not the one it held at that point of the replay: that value is written without the lock, and the trace clock does not order CPUs exactly",
  },
  'skew-unresolved': {
    severity: 'data-loss',
    source: 'analysis',
    description: "an observation of the allocator that the model reproduces in no order of the CPUs' events the search tried, though another order within the skew bound comes closer: the clocks cannot say whether the kernel or the timestamps are at odds with the model, so what follows is inconclusive (with a trusted clock, --skew-bound 0 makes it a divergence)",
  },
  'orphan-return': { severity: 'notice', source: 'analysis', description: 'a return probe without a matching entry on that CPU' },
  'unknown-vm': { severity: 'notice', source: 'analysis', description: 'an event for a VM pointer with no creation in the trace (the VM is assumed created before the trace began)' },
  'config-conflict': { severity: 'notice', source: 'analysis', description: 'the trace header and the command line disagree; the command line wins' },
  'smmu-not-in-trace': { severity: 'warning', source: 'analysis', description: '--btm or --smmu-vmid-bits names an SMMU the trace never shows (a misspelt name?): that setting applied to nothing' },
  'cmdlist-truncated': { severity: 'data-loss', source: 'trace', description: 'an SMMU command list longer than the captured array: later commands are unknown' },
  'cpu-out-of-range': { severity: 'error', source: 'analysis', description: 'an allocator event on a CPU number not below the configured CPU count' },
} as const satisfies Record<string, DiagnosticSpec>;

export type DiagnosticCode = keyof typeof diagnosticSpecs;

export interface DiagnosticSample {
  readonly file: string;
  readonly line: number;
  readonly detail: string;
}

export interface DiagnosticCount {
  readonly code: DiagnosticCode;
  readonly severity: DiagnosticSeverity;
  readonly source: DiagnosticSource;
  count: number;
  /** The first few occurrences, so a report can point at real lines. */
  readonly samples: DiagnosticSample[];
}

const samplesKept = 5;

/** Per-run diagnostic counters; each replay owns one. */
export class Diagnostics {
  private readonly byCode = new Map<DiagnosticCode, DiagnosticCount>();
  /** Unused events by event name, so "ignored" never hides a typo in a probe name. */
  readonly unusedByName = new Map<string, number>();

  add(code: DiagnosticCode, sample: DiagnosticSample, times = 1): void {
    let entry = this.byCode.get(code);
    if (entry === undefined) {
      const spec = diagnosticSpecs[code];
      entry = { code, severity: spec.severity, source: spec.source, count: 0, samples: [] };
      this.byCode.set(code, entry);
    }
    entry.count += times;
    if (entry.samples.length < samplesKept) entry.samples.push(sample);
  }

  countUnused(name: string, times = 1): void {
    this.unusedByName.set(name, (this.unusedByName.get(name) ?? 0) + times);
  }

  count(code: DiagnosticCode): number {
    return this.byCode.get(code)?.count ?? 0;
  }

  list(): DiagnosticCount[] {
    return [...this.byCode.values()].sort((a, b) => a.code.localeCompare(b.code));
  }
}
