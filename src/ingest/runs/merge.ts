/**
 * Merges per-CPU runs back into timestamp order, as tracefs merges its per-CPU ring buffers: a
 * k-way merge of the runs' records by (timestamp, run), each run read from its own place in the
 * input. Memory is one reader and one batch of records per run, whatever the input's size.
 *
 * Within a run records stay in their order (what is slightly out of order there, the reorder
 * window sorts out after the merge). Records without a timestamp travel just before the run's
 * next event, as the reorder buffer has them; headers and counts of unused lines go out at once.
 * Equal timestamps go in run order: tracefs takes the lowest CPU first, and per-CPU files are
 * pasted in CPU order.
 */
import { endSource } from '../endSource.js';
import type { EventRecord, ReadRecord } from '../records.js';

/** Records per batch handed on. */
const batchRecords = 4096;

class RunCursor {
  /** The run's next event; undefined once the run is read to its end. */
  head: EventRecord | undefined;
  /** Records without a timestamp before `head`: they go out just before it. */
  waiting: ReadRecord[] = [];
  private batch: readonly ReadRecord[] = [];
  private at = 0;

  constructor(
    readonly index: number,
    readonly batches: AsyncIterator<ReadRecord[]>,
  ) {}

  /**
   * Moves `head` to the run's next event, handing `now` what goes out at once; a promise only
   * when the next batch has to be read first.
   */
  advance(now: ReadRecord[]): Promise<void> | undefined {
    this.head = undefined;
    if (this.scan(now)) return undefined;
    return this.readOn(now);
  }

  private async readOn(now: ReadRecord[]): Promise<void> {
    for (;;) {
      const next = await this.batches.next();
      if (next.done === true) return;
      this.batch = next.value;
      this.at = 0;
      if (this.scan(now)) return;
    }
  }

  private scan(now: ReadRecord[]): boolean {
    const batch = this.batch;
    while (this.at < batch.length) {
      const record = batch[this.at++] as ReadRecord;
      if (record.type === 'event') {
        this.head = record;
        return true;
      }
      if (record.type === 'header' || record.type === 'unused-events') now.push(record);
      else this.waiting.push(record);
    }
    return false;
  }

  /** Hands on the waiting records and the head. */
  takeHead(out: ReadRecord[]): void {
    this.takeWaiting(out);
    out.push(this.head as EventRecord);
  }

  /** Hands on the waiting records (at the run's end: those after its last event). */
  takeWaiting(out: ReadRecord[]): void {
    if (this.waiting.length === 0) return;
    for (const record of this.waiting) out.push(record);
    this.waiting = [];
  }
}

function before(a: RunCursor, b: RunCursor): boolean {
  const x = a.head as EventRecord;
  const y = b.head as EventRecord;
  return x.tsUs !== y.tsUs ? x.tsUs < y.tsUs : x.tsNs !== y.tsNs ? x.tsNs < y.tsNs : a.index < b.index;
}

/** A binary min-heap of cursors by their head; the top is replaced in place as it moves on. */
class CursorHeap {
  readonly items: RunCursor[] = [];

  push(cursor: RunCursor): void {
    const items = this.items;
    let i = items.length;
    items.push(cursor);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as RunCursor;
      if (!before(cursor, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = cursor;
  }

  /** The top moved on (or ended, `undefined`): restores the order. */
  replaceTop(cursor: RunCursor | undefined): void {
    const items = this.items;
    if (cursor === undefined) {
      const last = items.pop() as RunCursor;
      if (items.length === 0) return;
      cursor = last;
    }
    const size = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      if (right < size && before(items[right] as RunCursor, items[left] as RunCursor)) child = right;
      const c = items[child] as RunCursor;
      if (!before(c, cursor)) break;
      items[i] = c;
      i = child;
    }
    items[i] = cursor;
  }
}

/** The records of `runs` (each the batches of one run, in input order) in timestamp order, in batches. */
export async function* mergeRuns(runs: readonly AsyncIterator<ReadRecord[]>[]): AsyncGenerator<ReadRecord[]> {
  const cursors = runs.map((batches, index) => new RunCursor(index, batches));
  let out: ReadRecord[] = [];
  try {
    const heap = new CursorHeap();
    for (const cursor of cursors) {
      await cursor.advance(out);
      if (cursor.head !== undefined) heap.push(cursor);
      else cursor.takeWaiting(out);
    }
    while (heap.items.length > 0) {
      const cursor = heap.items[0] as RunCursor;
      cursor.takeHead(out);
      const reading = cursor.advance(out);
      if (reading !== undefined) await reading;
      if (cursor.head !== undefined) {
        heap.replaceTop(cursor);
      } else {
        cursor.takeWaiting(out);
        heap.replaceTop(undefined);
      }
      if (out.length >= batchRecords) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    await Promise.all(cursors.map((cursor) => endSource(cursor.batches)));
  }
}
