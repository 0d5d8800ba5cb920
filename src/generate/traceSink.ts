/**
 * Where generated lines go: numbers them (1-based, as the analyzer reports them), stamps
 * them with a clock that only moves forward (ftrace merges CPUs by timestamp, and a CPU going
 * back in time is data loss to the analyzer), drops the lines a lost-event burst swallows, and
 * batches the text for the streaming writer. Holds at most one batch: the caller drains it
 * (`take()`) whenever `pendingBytes` passes its threshold.
 */
import { mayDecode } from '../events/decode.js';
import type { LineFormatter, LineSource } from './lineFormat.js';
import type { Prng } from './prng.js';
import type { SkewedClocks } from './skewedClocks.js';

export interface LossMarker {
  readonly line: number;
  readonly cpu: number;
  readonly count: number;
}

export class TraceSink {
  /**
   * Lines produced so far; the next line is `lines + 1`. With one clock that is its number in
   * the file; with skewed clocks lines are written in stamped order (`writtenNumber`).
   */
  lines = 0;
  /** Bytes written so far (the text is ASCII, so characters are bytes). */
  bytes = 0;
  /** The first lost-event marker: every finding after it is inconclusive. */
  firstLoss: LossMarker | undefined;
  private batch: string[] = [];
  private batchBytes = 0;
  /** The clock starts at 100 s, as if the capture began a while after boot. */
  static readonly startUs = 100_000_000;
  private tsUs = TraceSink.startUs;
  /** Per CPU, how many more of its lines the current burst swallows. */
  private readonly swallowing = new Map<number, number>();
  /** The CPU of the last line written that the analyzer replays (not kvm_entry, sched_switch, ...). */
  lastReplayedCpu: number | undefined;

  constructor(
    readonly formatter: LineFormatter,
    private readonly prng: Prng,
    private readonly clocks?: SkewedClocks,
  ) {}

  /** Whether CPUs stamp lines with clocks of their own (`--clock-skew`, `--clock-drift`). */
  get skewed(): boolean {
    return this.clocks !== undefined;
  }

  /** Where the line produced as `line` is in the file, once written; the same with one clock. */
  writtenNumber(line: number): number | undefined {
    return this.clocks === undefined ? line : this.clocks.writtenNumber(line);
  }

  /**
   * Lets time pass, so that what comes next on one CPU cannot be stamped before what came so
   * far on another: for steps whose cross-CPU order a finding depends on and nothing the
   * allocator records pins down. Nothing with one clock.
   */
  pause(): void {
    if (this.clocks !== undefined) this.tsUs += this.clocks.isolationUs;
  }

  /** Writes every line still held for its stamp (the end of the trace). */
  flush(): void {
    this.clocks?.releaseAll(this.append);
  }

  private readonly append = (text: string): void => {
    this.batch.push(text, '\n');
    this.batchBytes += text.length + 1;
  };

  get pendingBytes(): number {
    return this.batchBytes;
  }

  /** Empties the batch, returning its text. */
  take(): string {
    const text = this.batch.join('');
    this.batch = [];
    this.batchBytes = 0;
    return text;
  }

  /** A line written as is (headers); returns its number. */
  raw(text: string): number {
    this.lines += 1;
    this.bytes += text.length + 1;
    if (this.clocks === undefined) this.append(text);
    else {
      this.clocks.hold(Number.NEGATIVE_INFINITY, this.lines, () => text);
      this.clocks.release(this.tsUs, this.append);
    }
    return this.lines;
  }

  /**
   * An event line; returns its number, or undefined when a lost-event burst swallowed it.
   * The clock advances either way (the event happened; the buffer did not keep it).
   */
  event(source: LineSource, name: string, body: string): number | undefined {
    this.tsUs += this.prng.int(1, 24);
    const left = this.swallowing.get(source.cpu);
    if (left !== undefined) {
      if (left <= 1) this.swallowing.delete(source.cpu);
      else this.swallowing.set(source.cpu, left - 1);
      return undefined;
    }
    if (mayDecode(name, body.startsWith('('), undefined)) this.lastReplayedCpu = source.cpu;
    const clocks = this.clocks;
    if (clocks === undefined) return this.raw(this.formatter.event(source, this.tsUs, name, body));
    return this.skewedEvent(clocks, source, name, body);
  }

  /**
   * An event stamped by its CPU's own clock. A host thread's line (VMM or driver work) stands
   * apart in time from every other CPU's by more than the clocks disagree: nothing the
   * allocator records says how such work and a vCPU on another CPU interleaved, so a trace
   * made to be reordered must not leave that in doubt.
   */
  private skewedEvent(clocks: SkewedClocks, source: LineSource, name: string, body: string): number {
    if (source.hostThread === true) this.tsUs += clocks.isolationUs;
    this.lines += 1;
    const produced = this.lines;
    const stampUs = clocks.stamp(source.cpu, this.tsUs);
    const text = this.formatter.event(source, stampUs, name, body);
    this.bytes += text.length + 1;
    clocks.hold(stampUs, produced, () => text);
    if (source.hostThread === true) this.tsUs += clocks.isolationUs;
    clocks.release(this.tsUs, this.append);
    return produced;
  }

  /**
   * `CPU:n [LOST m EVENTS]`, then the next `count` lines of that CPU are dropped. The marker
   * goes where the first lost event would have been rather than where ftrace would notice the
   * gap (before that CPU's next surviving event). The analyzer, reading the marker as ftrace
   * means it, takes the loss to start right after CPU n's last event; the caller loses events
   * of the CPU that wrote the last replayed line (`lastReplayedCpu`), so that start is the
   * marker too, and the analyzer's "inconclusive after a loss" is exact.
   */
  lost(cpu: number, count: number): LossMarker {
    const marker = { line: this.raw(this.formatter.lost(cpu, count)), cpu, count };
    this.firstLoss ??= marker;
    this.swallowing.set(cpu, (this.swallowing.get(cpu) ?? 0) + count);
    return marker;
  }
}
