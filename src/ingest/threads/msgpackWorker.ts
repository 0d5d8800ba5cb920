/**
 * The reading half of a large MessagePack trace, in a worker thread (msgpackThread.ts is the
 * other half): reads the file (gunzipping it if need be), checks every frame, block and row,
 * and keeps the rows of every record but the events of names the replaying thread taught it
 * to refuse, which it only counts. The kept rows go across as numbers with the block's string
 * table; the replaying thread makes their records. So CRC checks, column decoding and the
 * rows of a sparse trace's unused events cost the replaying thread nothing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Readable } from 'node:stream';
import { postableError } from '../../errors.js';
import { decompressIfGzip } from '../gzip.js';
import { InFlightBudget } from './inFlightBudget.js';
import { msgpackBlocks } from '../msgpack/msgpackReader.js';
import { KeptRows, keepRows, rowFields } from '../msgpack/msgpackRows.js';
import { keptBlockBuffers, lessonKey, type KeptBlock, type MsgpackThreadCommand, type MsgpackThreadMessage, type MsgpackThreadRequest } from './msgpackThreadProtocol.js';
import { countingBytes, openTraceSource } from '../readTrace.js';

/**
 * Buffers the replaying thread handed back (with its credits), filled again for the next
 * blocks: bounded by what is in flight, as the budget bounds it.
 */
class SpareBuffers {
  private readonly spare: ArrayBuffer[] = [];

  give(buffers: readonly ArrayBuffer[]): void {
    this.spare.push(...buffers);
  }

  /**
   * A buffer of at least `bytes`. A new one when no spare is large enough, and then the
   * smallest spare is let go: the spares never outnumber the buffers that were in flight.
   */
  take(bytes: number): ArrayBuffer {
    const at = this.spare.findIndex((buffer) => buffer.byteLength >= bytes);
    if (at !== -1) return this.spare.splice(at, 1)[0] as ArrayBuffer;
    if (this.spare.length > 0) {
      let smallest = 0;
      for (let i = 1; i < this.spare.length; i++) if ((this.spare[i] as ArrayBuffer).byteLength < (this.spare[smallest] as ArrayBuffer).byteLength) smallest = i;
      this.spare.splice(smallest, 1);
    }
    return new ArrayBuffer(Math.max(bytes, 1 << 16));
  }

  /** `values` copied into a spare buffer. */
  copy<T extends Uint8Array | Float64Array>(values: T, make: (buffer: ArrayBuffer, length: number) => T): T {
    const copied = make(this.take(values.byteLength), values.length);
    copied.set(values);
    return copied;
  }
}

async function readBlocks(request: MsgpackThreadRequest, refused: ReadonlySet<string>, spare: SpareBuffers, post: (block: KeptBlock) => Promise<void>): Promise<void> {
  let read = 0;
  const counted = countingBytes(openTraceSource(request.file, Readable.from([])), (bytes) => (read += bytes));
  const filter = (name: string, opensWithLocation: boolean): boolean => !refused.has(lessonKey(name, opensWithLocation));
  const kept = new KeptRows();
  for await (const { columns, file, fail } of msgpackBlocks(decompressIfGzip(counted, request.file), { file: request.file })) {
    const refusedEvents = keepRows(columns, fail, filter, kept);
    const strings = columns.strings.table();
    const first = refusedEvents.first;
    await post({
      type: 'block',
      file,
      blob: spare.copy(strings.blob, (buffer, length) => new Uint8Array(buffer, 0, length)),
      ends: spare.copy(strings.ends, (buffer, length) => new Float64Array(buffer, 0, length)),
      rows: spare.copy(kept.values.subarray(0, kept.count * rowFields), (buffer, length) => new Float64Array(buffer, 0, length)),
      refused: first === undefined ? undefined : { first, counts: refusedEvents.counts(columns.strings) },
      read,
    });
  }
}

const port = parentPort;
if (port !== null) {
  const request = workerData as MsgpackThreadRequest;
  const refused = new Set<string>();
  const budget = new InFlightBudget(request.bytesAhead);
  const spare = new SpareBuffers();
  port.on('message', (command: MsgpackThreadCommand) => {
    if (command.type === 'learn') {
      refused.add(lessonKey(command.name, command.opensWithLocation));
      return;
    }
    spare.give(command.buffers);
    budget.taken(command.bytes);
  });
  const send = (message: MsgpackThreadMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  try {
    await readBlocks(request, refused, spare, async (block) => {
      await budget.postTransferring(port, block, keptBlockBuffers(block));
    });
    send({ type: 'end' });
  } catch (error) {
    send(postableError(error));
  }
  port.close();
}
