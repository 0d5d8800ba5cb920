/**
 * The reading half of a large ftrace or `trace-cmd report` file, in a worker thread
 * (skimThread.ts is the other half): reads the file (gunzipping it if need be), splits it
 * into lines, and has the WebAssembly skimmer skip the lines of names the replaying thread
 * taught it (`learn` commands, sent when its parser skipped a line of that name). Every other
 * line goes, as bytes with its number and offset, to the replaying thread, which reads it as
 * it would have read it itself. So the skim of a sparse trace runs beside the replay of what
 * it keeps.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Readable } from 'node:stream';
import { postableError } from '../../errors.js';
import { FtraceSkimmer, SkimmedRegions, handedColumnCount } from '../lines/ftraceSkim.js';
import { LineSplitter, type LineSink, type WholeLinesReader } from '../lines/lineSplitter.js';
import { countingBytes, openTraceSource, sniffTrace } from '../readTrace.js';
import { InFlightBudget } from './inFlightBudget.js';
import { batchBuffers, type SkimCommand, type SkimMessage, type SkimRequest } from './skimProtocol.js';

/**
 * The lines of one batch handed on: their bytes end to end, their numbers, and the columns
 * the skimmer found for them (so the replaying thread need not look for them again).
 */
class HandedLines {
  private bytes = new Uint8Array(1 << 16);
  private used = 0;
  private numbers: number[] = [];
  private columns = new Int32Array(handedColumnCount * 1024);
  private columnsUsed = 0;

  /** A line as the splitter hands it on (LineSink), with the columns the skimmer found for it, if any. */
  add(source: Buffer, start: number, end: number, line: number, offset: number, truncated: boolean, found?: Int32Array, foundAt = -1): void {
    const length = end - start;
    if (this.used + length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + length));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(source.subarray(start, end), this.used);
    this.numbers.push(line, offset, this.used, this.used + length, truncated ? 1 : 0);
    this.used += length;
    if (this.columnsUsed + handedColumnCount > this.columns.length) {
      const grown = new Int32Array(this.columns.length * 2);
      grown.set(this.columns);
      this.columns = grown;
    }
    // Offsets from the line's start: they hold wherever its bytes go.
    if (found !== undefined && foundAt >= 0) this.columns.set(found.subarray(foundAt, foundAt + handedColumnCount), this.columnsUsed);
    else this.columns[this.columnsUsed] = -1;
    this.columnsUsed += handedColumnCount;
  }

  /** The batch so far, in buffers of its own (they are transferred), and an empty one started. */
  take(): { bytes: Uint8Array; lines: Float64Array; columns: Int32Array } {
    const bytes = this.bytes.slice(0, this.used);
    const lines = Float64Array.from(this.numbers);
    const columns = this.columns.slice(0, this.columnsUsed);
    this.used = 0;
    this.numbers = [];
    this.columnsUsed = 0;
    return { bytes, lines, columns };
  }
}

/** The skimmer with the names it was taught, counting what it skips by name. */
class TaughtSkimmer {
  /** The name under each of the skimmer's slots. */
  private readonly names: string[] = [];
  private counts = new Map<string, number>();
  private first: { line: number; offset: number } | undefined;
  private readonly regions: SkimmedRegions;

  constructor(private readonly skimmer: FtraceSkimmer) {
    this.regions = new SkimmedRegions(
      skimmer,
      (slot, count) => {
        const name = this.names[slot];
        if (name === undefined) throw new Error(`ftrace skimmer: lines counted under slot ${slot}, which was never taught`);
        this.counts.set(name, (this.counts.get(name) ?? 0) + count);
      },
      (line, offset) => {
        if (this.first === undefined || line < this.first.line) this.first = { line, offset };
      },
    );
  }

  learn(name: Uint8Array, flavor: number): void {
    const slot = this.skimmer.learn(name, flavor);
    if (slot >= 0) this.names[slot] = Buffer.from(name).toString('latin1');
  }

  /** The reader for the next region, or undefined for line by line (as the replaying thread's own skim decides: SkimmedRegions). */
  reader(): WholeLinesReader | undefined {
    return this.regions.next();
  }

  /** What was skipped since the last call. */
  takeSkipped(): Extract<SkimMessage, { type: 'lines' }>['skipped'] {
    const first = this.first;
    if (first === undefined) return undefined;
    const counts = [...this.counts];
    this.counts = new Map();
    this.first = undefined;
    return { line: first.line, offset: first.offset, counts };
  }
}

async function skimFile(request: SkimRequest, taught: TaughtSkimmer | undefined, post: (message: SkimMessage, transfer?: ArrayBuffer[]) => Promise<void>): Promise<void> {
  const { file, maxLineBytes } = request;
  let read = 0;
  const counted = countingBytes(openTraceSource(file, Readable.from([])), (bytes) => (read += bytes));
  const { importer, bytes } = await sniffTrace(counted, { file, ...(request.formatForced ? { format: request.format } : {}) });
  if (importer.format !== request.format) {
    await post({ type: 'other-format' });
    return;
  }
  const splitter = new LineSplitter(maxLineBytes);
  const handed = new HandedLines();
  const sink: LineSink = (...line) => handed.add(...line);
  const flush = async (): Promise<void> => {
    const batch = handed.take();
    await post({ type: 'lines', ...batch, skipped: taught?.takeSkipped(), read }, batchBuffers(batch));
  };
  // Regions of 64 KiB, as lineRecords cuts them.
  const regionBytes = 1 << 16;
  for await (const chunk of bytes) {
    for (let at = 0; at < chunk.length; at += regionBytes) splitter.pushBytes(chunk.length <= regionBytes ? chunk : chunk.subarray(at, at + regionBytes), sink, taught?.reader());
    await flush();
  }
  splitter.endBytes(sink);
  await flush();
  await post({ type: 'end' });
}

const port = parentPort;
if (port !== null) {
  const request = workerData as SkimRequest;
  const skimmer = FtraceSkimmer.create(request.maxLineBytes, request.format === 'trace-cmd');
  const taught = skimmer === undefined ? undefined : new TaughtSkimmer(skimmer);
  for (const lesson of request.lessons) taught?.learn(lesson.name, lesson.flavor);
  const budget = new InFlightBudget(request.bytesAhead);
  port.on('message', (command: SkimCommand) => {
    if (command.type === 'learn') {
      taught?.learn(command.name, command.flavor);
      return;
    }
    budget.taken(command.bytes);
  });
  const post = async (message: SkimMessage, transfer: ArrayBuffer[] = []): Promise<void> => {
    if (message.type === 'lines') await budget.postTransferring(port, message, transfer);
    else port.postMessage(message, transfer);
  };
  try {
    await skimFile(request, taught, post);
  } catch (error) {
    port.postMessage(postableError(error) satisfies SkimMessage);
  }
  port.close();
}
