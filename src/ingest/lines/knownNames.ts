/**
 * The event names a line reader has met (lineReader.ts), with the filter's answers for them
 * and the lines it skipped by name. A trace has a few dozen names, so a line costs no call of
 * the filter once its name is known, and one whose columns the skimmer found costs no string
 * for its name.
 */
import type { EventFilter } from '../importer.js';
import type { ReadRecord, SourceSpan } from '../records.js';

/** An event name seen before, with the filter's answers for it (undefined: not asked yet). */
export interface KnownName {
  readonly bytes: Uint8Array;
  readonly name: string;
  wantedPlain: boolean | undefined;
  wantedWithLocation: boolean | undefined;
  /** Lines of this name skipped since the last `takeUnused()`. */
  unused: number;
  /** A skimmer's slot for this name (-1: never taught, being too long or not ASCII; -2: not taught yet), and the flavors taught there (lineReader.ts). */
  skimSlot: number;
  skimFlavors: number;
}

/**
 * Slots of the name table, open-addressed on a hash of the name's bytes. Two names whose
 * hashes meet both stay: with one slot a name, two such names alternating would evict each
 * other on every line, each line making its name again and asking the filter again
 * ('vmid_unpin' and 'free_s2' are such a pair).
 */
const nameSlots = 1024;
/** Names held at most: at this load probes stay short; hostile input with ever-new names then starts the table afresh, so memory never grows. */
const maxNames = nameSlots / 2;

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

export class KnownNames {
  private readonly names: (KnownName | undefined)[] = new Array<KnownName | undefined>(nameSlots);
  private namesHeld = 0;
  /** Names met as strings (lines the string grammar read): an ASCII one is the same entry as its bytes'. */
  private readonly byText = new Map<string, KnownName>();
  /** Names with skipped lines not yet taken, and where the first of those lines is. */
  private readonly namesWithUnused: KnownName[] = [];
  private firstUnusedSpan: SourceSpan | undefined;

  constructor(
    private readonly file: string,
    private readonly wantEvent: EventFilter | undefined,
  ) {}

  /** The name in `buf[start, end)` (ASCII: the skimmer hands over no other), remembered by its bytes. */
  lookup(buf: Buffer, start: number, end: number): KnownName {
    const length = end - start;
    let hash = 0;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + (buf[i] as number)) | 0;
    const names = this.names;
    let slot = (hash ^ Math.imul(length, 0x9e3779b1)) & (nameSlots - 1);
    for (let known = names[slot]; known !== undefined; slot = (slot + 1) & (nameSlots - 1), known = names[slot]) {
      if (known.bytes.length !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = known.bytes[i] === buf[start + i];
      if (same) return known;
    }
    if (this.namesHeld === maxNames) {
      // Forgetting a name with skipped lines not yet taken is fine: `namesWithUnused` still holds it.
      names.fill(undefined);
      this.namesHeld = 0;
      return this.lookup(buf, start, end);
    }
    const entry: KnownName = { bytes: Uint8Array.prototype.slice.call(buf, start, end), name: buf.toString('latin1', start, end), wantedPlain: undefined, wantedWithLocation: undefined, unused: 0, skimSlot: -2, skimFlavors: 0 };
    names[slot] = entry;
    this.namesHeld++;
    return entry;
  }

  /**
   * The name of a record the string grammar made. Only an ASCII name can be taught to a
   * skimmer: it compares a line's bytes with the name's, and the string is the line's bytes
   * only then (an invalid byte became U+FFFD).
   */
  lookupName(name: string): KnownName {
    const known = this.byText.get(name);
    if (known !== undefined) return known;
    if (this.byText.size === maxNames) this.byText.clear();
    let entry: KnownName;
    if (name.length > 0 && isAscii(name)) {
      // The entry its bytes name, so a line read either way asks the filter about it once.
      const bytes = Buffer.from(name, 'latin1');
      entry = this.lookup(bytes, 0, bytes.length);
    } else {
      entry = { bytes: new Uint8Array(0), name, wantedPlain: undefined, wantedWithLocation: undefined, unused: 0, skimSlot: -1, skimFlavors: 0 };
    }
    this.byText.set(name, entry);
    return entry;
  }

  /** Whether the filter wants lines of `known` with a body of this flavor (all, without a filter). */
  wanted(known: KnownName, opensWithLocation: boolean): boolean {
    const filter = this.wantEvent;
    if (filter === undefined) return true;
    if (opensWithLocation) return (known.wantedWithLocation ??= filter(known.name, true));
    return (known.wantedPlain ??= filter(known.name, false));
  }

  /** `count` lines of `known` were skipped. */
  countSkipped(known: KnownName, count: number): void {
    if (known.unused === 0) this.namesWithUnused.push(known);
    known.unused += count;
  }

  /** A skipped line at `line`: the unused-events record's span is the first of them (a skimmer's come out of order). */
  noteSkippedLine(line: number, offset: number): void {
    if (this.firstUnusedSpan === undefined || line < this.firstUnusedSpan.line) this.firstUnusedSpan = { file: this.file, line, offset };
  }

  /** The lines skipped since the last call, counted by name; undefined if none. */
  takeUnused(): ReadRecord | undefined {
    const span = this.firstUnusedSpan;
    if (span === undefined) return undefined;
    const countsByName = new Map<string, number>();
    for (const known of this.namesWithUnused) {
      countsByName.set(known.name, (countsByName.get(known.name) ?? 0) + known.unused);
      known.unused = 0;
    }
    this.namesWithUnused.length = 0;
    this.firstUnusedSpan = undefined;
    return { type: 'unused-events', span, countsByName };
  }
}
