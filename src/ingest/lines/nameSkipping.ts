/**
 * What a byte-level line parser (ftraceBytes.ts, traceCmdBytes.ts) does with the lines it
 * skips, for either line grammar: counts them by name, and lets a skimmer skip their like from
 * then on, the WebAssembly one here (ftraceSkim.ts) or one in another thread (skimThread.ts).
 */
import type { EventFilter } from '../importer.js';
import { type FtraceSkimmer, SkimmedRegions, skimFlavorPlain, skimFlavorWithLocation } from './ftraceSkim.js';
import { KnownNames, type KnownName } from './knownNames.js';
import type { LineBytesParser } from './lineRecords.js';
import type { WholeLinesReader } from './lineSplitter.js';
import type { ReadRecord } from '../records.js';

/**
 * The parser's use of the WebAssembly skimmer: it teaches the skimmer each name and body
 * flavor the parser skipped, reads whole regions with it, counts what it skipped under the
 * parser's names, and leaves it out for a while where it does not pay.
 */
class SkimmedNames {
  /** The names taught to the skimmer, by its slot for them. */
  private readonly bySlot: (KnownName | undefined)[] = [];
  private readonly regions: SkimmedRegions;

  constructor(
    private readonly skimmer: FtraceSkimmer,
    names: KnownNames,
    /** Never pause (tests). */
    alwaysSkim: boolean,
  ) {
    this.regions = new SkimmedRegions(
      skimmer,
      (slot, count) => {
        const known = this.bySlot[slot];
        if (known === undefined) throw new Error(`ftrace skimmer: lines counted under slot ${slot}, which was never taught`);
        names.countSkipped(known, count);
      },
      (line, offset) => names.noteSkippedLine(line, offset),
      alwaysSkim,
    );
  }

  /**
   * The reader for the next region's whole lines, or undefined to have the parser read each
   * (SkimmedRegions: the skimmer is left out for a while where it does not pay).
   */
  wholeLinesReader(): WholeLinesReader | undefined {
    return this.regions.next();
  }

  /** Lets the skimmer skip lines of `known` in `flavor` from now on, unless it already does. */
  teach(known: KnownName, flavor: number): void {
    if (known.skimSlot === -1) return;
    // Another name hashed to the same slot may have taken it since.
    const holdsSlot = known.skimSlot >= 0 && this.bySlot[known.skimSlot] === known;
    if (holdsSlot && (known.skimFlavors & flavor) !== 0) return;
    const slot = this.skimmer.learn(known.bytes, flavor);
    known.skimSlot = slot;
    if (slot < 0) return;
    known.skimFlavors = holdsSlot ? known.skimFlavors | flavor : flavor;
    this.bySlot[slot] = known;
  }
}

/**
 * What both byte-level line parsers (ftraceBytes.ts, traceCmdBytes.ts) share: one input's
 * names, the filter's answers for them and the lines skipped by name (`names`), the skimmer
 * that skips their like from then on, the reader of whole regions it gives, and the counts
 * handed on. Each grammar adds its own `parse`.
 */
export abstract class NameSkippingParser implements LineBytesParser {
  /** The names met, the filter's answers for them, and the lines skipped by name. */
  protected readonly names: KnownNames;
  private readonly skimming: SkimmedNames | undefined;

  /**
   * `skimmer` (with a filter only, made for the parser's grammar) skips, in WebAssembly, the
   * lines of names this parser skipped before, so most lines of a sparse trace never reach
   * `parse`, and finds the columns of those it hands back. Unless `alwaysSkim`, it is left out
   * for a while where it saves too little to pay. Without a skimmer, `onSkippedName` is told
   * once per name and body flavor skipped: a skimmer in another thread learns so
   * (skimThread.ts).
   */
  constructor(
    protected readonly file: string,
    protected readonly wantEvent: EventFilter | undefined,
    skimmer?: FtraceSkimmer,
    alwaysSkim = false,
    private readonly onSkippedName?: (name: Uint8Array, flavor: number) => void,
  ) {
    this.names = new KnownNames(file, wantEvent);
    this.skimming = skimmer === undefined ? undefined : new SkimmedNames(skimmer, this.names, alwaysSkim);
  }

  abstract parse(buf: Buffer, start: number, end: number, line: number, offset: number, columns?: Int32Array, columnsAt?: number): ReadRecord | null | undefined;

  /** The reader for the next region's whole lines (LineSplitter.pushBytes), or undefined to have `parse` read each. */
  wholeLinesReader(): WholeLinesReader | undefined {
    return this.skimming?.wholeLinesReader();
  }

  /** The lines skipped since the last call, counted by name; undefined if none. */
  takeUnused(): ReadRecord | undefined {
    return this.names.takeUnused();
  }

  /** A line of `known` that `parse` skipped, numbered `line` at byte `offset`: counted, and taught. */
  protected skipLine(known: KnownName, opensWithLocation: boolean, line: number, offset: number): void {
    this.names.countSkipped(known, 1);
    this.names.noteSkippedLine(line, offset);
    const flavor = opensWithLocation ? skimFlavorWithLocation : skimFlavorPlain;
    if (this.skimming !== undefined) this.skimming.teach(known, flavor);
    else if (this.onSkippedName !== undefined && (known.skimFlavors & flavor) === 0) {
      known.skimFlavors |= flavor;
      this.onSkippedName(known.bytes, flavor);
    }
  }
}
