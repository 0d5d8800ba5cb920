/**
 * The byte-level reading of both line grammars, ftrace text and `trace-cmd report` text, in
 * WebAssembly (the module built from wasm/ftraceSkim.ts: SIMD compares giving bit masks of
 * each line's first 64 bytes). Most lines of a sparse trace are events the replay has no use
 * for, and all it needs of them is that they are well-formed event lines and their name: the
 * module finds that on the bytes, with the copy into its memory, several times faster than
 * the string grammar makes the line's record.
 *
 * The module skips only lines whose name and body flavor it was taught (`learn`) by the line
 * reader (lineReader.ts) after the filter refused a line of that name, and only when the line
 * passes checks under which the string grammar reads it as an event line of that name and
 * flavor. Every other line is handed back, with its position, to be read by the line reader;
 * a well-formed event line also with its columns, from which the reader makes its record
 * without the string grammar. Property tests hold both to the string grammar's records.
 */
import { ftraceSkimWasm } from './ftraceSkimWasm.js';
import type { ReadOptions } from '../importer.js';
import { defaultMaxLineBytes, type WholeLinesReader } from './lineSplitter.js';

/** What the module exports (wasm/ftraceSkim.ts). */
interface SkimExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  setup(): number;
  inputPointer(): number;
  inputBytes(): number;
  handoverPointer(): number;
  handoverEntrySize(): number;
  scratchPointer(): number;
  touchedPointer(): number;
  namesPointer(): number;
  nameSlotSize(): number;
  nameMaxLength(): number;
  lines(): number;
  touched(): number;
  firstSkipped(): number;
  firstSkippedAt(): number;
  learn(length: number, flavor: number): number;
  drain(): void;
  skim(length: number, maxLineBytes: number, format: number): number;
}

/** The part of the WebAssembly API used here (Node's own; @types/node does not declare it). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

const webAssembly = (globalThis as unknown as { readonly WebAssembly?: WebAssemblyApi }).WebAssembly;

/**
 * Compiled once per process (a few kilobytes, well under a millisecond); each skimmer has its
 * own instance and memory, so two traces read in one process share nothing but this.
 */
const skimModule: object | undefined = compileSkimModule();

function compileSkimModule(): object | undefined {
  if (webAssembly === undefined) return undefined;
  try {
    return new webAssembly.Module(Buffer.from(ftraceSkimWasm, 'base64'));
  } catch {
    // A runtime without WebAssembly SIMD: the string grammar reads every line.
    return undefined;
  }
}

/** How many numbers the skimmer hands over per line (wasm/ftraceSkim.ts, `storeColumns`), in the order SkimmedColumns.load reads them. */
export const handedColumnCount = 13;

/** The two ways the filter is asked about a name, as bits the module keeps per name. */
export const skimFlavorPlain = 1;
export const skimFlavorWithLocation = 2;

/**
 * Receives a line the module did not skip: `[lineStart, newline)` of the buffer given to `read`,
 * its index among the region's lines, and where in `columnWords` the columns it found for the
 * line start (SkimmedColumns.load; -1: none, and only until the next region is read).
 */
export type HandBack = (lineStart: number, newline: number, index: number, columnsAt: number) => void;

/** Receives the count of lines skipped under a taught name's slot. */
export type SkippedCount = (slot: number, count: number) => void;

/** Regions (64 KiB each, lineRecords.ts) read without the skimmer after one where it did not pay. */
const skimPauseRegions = 16;

/**
 * Whether skimming a region paid: a line the skimmer hands back without its columns is read
 * twice, by the module and then by the string grammar; a line it skips, or hands back with
 * its columns found, saves the string grammar's work, several times the module's. It pays
 * where it saved that on a third of the lines. `wasted` counts the first kind.
 */
function skimPaid(lines: number, wasted: number): boolean {
  return (lines - wasted) * 3 >= lines;
}

/**
 * The skimmer as the reader of a LineSplitter's whole regions, left out where it does not pay:
 * after a region where it saved too little (skimPaid), the next `skimPauseRegions` regions
 * are read line by line, unless `alwaysSkim` (tests).
 */
export class SkimmedRegions {
  private pause = 0;
  private readonly read: WholeLinesReader;

  /** `skipped` and `firstSkipped` as FtraceSkimmer.readRegion takes them. */
  constructor(skimmer: FtraceSkimmer, skipped: SkippedCount, firstSkipped: (line: number, offset: number) => void, alwaysSkim = false) {
    this.read = (...region) => {
      const { lines, handed, handedWithColumns } = skimmer.readRegion(region, skipped, firstSkipped);
      if (!alwaysSkim && !skimPaid(lines, handed - handedWithColumns)) this.pause = skimPauseRegions;
      return lines;
    };
  }

  /** The reader for the next region, or undefined to have it read line by line. */
  next(): WholeLinesReader | undefined {
    if (this.pause === 0) return this.read;
    this.pause--;
    return undefined;
  }
}

export class FtraceSkimmer {
  private readonly exports: SkimExports;
  private readonly memory: Uint8Array;
  private readonly words: Uint32Array;
  /** The module's memory as signed words: where handed-back lines' columns are read (`HandBack`). */
  readonly columnWords: Int32Array;
  private readonly handoverEntryWords: number;
  private readonly inputAt: number;
  private readonly capacity: number;

  /**
   * A skimmer of ftrace text, or (`traceCmd`) of `trace-cmd report` text, handing lines back
   * with the columns FtraceColumns or TraceCmdColumns load; undefined where this runtime
   * cannot run the module.
   */
  static create(maxLineBytes: number, traceCmd = false): FtraceSkimmer | undefined {
    if (skimModule === undefined || webAssembly === undefined) return undefined;
    const instance = new webAssembly.Instance(skimModule, {
      env: {
        abort: () => {
          throw new Error('ftrace skimmer: internal error');
        },
      },
    });
    return new FtraceSkimmer(instance.exports as SkimExports, maxLineBytes, traceCmd ? 1 : 0);
  }

  private constructor(
    exports: SkimExports,
    private readonly maxLineBytes: number,
    /** The module's code for the line grammar (0 ftrace, 1 trace-cmd). */
    private readonly format: number,
  ) {
    this.exports = exports;
    exports.setup();
    // The memory never grows after setup(), so these views stay valid.
    this.memory = new Uint8Array(exports.memory.buffer);
    this.words = new Uint32Array(exports.memory.buffer);
    this.columnWords = new Int32Array(exports.memory.buffer);
    this.handoverEntryWords = exports.handoverEntrySize() >>> 2;
    this.inputAt = exports.inputPointer();
    this.capacity = exports.inputBytes();
  }

  /**
   * Teaches the module that lines named `name` (ASCII bytes) are skipped in `flavor`; returns
   * the slot their counts come under, or -1 when the name is too long to be kept there.
   */
  learn(name: Uint8Array, flavor: number): number {
    if (name.length > this.exports.nameMaxLength()) return -1;
    this.memory.set(name, this.exports.scratchPointer());
    return this.exports.learn(name.length, flavor);
  }

  /**
   * Reads the whole lines in `buf[start, end)` (`end` is just past a newline), at most the
   * module's input size at once (larger regions are read in parts by the caller, `readLines`):
   * counts the lines it skips (`skipped`, and the first of them to `firstSkipped`), hands back
   * the others, and returns how many lines there were.
   */
  private readPart(buf: Uint8Array, start: number, end: number, handBack: HandBack, skipped: SkippedCount, firstSkipped: (index: number, lineStart: number) => void): number {
    const exports = this.exports;
    this.memory.set(buf.subarray(start, end), this.inputAt);
    const handed = exports.skim(end - start, this.maxLineBytes, this.format);
    const touched = exports.touched();
    if (touched > 0) {
      const touchedWord = exports.touchedPointer() >>> 2;
      const namesWord = exports.namesPointer() >>> 2;
      const slotWords = exports.nameSlotSize() >>> 2;
      for (let i = 0; i < touched; i++) {
        const slot = this.words[touchedWord + i] as number;
        skipped(slot, this.words[namesWord + slot * slotWords + 2] as number);
      }
      exports.drain();
    }
    const firstIndex = exports.firstSkipped();
    if (firstIndex >= 0) firstSkipped(firstIndex, start + exports.firstSkippedAt());
    const handoverWord = exports.handoverPointer() >>> 2;
    for (let i = 0; i < handed; i++) {
      const entry = handoverWord + i * this.handoverEntryWords;
      handBack(start + (this.words[entry] as number), start + (this.words[entry + 1] as number), this.words[entry + 2] as number, entry + 3);
    }
    return exports.lines();
  }

  /**
   * `readLines` for a region of a stream of lines, as a WholeLinesReader gets it (the first line
   * numbered `firstLine` at byte `firstOffset`): lines go back to `sinkLine` with their number,
   * offset and columns (in `columnWords`, -1 where none were found); the first skipped one goes
   * to `firstSkipped`. Returns how many lines there were, how many were handed back, and how
   * many of those with their columns.
   */
  readRegion(
    region: Parameters<WholeLinesReader>,
    skipped: SkippedCount,
    firstSkipped: (line: number, offset: number) => void,
  ): { lines: number; handed: number; handedWithColumns: number } {
    const [buf, start, end, firstLine, firstOffset, sinkLine] = region;
    let handed = 0;
    let handedWithColumns = 0;
    const lines = this.readLines(
      buf,
      start,
      end,
      (lineStart, newline, index, columnsAt) => {
        handed += 1;
        if (columnsAt >= 0 && (this.columnWords[columnsAt] as number) >= 0) handedWithColumns += 1;
        sinkLine(lineStart, newline, firstLine + index, firstOffset + lineStart - start, this.columnWords, columnsAt);
      },
      skipped,
      (index, lineStart) => firstSkipped(firstLine + index, firstOffset + lineStart - start),
    );
    return { lines, handed, handedWithColumns };
  }

  /**
   * `readPart` over a region of any size: cut at newlines into parts that fit the module's
   * input; a line longer than that is handed back whole. Indices count from the region's first
   * line. `firstSkipped` hears of the first line skipped in each part.
   */
  readLines(buf: Uint8Array, start: number, end: number, handBack: HandBack, skipped: SkippedCount, firstSkipped: (index: number, lineStart: number) => void): number {
    let lines = 0;
    const shifted: HandBack = (lineStart, newline, index, columnsAt) => handBack(lineStart, newline, lines + index, columnsAt);
    while (start < end) {
      let stop = end;
      if (stop - start > this.capacity) {
        const cut = buf.lastIndexOf(0x0a, start + this.capacity - 1);
        if (cut < start) {
          const newline = buf.indexOf(0x0a, start);
          handBack(start, newline, lines, -1);
          lines += 1;
          start = newline + 1;
          continue;
        }
        stop = cut + 1;
      }
      // The callbacks see `lines` as it was before this part: the part's own indices count from there.
      const partLines = this.readPart(buf, start, stop, shifted, skipped, (index, lineStart) => firstSkipped(lines + index, lineStart));
      lines += partLines;
      start = stop;
    }
    return lines;
  }
}

/** A skimmer for a reader of ftrace or (`traceCmd`) trace-cmd text, only where there is something to skip: lines the consumer refuses. */
export function skimmerFor(options: ReadOptions, traceCmd: boolean): FtraceSkimmer | undefined {
  if (options.wantEvent === undefined || options.wasmSkim === false) return undefined;
  return FtraceSkimmer.create(options.maxLineBytes ?? defaultMaxLineBytes, traceCmd);
}
