/**
 * Reading a large MessagePack trace on two cores: msgpackWorker.ts reads, checks and filters
 * its blocks in a worker thread; this side makes the records of the rows it keeps, exactly as
 * the in-thread reader (msgpackReader.ts) makes them, and teaches the worker each event name
 * and body flavor the filter refuses. Until the worker knows a name, its rows come across and
 * are refused here, counted as the in-thread reader counts them. Tests hold both readers to
 * the same report.
 */
import { Worker } from 'node:worker_threads';
import type { ReadOptions } from '../importer.js';
import { BlockStrings } from '../msgpack/msgpackColumns.js';
import { msgpackMagic } from '../msgpack/msgpackFormat.js';
import { recordBatches, unusedRecord } from '../msgpack/msgpackReader.js';
import { rowFields } from '../msgpack/msgpackRows.js';
import { transferredBytes } from './inFlightBudget.js';
import { readingThreadOutcome, readingThreadSample } from './readingThread.js';
import { keptBlockBuffers, lessonKey, type KeptBlock, type MsgpackThreadCommand, type MsgpackThreadMessage, type MsgpackThreadRequest } from './msgpackThreadProtocol.js';
import type { ReadRecord } from '../records.js';

/** Beside this module, as the bundle also has it (scripts/bundle.ts: every entry in one folder). */
const workerUrl = new URL('./msgpackWorker.js', import.meta.url);

/** Blocks the worker may have posted and not yet seen taken, in bytes (a dense block is about 600 KiB). */
const bytesAhead = 16 << 20;

/**
 * Whether `file` is worth reading with a MessagePack thread: a regular file of at least
 * `minBytes`, read with a filter, as MessagePack or sniffed, that starts as a MessagePack
 * trace (plain or gzip).
 */
export function msgpackThreadPlan(file: string, options: ReadOptions, minBytes: number): boolean {
  if (file === '-' || options.wantEvent === undefined || (options.format !== undefined && options.format !== 'msgpack')) return false;
  // 4 KiB, not the magic's 8 bytes: a gzip file's first bytes inflate to nothing.
  const start = readingThreadSample(file, minBytes, 1 << 12);
  return start !== undefined && start.length >= msgpackMagic.length && start.subarray(0, msgpackMagic.length).equals(msgpackMagic);
}

/**
 * The events of one block that the worker kept but the filter refuses: refused here, counted
 * with the worker's own count, and taught to the worker.
 */
class BlockRefusals {
  private first: { line: number; offset: number } | undefined;
  private readonly counts = new Map<string, number>();
  /** Per name index and body flavor: 0 not asked yet, 1 wanted, -1 refused. */
  private readonly answers: Int8Array;

  constructor(
    private readonly block: KeptBlock,
    private readonly strings: BlockStrings,
    private readonly wanted: (name: string, opensWithLocation: boolean) => boolean,
  ) {
    this.answers = new Int8Array(strings.length * 2);
    this.first = block.refused?.first;
    for (const [name, count] of block.refused?.counts ?? []) this.counts.set(name, count);
  }

  readonly refuse = (nameIndex: number, opensWithLocation: boolean, line: number, offset: number): boolean => {
    const slot = nameIndex * 2 + (opensWithLocation ? 1 : 0);
    if (this.answers[slot] === 0) this.answers[slot] = this.wanted(this.strings.at(nameIndex), opensWithLocation) ? 1 : -1;
    if (this.answers[slot] === 1) return false;
    const name = this.strings.at(nameIndex);
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    if (this.first === undefined || line < this.first.line) this.first = { line, offset };
    return true;
  };

  /** All the block's refused events, as the in-thread reader counts them. */
  readonly unused = (): ReadRecord | undefined => unusedRecord(this.block.file, this.first, [...this.counts]);
}

/**
 * Reads a MessagePack file with a reading thread, pushing each batch of records to `consume`
 * as it is made; rejects with the reader's error, or with what `consume` threw. `onRead`
 * hears how many bytes of the file were read.
 */
export function readMsgpackWithThread(file: string, options: ReadOptions, consume: (records: ReadRecord[]) => void, onRead?: (bytes: number) => void): Promise<'done'> {
  const wantEvent = options.wantEvent;
  const request: MsgpackThreadRequest = { file, bytesAhead };
  const worker = new Worker(workerUrl, { workerData: request });
  const send = (command: MsgpackThreadCommand): void => worker.postMessage(command);
  /** The filter's answer per name and flavor; a refusal is taught to the worker the first time. */
  const answers = new Map<string, boolean>();
  const wanted = (name: string, opensWithLocation: boolean): boolean => {
    const key = lessonKey(name, opensWithLocation);
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = wantEvent === undefined || wantEvent(name, opensWithLocation);
      answers.set(key, answer);
      if (!answer) send({ type: 'learn', name, opensWithLocation });
    }
    return answer;
  };
  const takeBlock = (block: KeptBlock): void => {
    onRead?.(block.read);
    const strings = new BlockStrings(Buffer.from(block.blob.buffer, block.blob.byteOffset, block.blob.byteLength), block.ends);
    const refusals = new BlockRefusals(block, strings, wanted);
    for (const batch of recordBatches(block.rows, block.rows.length / rowFields, strings, block.file, refusals.unused, refusals.refuse)) consume(batch);
    // Records hold copies of the strings they need: the buffers go back to be filled again.
    // A fresh buffer per block, freed by the collector, cost a tenth of a sparse run in page
    // faults and scavenges.
    const buffers = keptBlockBuffers(block);
    worker.postMessage({ type: 'credit', bytes: transferredBytes(buffers), buffers } satisfies MsgpackThreadCommand, buffers);
  };
  return readingThreadOutcome<MsgpackThreadMessage, 'done'>(worker, file, (message) => {
    if (message.type === 'end') return 'done';
    takeBlock(message);
    return undefined;
  });
}
