/**
 * Merges records into timestamp order within a bounded window before they are decoded.
 *
 * tracefs merges its per-CPU ring buffers by timestamp, so a `trace` file is in order; but
 * per-CPU files concatenated (`trace-cmd extract` per CPU, `per_cpu/cpuN/trace` pasted one
 * after another) or CPUs whose clocks differ slightly are not:
 *
 *   CPU 1/KVM-4001 [001] d..1.     1.000003: vmid_update_ret: (... <- kvm_arm_vmid_update) ...
 *   qemu-system-aar-4711 [000] d..1.     1.000001: vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) ...
 *
 * Records are held and released smallest key first, the key being (timestamp, position in the
 * input), so equal timestamps keep their input order. A record is released once it is more than
 * `windowUs` older than the newest timestamp seen, or when more than `maxRecords` are held: memory
 * is bounded by the record count whatever the window. A record older than one already released
 * arrived beyond the window: it is handed on at once through `late`, so the replay can mark what
 * follows inconclusive.
 *
 * Ordered input costs one comparison and an append to a ring (the `run`); only a record that
 * arrives older than the newest held goes into a min-heap.
 *
 * Event lines the replay has no use for never get here (Replay.push counts them): the window
 * and the going-backwards test are about the lines that are replayed.
 *
 * Records without a timestamp (lost-event and buffer-started markers, malformed and continuation
 * lines) travel with the next timestamped record, just before it: ftrace prints
 * `CPU:2 [LOST 3 EVENTS]` right before the first event of CPU 2 after the loss. Header lines are
 * handed on at once: they carry the system facts every event needs.
 */

import type { TraceRecord } from '../../ingest/records.js';
import { CpuRunDetector } from '../../ingest/runs/detect.js';

/** 1 ms: covers cross-CPU skew of the per-CPU `local` clock by far, and holds few records. */
export const defaultReorderWindowUs = 1000;
/** About 40 MB of held records at most, whatever the window. */
export const defaultReorderMaxRecords = 100_000;

/** CPU numbers with their own slot for the going-backwards test; higher ones share the last. */
const cpuSlots = 4096;

export interface ReorderLimits {
  /** How far back in time (µs of the trace clock) a record may arrive and still be merged; 0: no reordering. */
  readonly windowUs: number;
  /** How many records are held at most. */
  readonly maxRecords: number;
}

/** Why a record is late: its own CPU had newer events already replayed, or other CPUs had. */
export type LateReason = 'cpu-backwards' | 'beyond-window';

export interface ReorderSink {
  /** A record in merged order. */
  inOrder(record: TraceRecord): void;
  /** A record that arrived after records younger than it were released. */
  late(record: TraceRecord, reason: LateReason): void;
  /** A record that arrived out of order and was merged back (counted, nothing else). */
  reordered(record: TraceRecord): void;
}

interface HeapEntry {
  readonly record: TraceRecord;
  readonly us: number;
  readonly ns: number;
  readonly seq: number;
}

function less(aUs: number, aNs: number, aSeq: number, bUs: number, bNs: number, bSeq: number): boolean {
  return aUs !== bUs ? aUs < bUs : aNs !== bNs ? aNs < bNs : aSeq < bSeq;
}

/** A binary min-heap on (us, ns, seq). */
class MinHeap {
  private readonly items: HeapEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapEntry | undefined {
    return this.items[0];
  }

  push(entry: HeapEntry): void {
    const items = this.items;
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as HeapEntry;
      if (!less(entry.us, entry.ns, entry.seq, p.us, p.ns, p.seq)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  pop(): HeapEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      let child = left;
      const l = items[left] as HeapEntry;
      if (right < items.length) {
        const r = items[right] as HeapEntry;
        if (less(r.us, r.ns, r.seq, l.us, l.ns, l.seq)) child = right;
      }
      const c = items[child] as HeapEntry;
      if (!less(c.us, c.ns, c.seq, last.us, last.ns, last.seq)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/**
 * The in-order run: a ring of records with non-decreasing keys, in parallel arrays so that
 * ordered input allocates nothing per record. The capacity is a power of two (index by mask).
 */
class Run {
  private records: (TraceRecord | undefined)[] = new Array<TraceRecord | undefined>(1024);
  private us: number[] = new Array<number>(1024).fill(0);
  private ns: number[] = new Array<number>(1024).fill(0);
  private seq: number[] = new Array<number>(1024).fill(0);
  private head = 0;
  private mask = 1023;
  size = 0;

  private grow(): void {
    const capacity = this.records.length;
    const records = new Array<TraceRecord | undefined>(capacity * 2);
    const us = new Array<number>(capacity * 2).fill(0);
    const ns = new Array<number>(capacity * 2).fill(0);
    const seq = new Array<number>(capacity * 2).fill(0);
    for (let i = 0; i < this.size; i++) {
      const from = (this.head + i) & this.mask;
      records[i] = this.records[from];
      us[i] = this.us[from] as number;
      ns[i] = this.ns[from] as number;
      seq[i] = this.seq[from] as number;
    }
    this.records = records;
    this.us = us;
    this.ns = ns;
    this.seq = seq;
    this.head = 0;
    this.mask = capacity * 2 - 1;
  }

  push(record: TraceRecord, us: number, ns: number, seq: number): void {
    if (this.size === this.records.length) this.grow();
    const at = (this.head + this.size) & this.mask;
    this.records[at] = record;
    this.us[at] = us;
    this.ns[at] = ns;
    this.seq[at] = seq;
    this.size++;
  }

  /** Whether a record with this key may be appended (not older than the newest held). */
  acceptsAtTail(us: number, ns: number): boolean {
    if (this.size === 0) return true;
    const tail = (this.head + this.size - 1) & this.mask;
    const tailUs = this.us[tail] as number;
    return us > tailUs || (us === tailUs && ns >= (this.ns[tail] as number));
  }

  headUs(): number {
    return this.us[this.head] as number;
  }

  headNs(): number {
    return this.ns[this.head] as number;
  }

  headSeq(): number {
    return this.seq[this.head] as number;
  }

  shift(): TraceRecord {
    const record = this.records[this.head] as TraceRecord;
    this.records[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return record;
  }
}

export class ReorderBuffer {
  private readonly run = new Run();
  private readonly heap = new MinHeap();
  /** Untimed records waiting for the next timestamped one. */
  private untimed: TraceRecord[] = [];
  private seq = 0;
  private newestUs = -Infinity;
  /** Key of the last record released (the watermark): anything older is late. */
  private releasedUs = -Infinity;
  private releasedNs = 0;
  /**
   * Per CPU, the timestamp of its last released event, to tell a CPU going backwards: arrays
   * indexed by CPU number (a CPU number beyond `cpuSlots` is too rare to be worth a Map).
   */
  private readonly lastUsByCpu: number[] = new Array<number>(cpuSlots).fill(-Infinity);
  private readonly lastNsByCpu: number[] = new Array<number>(cpuSlots).fill(0);

  /** The input's per-CPU runs, seen on the way: what the window cannot merge, a second pass may. */
  readonly runs: CpuRunDetector;

  constructor(
    private readonly limits: ReorderLimits,
    private readonly sink: ReorderSink,
  ) {
    this.runs = new CpuRunDetector(limits.windowUs);
  }

  push(record: TraceRecord): void {
    if (record.type !== 'event') {
      this.runs.untimed(record);
      if (record.type === 'header') this.sink.inOrder(record);
      else this.untimed.push(record);
      return;
    }
    this.runs.event(record);
    const us = record.tsUs;
    const ns = record.tsNs;
    if (us < this.releasedUs || (us === this.releasedUs && ns < this.releasedNs)) {
      this.releaseUntimed();
      const slot = record.cpu >= 0 && record.cpu < cpuSlots ? record.cpu : cpuSlots - 1;
      const lastUs = this.lastUsByCpu[slot] as number;
      const backwards = us < lastUs || (us === lastUs && ns < (this.lastNsByCpu[slot] as number));
      this.sink.late(record, backwards ? 'cpu-backwards' : 'beyond-window');
      return;
    }
    const untimed = this.untimed;
    if (untimed.length > 0) {
      this.untimed = [];
      for (const held of untimed) this.hold(held, us, ns);
    }
    this.hold(record, us, ns);
    if (us > this.newestUs) this.newestUs = us;
    this.releaseDue();
  }

  /** End of input: releases everything held, in order. */
  flush(): void {
    while (this.run.size + this.heap.size > 0) this.releaseOne();
    this.releaseUntimed();
  }

  private hold(record: TraceRecord, us: number, ns: number): void {
    const seq = this.seq++;
    if (this.run.acceptsAtTail(us, ns)) {
      this.run.push(record, us, ns, seq);
    } else {
      this.sink.reordered(record);
      this.heap.push({ record, us, ns, seq });
    }
  }

  /** Untimed records with no timestamped record after them go out in their input order. */
  private releaseUntimed(): void {
    const untimed = this.untimed;
    if (untimed.length === 0) return;
    this.untimed = [];
    for (const record of untimed) this.sink.inOrder(record);
  }

  private releaseDue(): void {
    const limit = this.newestUs - this.limits.windowUs;
    for (;;) {
      const held = this.run.size + this.heap.size;
      if (held === 0) return;
      if (held <= this.limits.maxRecords) {
        const top = this.heap.peek();
        const oldestUs = this.run.size === 0 ? (top as HeapEntry).us : top === undefined ? this.run.headUs() : Math.min(top.us, this.run.headUs());
        if (oldestUs >= limit) return;
      }
      this.releaseOne();
    }
  }

  private releaseOne(): void {
    const top = this.heap.peek();
    let record: TraceRecord;
    let us: number;
    let ns: number;
    if (top !== undefined && (this.run.size === 0 || less(top.us, top.ns, top.seq, this.run.headUs(), this.run.headNs(), this.run.headSeq()))) {
      this.heap.pop();
      ({ record, us, ns } = top);
    } else {
      us = this.run.headUs();
      ns = this.run.headNs();
      record = this.run.shift();
    }
    this.releasedUs = us;
    this.releasedNs = ns;
    if (record.type === 'event') {
      const slot = record.cpu >= 0 && record.cpu < cpuSlots ? record.cpu : cpuSlots - 1;
      this.lastUsByCpu[slot] = us;
      this.lastNsByCpu[slot] = ns;
    }
    this.sink.inOrder(record);
  }
}
