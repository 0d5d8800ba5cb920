/**
 * Reads one input's lines, of either line grammar, into records: a line the WebAssembly
 * skimmer handed over with its columns (ftraceSkim.ts) is made into its record from them,
 * every other line is read by the string grammar, and an event line the filter refuses is
 * only counted under its name. Each name and body flavor refused is taught to a skimmer, the
 * WebAssembly one here or one in another thread (skimThread.ts), which from then on skips
 * such lines itself: most lines of a sparse trace never reach this reader.
 *
 * The skimmer's line test is the one byte-level reading of each grammar; it skips a line only
 * where the string grammar reads an event line of that name and flavor, and the columns it
 * hands over give the string grammar's record (property tests hold it to both), so which path
 * read a line never shows.
 */
import { utf8Text } from '../bufferText.js';
import type { EventFilter } from '../importer.js';
import { type FtraceSkimmer, SkimmedRegions, skimFlavorPlain, skimFlavorWithLocation } from './ftraceSkim.js';
import { KnownNames, type KnownName } from './knownNames.js';
import type { LineGrammar, LineParser, SkimmedColumns } from './lineRecords.js';
import type { WholeLinesReader } from './lineSplitter.js';
import type { ReadRecord, SourceSpan } from '../records.js';

/**
 * The reader's use of the WebAssembly skimmer: it teaches the skimmer each name and body
 * flavor the reader skipped, reads whole regions with it, counts what it skipped under the
 * reader's names, and leaves it out for a while where it does not pay.
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
   * The reader for the next region's whole lines, or undefined to have each line read on its
   * own (SkimmedRegions: the skimmer is left out for a while where it does not pay).
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
 * One reader per input: the names met (KnownNames), so a line costs no call of the filter once
 * its name is known, and a line the skimmer hands over with its columns costs no string for
 * its name; the skimmer, if any; the counts of skipped lines handed on by `takeUnused`.
 */
export class LineReader {
  private readonly names: KnownNames;
  private readonly parseText: LineParser;
  private readonly columns: SkimmedColumns;
  private readonly skimming: SkimmedNames | undefined;

  /**
   * `skimmer` (with a filter only, made for the grammar's skim format) skips the lines of the
   * names this reader skipped before, and finds the columns of those it hands back; unless
   * `alwaysSkim` (tests), it is left out for a while where it saves too little to pay.
   * Without a skimmer, `onSkippedName` is told once per name and body flavor skipped: a
   * skimmer in another thread learns so (skimThread.ts).
   */
  constructor(
    private readonly file: string,
    grammar: LineGrammar,
    private readonly wantEvent: EventFilter | undefined,
    skimmer?: FtraceSkimmer,
    alwaysSkim = false,
    private readonly onSkippedName?: (name: Uint8Array, flavor: number) => void,
  ) {
    this.names = new KnownNames(file, wantEvent);
    this.parseText = grammar.parseText;
    this.columns = grammar.skimmedColumns();
    this.skimming = skimmer === undefined ? undefined : new SkimmedNames(skimmer, this.names, alwaysSkim);
  }

  /**
   * The record for the line `buf[start, end)` (no newline) numbered `line` at byte `offset`, or
   * null for an event line the filter refused (counted, for `takeUnused`). `columns[columnsAt...]`,
   * when given, are the columns a skimmer found for the line.
   */
  read(buf: Buffer, start: number, end: number, line: number, offset: number, columns?: Int32Array, columnsAt = -1): ReadRecord | null {
    if (columns !== undefined && columnsAt >= 0 && this.columns.load(buf, start, end, columns, columnsAt)) {
      const found = this.columns;
      const known = this.names.lookup(buf, found.nameStart, found.nameEnd);
      if (!this.names.wanted(known, found.opensWithLocation)) return this.skip(known, found.opensWithLocation, line, offset);
      const record = found.record(buf, start, end, { file: this.file, line, offset }, known.name);
      if (record !== undefined) return record;
    }
    const span: SourceSpan = { file: this.file, line, offset };
    const record = this.parseText(utf8Text(buf, start, end), span);
    if (record.type !== 'event' || this.wantEvent === undefined) return record;
    // The flavor as the replay asks it of a record (replay.ts): by the body's first character.
    const opensWithLocation = record.body.charCodeAt(0) === 0x28; /* ( */
    const known = this.names.lookupName(record.name);
    return this.names.wanted(known, opensWithLocation) ? record : this.skip(known, opensWithLocation, line, offset);
  }

  /** The reader for the next region's whole lines (LineSplitter.pushBytes), or undefined to have `read` take each. */
  wholeLinesReader(): WholeLinesReader | undefined {
    return this.skimming?.wholeLinesReader();
  }

  /** The lines skipped since the last call, counted by name; undefined if none. */
  takeUnused(): ReadRecord | undefined {
    return this.names.takeUnused();
  }

  /** A line of `known` that the filter refused, numbered `line` at byte `offset`: counted, and taught. */
  private skip(known: KnownName, opensWithLocation: boolean, line: number, offset: number): null {
    this.names.countSkipped(known, 1);
    this.names.noteSkippedLine(line, offset);
    const flavor = opensWithLocation ? skimFlavorWithLocation : skimFlavorPlain;
    if (this.skimming !== undefined) this.skimming.teach(known, flavor);
    else if (this.onSkippedName !== undefined && known.skimSlot !== -1 && (known.skimFlavors & flavor) === 0) {
      known.skimFlavors |= flavor;
      this.onSkippedName(known.bytes, flavor);
    }
    return null;
  }
}
