/**
 * A fixed number of time buckets that covers any trace in one pass: bucket 0 starts at the
 * first time seen, every bucket is `bucketUs` wide, and when a time falls past the last bucket
 * the width doubles and each pair of neighbours merges into one (the first half of the buckets
 * then covers what all of them did). Memory is the bucket count times the lanes, whatever the
 * trace's length; the price is that a bucket is as wide as the trace needs, up to twice the
 * narrowest width that would have covered it. Two passes over the file would give the exact
 * width, but stdin and gzip streams are read once, and the replay is the costly part.
 */

/** Something kept per bucket, which merges pairs of buckets when the grid widens. */
interface MergingSeries {
  mergePairs(): void;
}

export class BucketGrid {
  private start: number | undefined;
  private width = 1;
  private readonly series: MergingSeries[] = [];

  constructor(readonly count: number) {
    if (count < 2 || (count & (count - 1)) !== 0) throw new Error(`bucket count must be a power of two, found ${count}`);
  }

  get startUs(): number {
    return this.start ?? 0;
  }

  get bucketUs(): number {
    return this.width;
  }

  register(series: MergingSeries): void {
    this.series.push(series);
  }

  /** Widens the grid until it covers `tsUs` (a time before the start is clamped to it). */
  cover(tsUs: number): void {
    if (this.start === undefined) this.start = tsUs;
    while (tsUs >= this.start + this.width * this.count) {
      this.width *= 2;
      for (const series of this.series) series.mergePairs();
    }
  }

  /** The bucket of a covered time. */
  indexOf(tsUs: number): number {
    const offset = tsUs - this.startUs;
    return offset <= 0 ? 0 : Math.min(this.count - 1, Math.floor(offset / this.width));
  }

  bucketStart(index: number): number {
    return this.startUs + index * this.width;
  }
}

/** Each bucket's `[n]` and `[2n + 1]` merged into `[n]`, the upper half emptied. */
function mergePairsOf<T>(cells: (T | undefined)[], merge: (a: T | undefined, b: T | undefined) => T | undefined): void {
  const half = cells.length / 2;
  for (let i = 0; i < half; i++) cells[i] = merge(cells[2 * i], cells[2 * i + 1]);
  cells.fill(undefined, half);
}

/** Owners and their time in parallel arrays: a bucket keeps a handful, so a scan beats a map (and makes no garbage). */
interface MutableOccupancy {
  busyUs: number;
  changes: number;
  readonly owners: string[];
  readonly us: number[];
  otherUs: number;
}

/**
 * Who occupied a lane, and for how long, per bucket. A bucket keeps the `maxOwners` owners with
 * the most time; a newcomer to a full bucket displaces the least if it has more (the loser's
 * time is folded into `otherUs`), so a bucket shared by more owners than that names its main
 * ones, not all of them.
 */
export class OccupancySeries implements MergingSeries {
  private readonly cells: (MutableOccupancy | undefined)[];

  constructor(
    private readonly grid: BucketGrid,
    private readonly maxOwners: number,
  ) {
    this.cells = new Array<MutableOccupancy | undefined>(grid.count).fill(undefined);
    grid.register(this);
  }

  private cell(index: number): MutableOccupancy {
    let cell = this.cells[index];
    if (cell === undefined) this.cells[index] = cell = { busyUs: 0, changes: 0, owners: [], us: [], otherUs: 0 };
    return cell;
  }

  /** `owner` held the lane from `fromUs` to `toUs` (both covered by the grid). */
  occupy(owner: string, fromUs: number, toUs: number): void {
    const grid = this.grid;
    const from = Math.max(fromUs, grid.startUs);
    if (toUs <= from) return;
    for (let index = grid.indexOf(from); index <= grid.indexOf(toUs - 1); index++) {
      const bucketStart = grid.bucketStart(index);
      const us = Math.min(toUs, bucketStart + grid.bucketUs) - Math.max(from, bucketStart);
      if (us > 0) {
        const cell = this.cell(index);
        cell.busyUs += us;
        this.add(cell, owner, us);
      }
    }
  }

  /** The occupant changed at `tsUs` (covered). */
  change(tsUs: number): void {
    this.cell(this.grid.indexOf(tsUs)).changes++;
  }

  /** `us` more for `owner` in `cell` (its busy time counted by the caller). */
  private add(cell: MutableOccupancy, owner: string, us: number): void {
    const at = cell.owners.indexOf(owner);
    if (at >= 0) {
      cell.us[at] = (cell.us[at] as number) + us;
      return;
    }
    if (cell.owners.length < this.maxOwners) {
      cell.owners.push(owner);
      cell.us.push(us);
      return;
    }
    let least = 0;
    for (let i = 1; i < cell.us.length; i++) if ((cell.us[i] as number) < (cell.us[least] as number)) least = i;
    const leastUs = cell.us[least] as number;
    if (us <= leastUs) {
      cell.otherUs += us;
      return;
    }
    cell.otherUs += leastUs;
    cell.owners[least] = owner;
    cell.us[least] = us;
  }

  /** The left bucket of each pair takes in the right one (no new cells: merges happen at every doubling). */
  mergePairs(): void {
    mergePairsOf(this.cells, (a, b) => {
      if (a === undefined || b === undefined) return a ?? b;
      a.busyUs += b.busyUs;
      a.changes += b.changes;
      a.otherUs += b.otherUs;
      for (let i = 0; i < b.owners.length; i++) this.add(a, b.owners[i] as string, b.us[i] as number);
      return a;
    });
  }

  /** Non-empty buckets in order, owners most time first (ties by name, so the output is deterministic). */
  *entries(): Generator<{ bucket: number; busyUs: number; changes: number; owners: [string, number][]; otherUs: number }> {
    for (const [bucket, cell] of this.cells.entries()) {
      if (cell === undefined) continue;
      const owners = cell.owners.map((owner, i): [string, number] => [owner, cell.us[i] as number]).sort(([a, aUs], [b, bUs]) => bUs - aUs || (a < b ? -1 : a > b ? 1 : 0));
      yield { bucket, busyUs: cell.busyUs, changes: cell.changes, owners, otherUs: cell.otherUs };
    }
  }
}

interface MutableCounter {
  min: number;
  max: number;
  last: number;
}

/** A counter's samples per bucket: least, most and last value. */
export class CounterSeries implements MergingSeries {
  private readonly cells: (MutableCounter | undefined)[];

  constructor(private readonly grid: BucketGrid) {
    this.cells = new Array<MutableCounter | undefined>(grid.count).fill(undefined);
    grid.register(this);
  }

  /** The counter became `value` at `tsUs` (covered). */
  sample(tsUs: number, value: number): void {
    const index = this.grid.indexOf(tsUs);
    const cell = this.cells[index];
    if (cell === undefined) this.cells[index] = { min: value, max: value, last: value };
    else {
      cell.min = Math.min(cell.min, value);
      cell.max = Math.max(cell.max, value);
      cell.last = value;
    }
  }

  mergePairs(): void {
    mergePairsOf(this.cells, (a, b) => (a === undefined || b === undefined ? (a ?? b) : { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), last: b.last }));
  }

  entries(): { bucket: number; min: number; max: number; last: number }[] {
    return this.cells.flatMap((cell, bucket) => (cell === undefined ? [] : [{ bucket, ...cell }]));
  }
}

/** How many times something happened per bucket. */
export class CountSeries implements MergingSeries {
  private readonly counts: (number | undefined)[];

  constructor(private readonly grid: BucketGrid) {
    this.counts = new Array<number | undefined>(grid.count).fill(undefined);
    grid.register(this);
  }

  add(tsUs: number, times: number): void {
    const index = this.grid.indexOf(tsUs);
    this.counts[index] = (this.counts[index] ?? 0) + times;
  }

  mergePairs(): void {
    mergePairsOf(this.counts, (a, b) => (a === undefined || b === undefined ? (a ?? b) : a + b));
  }

  entries(): { bucket: number; count: number }[] {
    return this.counts.flatMap((count, bucket) => (count === undefined ? [] : [{ bucket, count }]));
  }
}
