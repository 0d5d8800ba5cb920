/**
 * Per-CPU trace clocks that disagree (`generate --clock-skew`, `--clock-drift`). Each CPU
 * stamps its lines with the true time plus its own offset, which may wander; ftrace merges the
 * CPUs' buffers by timestamp, so lines are held until no line still to come can be stamped
 * earlier and then written in stamped order. A line keeps the number it has in the same trace
 * with one clock (its production order) until it is written, so the sidecar can say where each
 * hazard ended up.
 */
import type { ClockSkew } from './options.js';
import { clockSpreadUs } from './options.js';
import { Prng } from './prng.js';

interface HeldLine {
  readonly stampUs: number;
  /** Production order: the line's number in the trace with one clock. */
  readonly produced: number;
  readonly format: (stampUs: number) => string;
}

/** Held lines by stamp, then production order: a binary min-heap. */
class LineHeap {
  private readonly items: HeldLine[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeldLine | undefined {
    return this.items[0];
  }

  push(line: HeldLine): void {
    const items = this.items;
    items.push(line);
    let at = items.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(items[at] as HeldLine, items[parent] as HeldLine)) break;
      [items[at], items[parent]] = [items[parent] as HeldLine, items[at] as HeldLine];
      at = parent;
    }
  }

  pop(): HeldLine | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let least = at;
      if (left < items.length && before(items[left] as HeldLine, items[least] as HeldLine)) least = left;
      if (right < items.length && before(items[right] as HeldLine, items[least] as HeldLine)) least = right;
      if (least === at) return top;
      [items[at], items[least]] = [items[least] as HeldLine, items[at] as HeldLine];
      at = least;
    }
  }
}

function before(a: HeldLine, b: HeldLine): boolean {
  return a.stampUs < b.stampUs || (a.stampUs === b.stampUs && a.produced < b.produced);
}

/** Written numbers of recently produced lines kept for the sidecar (lines produced, modulo). */
const numbersKept = 1 << 20;

export class SkewedClocks {
  /** Time a host thread's line stands apart from every other CPU's, so their order is never in doubt. */
  readonly isolationUs: number;
  private readonly heap = new LineHeap();
  private readonly offsetUs: number[];
  private readonly baseUs: number[];
  private readonly lastStampUs: number[];
  /** The least offset any CPU can have: no line still to come is stamped before `true time + this`. */
  private readonly leastOffsetUs: number;
  private readonly prng: Prng;
  private readonly numberOf = new Int32Array(numbersKept);
  private readonly producedAt = new Int32Array(numbersKept).fill(-1);
  private written = 0;

  constructor(
    private readonly skew: ClockSkew,
    cpus: number,
    seed: number,
  ) {
    // A PRNG of its own: the workload draws the same numbers with or without skewed clocks.
    this.prng = new Prng((seed ^ 0x5eed_c10c) >>> 0);
    this.baseUs = Array.from({ length: cpus }, (_, cpu) => skew.offsetsUs.get(cpu) ?? 0);
    this.offsetUs = [...this.baseUs];
    this.lastStampUs = new Array<number>(cpus).fill(Number.NEGATIVE_INFINITY);
    this.leastOffsetUs = Math.min(0, ...this.baseUs.map((base) => base - skew.driftUs));
    this.isolationUs = clockSpreadUs(skew, cpus) + 10;
  }

  /** The stamp `cpu` gives to an event at `trueUs`; a CPU's own clock never goes back. */
  stamp(cpu: number, trueUs: number): number {
    const drift = this.skew.driftUs;
    if (drift > 0) {
      const base = this.baseUs[cpu] ?? 0;
      const step = Math.max(1, Math.floor(drift / 50));
      const next = (this.offsetUs[cpu] ?? base) + this.prng.int(-step, step);
      this.offsetUs[cpu] = Math.min(base + drift, Math.max(base - drift, next));
    }
    const stampUs = Math.max(trueUs + (this.offsetUs[cpu] ?? 0), (this.lastStampUs[cpu] ?? Number.NEGATIVE_INFINITY) + 1);
    this.lastStampUs[cpu] = stampUs;
    return stampUs;
  }

  hold(stampUs: number, produced: number, format: (stampUs: number) => string): void {
    this.heap.push({ stampUs, produced, format });
  }

  /** Writes (to `out`) every held line no line still to come can precede; `trueUs`: now. */
  release(trueUs: number, out: (text: string) => void): void {
    const limit = trueUs + this.leastOffsetUs;
    for (let next = this.heap.peek(); next !== undefined && next.stampUs < limit; next = this.heap.peek()) this.write(this.heap.pop() as HeldLine, out);
  }

  /** Writes every held line (the end of the trace). */
  releaseAll(out: (text: string) => void): void {
    while (this.heap.size > 0) this.write(this.heap.pop() as HeldLine, out);
  }

  private write(line: HeldLine, out: (text: string) => void): void {
    this.written += 1;
    const slot = line.produced % numbersKept;
    this.numberOf[slot] = this.written;
    this.producedAt[slot] = line.produced;
    out(line.format(line.stampUs));
  }

  /** The written number of the line produced as `produced`, once written. */
  writtenNumber(produced: number): number | undefined {
    const slot = produced % numbersKept;
    return this.producedAt[slot] === produced ? this.numberOf[slot] : undefined;
  }

  /** Lines written so far. */
  get writtenLines(): number {
    return this.written;
  }
}
