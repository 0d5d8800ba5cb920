/**
 * Finds per-CPU runs in an input: per-CPU files pasted one after another
 * (`per_cpu/cpuN/trace`, or `trace-cmd extract` per CPU), each in time order on its own, so the
 * timestamps restart far back where the next file begins:
 *
 *   CPU 3/KVM-4004 [003] d..1.   100.077306: vmid_clear_active: (kvm_arm_vmid_clear_active+0x0/0x34)
 *   # tracer: nop
 *   qemu-system-aar-2016 [000] d..1.   100.000014: vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) ...
 *
 * A run starts where an event is older than the newest of the run before by more than the
 * reorder window; its header block (lines without a timestamp just before it, tracefs prints
 * one per file) belongs to it. The runs can be merged back by timestamp only if they are that:
 * streams of their own CPUs, no CPU's own timestamps going back. A CPU that goes back in time
 * (two captures pasted together, a clock that jumped) makes the input something a merge by
 * timestamp would get wrong.
 *
 * It sees the records in input order, one comparison or two each, and keeps a few numbers per
 * run and per CPU.
 */
import type { EventFilter } from '../importer.js';
import type { EventRecord, ReadRecord, SourceSpan, TraceRecord } from '../records.js';

/** Where a run starts. */
export interface CpuRun {
  /** Its first line (the run's header block, if it has one) in the (decompressed) input. */
  readonly line: number;
  readonly offset: number;
  /** The event that went back in time and started it (none for the first run): its CPU and time. */
  readonly back?: { readonly cpu: number; readonly us: number };
}

/** CPU numbers with their own slot; a higher one cannot be told apart from others, so it counts as going back. */
const cpuSlots = 4096;
/** The runs remembered at most: far more than CPUs means no per-CPU files. */
export const maxRuns = cpuSlots;

export type RunsVerdict =
  | { readonly kind: 'one-run' }
  | { readonly kind: 'per-cpu-runs'; readonly runs: readonly CpuRun[] }
  /**
   * Runs, but not streams of their own CPUs: `cpuBack` is the first event of a CPU older than
   * that CPU's newest by more than the window; undefined when there were more than `maxRuns`.
   */
  | { readonly kind: 'not-per-cpu'; readonly runs: readonly CpuRun[]; readonly cpuBack: { readonly span: SourceSpan; readonly cpu: number } | undefined };

export class CpuRunDetector {
  private readonly runs: CpuRun[] = [];
  private runNewestUs = -Infinity;
  private readonly newestUsByCpu: number[] = new Array<number>(cpuSlots).fill(-Infinity);
  /** The first line without a timestamp since the last event: where a run that starts next begins. */
  private untimedSince: SourceSpan | undefined;
  private cpuBack: { readonly span: SourceSpan; readonly cpu: number } | undefined;

  constructor(private readonly windowUs: number) {}

  /** A record without a timestamp (header, lost-event marker, malformed line), in input order. */
  untimed(record: TraceRecord): void {
    // A continuation line belongs to the event before it, so to that event's run.
    if (this.untimedSince === undefined && record.type !== 'continuation') this.untimedSince = record.span;
  }

  /** An event the replay orders, in input order. */
  event(record: EventRecord): void {
    const us = record.tsUs;
    const windowUs = this.windowUs;
    if (us + windowUs < this.runNewestUs) {
      if (this.runs.length === 0) this.runs.push({ line: 1, offset: 0 });
      const start = this.untimedSince ?? record.span;
      if (this.runs.length <= maxRuns) this.runs.push({ line: start.line, offset: start.offset, back: { cpu: record.cpu, us } });
      this.runNewestUs = us;
    } else if (us > this.runNewestUs) {
      this.runNewestUs = us;
    }
    this.untimedSince = undefined;
    const cpu = record.cpu;
    const slot = cpu >= 0 && cpu < cpuSlots ? cpu : cpuSlots - 1;
    const newest = this.newestUsByCpu[slot] as number;
    if (us + windowUs < newest || slot !== cpu) this.cpuBack ??= { span: record.span, cpu };
    else if (us > newest) this.newestUsByCpu[slot] = us;
  }

  /**
   * The records of a batch a replay would order (`wantEvent` as Replay.push applies it), for a
   * reader that only looks for runs.
   */
  observe(batch: readonly ReadRecord[], wantEvent: EventFilter): void {
    for (const record of batch) {
      if (record.type === 'event') {
        if (wantEvent(record.name, record.body.charCodeAt(0) === 0x28 /* ( */)) this.event(record);
      } else if (record.type !== 'unused-events') {
        this.untimed(record);
      }
    }
  }

  /** Whether runs were found and no CPU went back in time so far: a merge may be worth a second pass. */
  perCpuRunsSoFar(): boolean {
    return this.runs.length > 0 && this.cpuBack === undefined;
  }

  verdict(): RunsVerdict {
    const runs = this.runs;
    if (runs.length === 0) return { kind: 'one-run' };
    if (this.cpuBack !== undefined || runs.length > maxRuns) return { kind: 'not-per-cpu', runs, cpuBack: this.cpuBack };
    return { kind: 'per-cpu-runs', runs };
  }
}
