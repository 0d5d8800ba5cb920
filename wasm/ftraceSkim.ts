/**
 * The byte-level reading of ftrace text in WebAssembly (AssemblyScript, compiled by `npm run
 * build`): for each line of a region, whether it is a well-formed event line whose event the
 * consumer refused, and if so it is only counted under its name. Every other line is handed
 * back to JavaScript (`src/ingest/lines/ftraceSkim.ts`, for `src/ingest/lines/lineReader.ts`).
 *
 * The tests on a line are the string grammar's (src/ingest/ftrace/ftraceLine.ts) on the
 * columns `TASK-PID [CPU] FLAGS? TIMESTAMP: NAME: `, byte for byte. Where the grammar would
 * compute something to know (a timestamp long enough to overflow), or the line is one it
 * reads otherwise (a header, a marker, a name with a byte above 0x7f, no `: ` before a body),
 * the line is handed back without columns, for the string grammar. Property tests hold the
 * two paths to the same records for any text (test/ingest/ftraceSkim.test.ts,
 * test/ingest/ftraceColumns.test.ts).
 *
 * Names are taught by JavaScript once the filter refused a line of that name (`learn`), per
 * flavor: plain, or with a body opening with a probe's `(location)`, as the filter is asked.
 *
 * A well-formed event line it does not skip (its name not taught, or wanted) is handed back
 * with the columns found for the checks, from which JavaScript makes its record without the
 * string grammar (FtraceColumns): on a dense trace that is most lines.
 *
 * The same module reads `trace-cmd report` text (`skim`'s `format`, the section at the end):
 * the tests are then the steps of src/ingest/traceCmd/traceCmdLine.ts, and a well-formed
 * event line is handed back with the columns TraceCmdColumns takes (the `traceCmd...` slots).
 * test/ingest/traceCmdColumns.test.ts holds the two to the same records.
 */

// Memory layout, after the module's own data. A name slot: u32 length, u32 flavors to skip, u32
// lines counted since the last drain, u32 unused, then the name's bytes.
const nameSlots: u32 = 1024;
/**
 * A name sits in the first of this many slots from its hash's that holds it or was free; only
 * when all are taken is the first overwritten. With one slot per hash, two refused names that
 * meet there (kvm_entry and workqueue_execute_start do) would take it from each other on every
 * line JavaScript taught back.
 */
const nameProbes: u32 = 8;
const nameSlotBytes: u32 = 64;
const nameMaxBytes: u32 = nameSlotBytes - 16;
/** The most bytes `skim` takes at once; JavaScript cuts larger regions at a newline. */
const inputCapacity: u32 = 1 << 17;
/** After the input: SIMD loads run up to 15 bytes past a region's last newline. */
const inputPadding: u32 = 64;
/**
 * Per handed-back line: its start, its newline, its index in the region, then where its columns
 * are (`columnCount` offsets from its start, as FtraceColumns.load takes them for ftrace text
 * and TraceCmdColumns.load for a report; -1 for an absent optional one), or -1 in the first when
 * the line is not a well-formed event line here (or its numbers must be computed to know).
 */
const columnCount: u32 = 13;
const handoverEntryBytes: u32 = 12 + columnCount * 4;

const flavorPlain: u32 = 1;
const flavorWithLocation: u32 = 2;

/** The line grammar `skim` reads: ftrace text, or `trace-cmd report` text (its columns in the `traceCmd...` slots). */
const formatTraceCmd: u32 = 1;

const namesAt: usize = (__heap_base + 63) & ~(63 as usize);
const touchedAt: usize = namesAt + nameSlots * nameSlotBytes;
const scratchAt: usize = touchedAt + nameSlots * 4;
const handoverAt: usize = scratchAt + nameSlotBytes;
const inputAt: usize = handoverAt + inputCapacity * handoverEntryBytes;
const memoryEnd: usize = inputAt + inputCapacity + inputPadding;

const charTab: u32 = 0x09;
const charNewline: u32 = 0x0a;
const charReturn: u32 = 0x0d;
const charSpace: u32 = 0x20;
const charHash: u32 = 0x23;
const charOpenParen: u32 = 0x28;
const charCloseParen: u32 = 0x29;
const charPlus: u32 = 0x2b;
const charDash: u32 = 0x2d;
const charDot: u32 = 0x2e;
const char0: u32 = 0x30;
const char9: u32 = 0x39;
const charColon: u32 = 0x3a;
const charEquals: u32 = 0x3d;
const charGreater: u32 = 0x3e;
const charC: u32 = 0x43;
const charP: u32 = 0x50;
const charU: u32 = 0x55;
const charOpenBracket: u32 = 0x5b;
const charCloseBracket: u32 = 0x5d;
const asciiLimit: u32 = 0x80;

/** What `timestampShape` finds. */
const notTimestamp: i32 = 0;
const isTimestamp: i32 = 1;
/** A timestamp long enough that only computing it tells whether it is a safe integer. */
const mustCompute: i32 = 2;

/**
 * The columns of the line the grammar's test read last (`skipLine` or `skipTraceCmdLine`),
 * set when it found a well-formed event line (`columnsFound`), whether or not its name was
 * taught: `columnCount` absolute addresses, -1 for an absent optional one. What each slot
 * holds is the grammar's: FtraceColumns.load's order for ftrace text (`foundColumns`), the
 * `traceCmd...` slots for a report.
 */
let columnsFound = false;
const columnSlots: usize = memory.data(columnCount * 4);

@inline function setColumn(slot: u32, position: isize): void {
  store<i32>(columnSlots + ((slot as usize) << 2), position as i32);
}

let touchedCount: u32 = 0;
let linesInRegion: u32 = 0;
let firstSkippedIndex: i32 = -1;
let firstSkippedStart: u32 = 0;

export function setup(): u32 {
  const have = (memory.size() as usize) << 16;
  if (have < memoryEnd) memory.grow((((memoryEnd - have) + 0xffff) >> 16) as i32);
  return 0;
}

export function inputPointer(): usize {
  return inputAt;
}
export function inputBytes(): u32 {
  return inputCapacity;
}
export function handoverPointer(): usize {
  return handoverAt;
}
export function handoverEntrySize(): u32 {
  return handoverEntryBytes;
}
export function scratchPointer(): usize {
  return scratchAt;
}
export function touchedPointer(): usize {
  return touchedAt;
}
export function namesPointer(): usize {
  return namesAt;
}
export function nameSlotSize(): u32 {
  return nameSlotBytes;
}
export function nameMaxLength(): u32 {
  return nameMaxBytes;
}
export function lines(): u32 {
  return linesInRegion;
}
export function touched(): u32 {
  return touchedCount;
}
export function firstSkipped(): i32 {
  return firstSkippedIndex;
}
export function firstSkippedAt(): u32 {
  return firstSkippedStart;
}

@inline function byteAt(at: usize): u32 {
  return load<u8>(at) as u32;
}

@inline function isBlank(code: u32): bool {
  return code == charSpace || code == charTab;
}

@inline function isDigit(code: u32): bool {
  return code - char0 <= char9 - char0;
}

/**
 * The slot of the name `[start, end)`: its first and last eight bytes (loads past a short name
 * are masked off) and its length, multiplied and mixed. No loop: it runs on every skipped line.
 */
function nameHash(start: usize, end: usize): u32 {
  const length = (end - start) as u64;
  let head = load<u64>(start);
  if (length < 8) head &= ((1 as u64) << (length * 8)) - 1;
  const tail = length > 8 ? load<u64>(end - 8) : 0;
  const mixed = head * 0x9e3779b97f4a7c15 + tail * 0xc2b2ae3d27d4eb4f + length * 0x165667b19e3779f9;
  return ((mixed ^ (mixed >> 29)) >> 54) as u32 & (nameSlots - 1);
}

/**
 * Remembers that lines named by the `length` bytes at the scratch pointer are skipped in the
 * given flavor; returns the name's slot (when the slots it may take are all held by other
 * names, the first of those is evicted), or -1 when the name is too long to remember.
 */
export function learn(length: u32, flavor: u32): i32 {
  if (length == 0 || length > nameMaxBytes) return -1;
  const home = nameHash(scratchAt, scratchAt + length);
  let slot = home;
  for (let probe: u32 = 0; probe < nameProbes; probe++) {
    const candidate = (home + probe) & (nameSlots - 1);
    const entry = namesAt + candidate * nameSlotBytes;
    if (load<u32>(entry) == 0 || sameName(entry, scratchAt, scratchAt + length)) {
      slot = candidate;
      break;
    }
  }
  const entry = namesAt + slot * nameSlotBytes;
  if (!sameName(entry, scratchAt, scratchAt + length)) {
    store<u32>(entry, length);
    store<u32>(entry, 0, 4);
    memory.fill(entry + 16, 0, nameMaxBytes);
    memory.copy(entry + 16, scratchAt, length);
  }
  store<u32>(entry, load<u32>(entry, 4) | flavor, 4);
  return slot as i32;
}

/** Clears the counts `skim` gathered (JavaScript has read them through `touchedPointer`). */
export function drain(): void {
  for (let i: u32 = 0; i < touchedCount; i++) {
    const slot = load<u32>(touchedAt + i * 4);
    store<u32>(namesAt + slot * nameSlotBytes, 0, 8);
  }
  touchedCount = 0;
}

/**
 * Whether the slot at `entry` holds the name `[start, end)`, 16 bytes at a time: a slot's bytes
 * after its name are zero, and the loads past `end` stay inside the input's padding.
 */
@inline function sameName(entry: usize, start: usize, end: usize): bool {
  const length = (end - start) as u32;
  if (load<u32>(entry) != length) return false;
  let offset: u32 = 0;
  for (; offset + 16 <= length; offset += 16) {
    if (!i8x16.all_true(i8x16.eq(v128.load(entry + 16 + offset), v128.load(start + offset)))) return false;
  }
  if (offset == length) return true;
  const differing = i8x16.bitmask(i8x16.ne(v128.load(entry + 16 + offset), v128.load(start + offset)));
  return (differing & ((1 << (length - offset)) - 1)) == 0;
}

/** Where the next newline at or after `at` is; the region is known to end with one. */
@inline function nextNewline(at: usize): usize {
  const newlines = i8x16.splat(charNewline as i8);
  let mask = i8x16.bitmask(i8x16.eq(v128.load(at), newlines));
  while (mask == 0) {
    at += 16;
    mask = i8x16.bitmask(i8x16.eq(v128.load(at), newlines));
  }
  return at + (ctz(mask) as usize);
}

/**
 * Reads the `length` bytes at the input pointer (whole lines: the last byte is a newline) and
 * returns how many lines it hands back; `lines()` tells how many there were in all.
 */
export function skim(length: u32, maxLineBytes: u32, format: u32): u32 {
  const end = inputAt + length;
  let handed: u32 = 0;
  let index: u32 = 0;
  let start = inputAt;
  firstSkippedIndex = -1;
  while (start < end) {
    const newline = nextNewline(start);
    let contentEnd = newline;
    if (contentEnd > start && byteAt(contentEnd - 1) == charReturn) contentEnd--;
    columnsFound = false;
    const skippedHere = (contentEnd - start) as u32 <= maxLineBytes && (format == formatTraceCmd ? skipTraceCmdLine(start, contentEnd) : skipLine(start, contentEnd));
    if (!skippedHere) {
      const entry = handoverAt + handed * handoverEntryBytes;
      store<u32>(entry, (start - inputAt) as u32);
      store<u32>(entry, (newline - inputAt) as u32, 4);
      store<u32>(entry, index, 8);
      storeColumns(entry + 12, start);
      handed++;
    } else if (firstSkippedIndex < 0) {
      firstSkippedIndex = index as i32;
      firstSkippedStart = (start - inputAt) as u32;
    }
    index++;
    start = newline + 1;
  }
  linesInRegion = index;
  return handed;
}

/** The columns the line's test found, as offsets from the line's `start` (-1 for an absent one), or -1 first if it found none. */
function storeColumns(at: usize, start: usize): void {
  if (!columnsFound) {
    store<i32>(at, -1);
    return;
  }
  for (let slot: usize = 0; slot < columnCount; slot++) {
    const position = load<i32>(columnSlots + (slot << 2));
    store<i32>(at + (slot << 2), position < 0 ? -1 : position - (start as i32));
  }
}

/** The ftrace grammar's column checks up to the decision to skip, for `[start, end)`; true if skipped and counted. */
function skipLine(start: usize, end: usize): bool {
  let first = start;
  while (first < end && isBlank(byteAt(first))) first++;
  if (first == end) return false;
  const firstCode = byteAt(first);
  if (firstCode == charHash || (firstCode == charEquals && byteAt(first + 1) == charGreater)) return false;
  if (firstCode == charC && byteAt(first + 1) == charP && byteAt(first + 2) == charU && byteAt(first + 3) == charColon) return false;
  const inWindow = skipInWindow(first, end);
  if (inWindow != unsure) return inWindow == skipped;
  return skipByBytes(first, end);
}

/** The columns of a line from its first non-blank `first`, byte by byte, as parseFtraceLine reads them. */
function skipByBytes(first: usize, end: usize): bool {
  const open = cpuColumn(first, end);
  if (open == 0) return false;
  let close = open + 1;
  while (isDigit(byteAt(close))) close++;

  let left = open;
  while (left > first && isBlank(byteAt(left - 1))) left--;
  let tgidOpen: isize = -1;
  let tgidClose: isize = -1;
  if (left > first && byteAt(left - 1) == charCloseParen) {
    let paren = left - 2;
    while (paren >= first && byteAt(paren) != charOpenParen) paren--;
    if (paren < first) return false;
    tgidOpen = paren as isize;
    tgidClose = (left - 1) as isize;
    left = paren;
    while (left > first && isBlank(byteAt(left - 1))) left--;
  }
  let dash = left - 1;
  while (dash >= first && byteAt(dash) != charDash) dash--;
  if (dash < first || dash + 1 >= left) return false;
  for (let at = dash + 1; at < left; at++) if (!isDigit(byteAt(at))) return false;

  let tokenStart = close + 1;
  while (tokenStart < end && isBlank(byteAt(tokenStart))) tokenStart++;
  let tokenEnd = tokenEndAt(tokenStart, end);
  let shape = tokenEnd > tokenStart && byteAt(tokenEnd - 1) == charColon ? timestampShape(tokenStart, tokenEnd - 1) : notTimestamp;
  if (shape == mustCompute) return false;
  let flagsStart: isize = -1;
  let flagsEnd: isize = -1;
  if (shape == notTimestamp) {
    flagsStart = tokenStart as isize;
    flagsEnd = tokenEnd as isize;
    tokenStart = tokenEnd;
    while (tokenStart < end && isBlank(byteAt(tokenStart))) tokenStart++;
    tokenEnd = tokenEndAt(tokenStart, end);
    if (tokenEnd <= tokenStart || byteAt(tokenEnd - 1) != charColon) return false;
    shape = timestampShape(tokenStart, tokenEnd - 1);
    if (shape != isTimestamp) return false;
  }

  let nameStart = tokenEnd;
  while (nameStart < end && isBlank(byteAt(nameStart))) nameStart++;
  let sep = nameStart;
  for (;;) {
    if (sep + 1 >= end) return false;
    const code = byteAt(sep);
    if (code >= asciiLimit) return false;
    if (code == charColon && byteAt(sep + 1) == charSpace) break;
    sep++;
  }
  if (sep == nameStart) return false;
  foundColumns(first, open, close, dash, left, tgidOpen, tgidClose, flagsStart, flagsEnd, tokenStart, tokenEnd - 1, nameStart, sep);
  return countIfTaught(nameStart, sep, end);
}

/** Keeps the columns of a well-formed event line for `storeColumns` (absolute addresses). */
@inline function foundColumns(
  first: usize, open: usize, close: usize, dash: usize, pidEnd: usize, tgidOpen: isize, tgidClose: isize,
  flagsStart: isize, flagsEnd: isize, stampStart: usize, stampEnd: usize, nameStart: usize, nameEnd: usize,
): void {
  columnsFound = true;
  setColumn(0, first);
  setColumn(1, open);
  setColumn(2, close);
  setColumn(3, dash);
  setColumn(4, pidEnd);
  setColumn(5, tgidOpen);
  setColumn(6, tgidClose);
  setColumn(7, flagsStart);
  setColumn(8, flagsEnd);
  setColumn(9, stampStart);
  setColumn(10, stampEnd);
  setColumn(11, nameStart);
  setColumn(12, nameEnd);
}

/**
 * The last step for a well-formed event line whose name is `[nameStart, sep)` (ASCII, then
 * `: `): counted, and true, if the name was taught in the flavor of its body.
 */
function countIfTaught(nameStart: usize, sep: usize, end: usize): bool {
  const bodyStart = sep + 2;
  return countIfTaughtIn(nameStart, sep, bodyStart < end && byteAt(bodyStart) == charOpenParen ? flavorWithLocation : flavorPlain);
}

/** `countIfTaught` for the name `[nameStart, nameEnd)` whose body's flavor is known. */
function countIfTaughtIn(nameStart: usize, sep: usize, flavor: u32): bool {
  const length = (sep - nameStart) as u32;
  if (length == 0 || length > nameMaxBytes) return false;
  const home = nameHash(nameStart, sep);
  // Slots are never freed, only overwritten: a free one ends the names that may sit here.
  let slot = nameSlots;
  for (let probe: u32 = 0; probe < nameProbes; probe++) {
    const candidate = (home + probe) & (nameSlots - 1);
    const held = namesAt + candidate * nameSlotBytes;
    if (load<u32>(held) == 0) return false;
    if (sameName(held, nameStart, sep)) {
      slot = candidate;
      break;
    }
  }
  if (slot == nameSlots) return false;
  const entry = namesAt + slot * nameSlotBytes;
  if ((load<u32>(entry, 4) & flavor) == 0) return false;
  const count = load<u32>(entry, 8);
  if (count == 0) {
    store<u32>(touchedAt + touchedCount * 4, slot);
    touchedCount++;
  }
  store<u32>(entry, count + 1, 8);
  return true;
}

/** What `skipInWindow` finds. */
const notSkipped: i32 = 0;
const skipped: i32 = 1;
/** The answer depends on bytes past the window: `skipByBytes` reads the line instead. */
const unsure: i32 = -1;

const windowBytes: u32 = 64;

/** One bit per byte of a 64-byte window, from four vectors of lane masks. */
@inline function windowBits(a: v128, b: v128, c: v128, d: v128): u64 {
  return (i8x16.bitmask(a) as u64) | ((i8x16.bitmask(b) as u64) << 16) | ((i8x16.bitmask(c) as u64) << 32) | ((i8x16.bitmask(d) as u64) << 48);
}

@inline function bitsEqual(a: v128, b: v128, c: v128, d: v128, code: u32): u64 {
  const wanted = i8x16.splat(code as i8);
  return windowBits(i8x16.eq(a, wanted), i8x16.eq(b, wanted), i8x16.eq(c, wanted), i8x16.eq(d, wanted));
}

/** Bits below position `at` (all when `at` is past the window). */
@inline function below(at: u32): u64 {
  return at >= 64 ? ~(0 as u64) : ((1 as u64) << (at as u64)) - 1;
}

/** Bits at position `at` and above (none when `at` is past the window). */
@inline function from(at: u32): u64 {
  return at >= 64 ? 0 : ~(0 as u64) << (at as u64);
}

@inline function lowest(bits: u64): u32 {
  return ctz(bits) as u32;
}

/** The position of the highest set bit (bits must not be 0). */
@inline function highest(bits: u64): u32 {
  return 63 - (clz(bits) as u32);
}

@inline function bitAt(bits: u64, at: u32): bool {
  return at < 64 && ((bits >> (at as u64)) & 1) != 0;
}

/**
 * `skipByBytes` on bit masks of the 64 bytes from `first` (SIMD): every test it makes, with
 * positions found by counting bits instead of by loops. Whenever a test would need a byte past
 * the window, `unsure`: most lines have their name within 64 bytes of their first non-blank.
 */
function skipInWindow(first: usize, end: usize): i32 {
  const length = (end - first) as u32;
  const seen: u32 = length < windowBytes ? length : windowBytes;
  /** Whether a search that found nothing in the window is final. */
  const whole = length <= windowBytes;
  const inLine = below(seen);
  const v0 = v128.load(first);
  const v1 = v128.load(first + 16);
  const v2 = v128.load(first + 32);
  const v3 = v128.load(first + 48);
  const zero = i8x16.splat(0x30);
  const nine = i8x16.splat(9);
  const digit = inLine & windowBits(i8x16.le_u(i8x16.sub(v0, zero), nine), i8x16.le_u(i8x16.sub(v1, zero), nine), i8x16.le_u(i8x16.sub(v2, zero), nine), i8x16.le_u(i8x16.sub(v3, zero), nine));
  const spaces = inLine & bitsEqual(v0, v1, v2, v3, charSpace);
  const blank = spaces | (inLine & bitsEqual(v0, v1, v2, v3, charTab));
  const nonBlank = inLine & ~blank;

  // The CPU column: the first `[digits]` followed by a blank or the line's end.
  let candidates = inLine & bitsEqual(v0, v1, v2, v3, charOpenBracket);
  let open: u32 = 64;
  let close: u32 = 0;
  while (candidates != 0) {
    const at = lowest(candidates);
    const after = lowest(~digit & from(at + 1));
    if (after >= seen) {
      if (!whole) return unsure;
    } else if (after > at + 1 && byteAt(first + after) == charCloseBracket) {
      if (after + 1 == length || bitAt(blank, after + 1)) {
        open = at;
        close = after;
        break;
      }
      if (after + 1 >= seen) return unsure;
    }
    candidates &= candidates - 1;
  }
  if (open == 64) return whole ? notSkipped : unsure;

  // `TASK-PID`, or `TASK-PID (TGID)`, before it.
  const beforeOpen = nonBlank & below(open);
  let left: u32 = beforeOpen == 0 ? 0 : highest(beforeOpen) + 1;
  let tgidOpen: isize = -1;
  let tgidClose: isize = -1;
  if (left > 0 && byteAt(first + left - 1) == charCloseParen) {
    const parens = bitsEqual(v0, v1, v2, v3, charOpenParen) & below(left - 1);
    if (parens == 0) return notSkipped;
    const paren = highest(parens);
    tgidOpen = (first + paren) as isize;
    tgidClose = (first + left - 1) as isize;
    const beforeParen = nonBlank & below(paren);
    left = beforeParen == 0 ? 0 : highest(beforeParen) + 1;
  }
  const dashes = bitsEqual(v0, v1, v2, v3, charDash) & below(left);
  if (dashes == 0) return notSkipped;
  const dash = highest(dashes);
  if (dash + 1 >= left || (~digit & from(dash + 1) & below(left)) != 0) return notSkipped;

  // Optional flags, then `SECS.FRAC:`.
  let tokenStart = lowest(nonBlank & from(close + 1));
  if (tokenStart >= seen) {
    if (!whole) return unsure;
    tokenStart = length;
  }
  let tokenEnd = lowest(blank & from(tokenStart));
  if (tokenEnd >= seen) {
    if (!whole) return unsure;
    tokenEnd = length;
  }
  let shape = tokenEnd > tokenStart && byteAt(first + tokenEnd - 1) == charColon ? timestampShapeInWindow(first, digit, tokenStart, tokenEnd - 1) : notTimestamp;
  if (shape == mustCompute) return notSkipped;
  let flagsStart: isize = -1;
  let flagsEnd: isize = -1;
  if (shape == notTimestamp) {
    flagsStart = (first + tokenStart) as isize;
    flagsEnd = (first + tokenEnd) as isize;
    tokenStart = lowest(nonBlank & from(tokenEnd));
    if (tokenStart >= seen) {
      if (!whole) return unsure;
      tokenStart = length;
    }
    tokenEnd = lowest(blank & from(tokenStart));
    if (tokenEnd >= seen) {
      if (!whole) return unsure;
      tokenEnd = length;
    }
    if (tokenEnd <= tokenStart || byteAt(first + tokenEnd - 1) != charColon) return notSkipped;
    shape = timestampShapeInWindow(first, digit, tokenStart, tokenEnd - 1);
    if (shape != isTimestamp) return notSkipped;
  }

  // `NAME: `: the first colon followed by a space, with no byte above 0x7f before it.
  let nameStart = lowest(nonBlank & from(tokenEnd));
  if (nameStart >= seen) {
    if (!whole) return unsure;
    nameStart = length;
  }
  const separators = bitsEqual(v0, v1, v2, v3, charColon) & (spaces >> 1) & from(nameStart);
  const high = inLine & windowBits(v0, v1, v2, v3) & from(nameStart);
  if (separators == 0) {
    if (high != 0 || whole) return notSkipped;
    return unsure;
  }
  const sep = lowest(separators);
  if ((high & below(sep)) != 0) return notSkipped;
  if (sep == nameStart) return notSkipped;
  foundColumns(first, first + open, first + close, first + dash, first + left, tgidOpen, tgidClose, flagsStart, flagsEnd, first + tokenStart, first + tokenEnd - 1, first + nameStart, first + sep);
  return countIfTaught(first + nameStart, first + sep, end) ? skipped : notSkipped;
}

/** `timestampShape` for `[start, end)` inside the window from `first`, on its digit mask. */
@inline function timestampShapeInWindow(first: usize, digit: u64, start: u32, end: u32): i32 {
  if (end <= start) return notTimestamp;
  const secsEnd = lowest(~digit & from(start));
  const secsDigits = secsEnd - start;
  if (secsEnd >= end) return secsDigits < 16 ? isTimestamp : mustCompute;
  if (secsDigits == 0 || byteAt(first + secsEnd) != charDot) return notTimestamp;
  const fracEnd = lowest(~digit & from(secsEnd + 1));
  const fracDigits = end - (secsEnd + 1);
  if (fracEnd < end || fracDigits < 1 || fracDigits > 9) return notTimestamp;
  return secsDigits < 10 ? isTimestamp : mustCompute;
}

/** The first `[digits]` followed by a blank or the end, from `first`; 0 if none. */
function cpuColumn(first: usize, end: usize): usize {
  const brackets = i8x16.splat(charOpenBracket as i8);
  for (let block = first; block < end; block += 16) {
    let mask = i8x16.bitmask(i8x16.eq(v128.load(block), brackets));
    while (mask != 0) {
      const at = block + (ctz(mask) as usize);
      if (at >= end) return 0;
      let digit = at + 1;
      while (digit < end && isDigit(byteAt(digit))) digit++;
      if (digit > at + 1 && digit < end && byteAt(digit) == charCloseBracket && (digit + 1 == end || isBlank(byteAt(digit + 1)))) return at;
      mask &= mask - 1;
    }
  }
  return 0;
}

@inline function tokenEndAt(at: usize, end: usize): usize {
  while (at < end && !isBlank(byteAt(at))) at++;
  return at;
}

/**
 * Whether `[start, end)` is `SECS.FRAC` (1 to 9 fraction digits) or a bare counter, as the
 * string grammar's parseTimestamp decides; `mustCompute` where it must compute the value to
 * know (enough digits to pass 2^53).
 */
function timestampShape(start: usize, end: usize): i32 {
  if (end <= start) return notTimestamp;
  let at = start;
  while (at < end && isDigit(byteAt(at))) at++;
  const secsDigits = at - start;
  if (at == end) return secsDigits < 16 ? isTimestamp : mustCompute;
  if (secsDigits == 0 || byteAt(at) != charDot) return notTimestamp;
  const fracStart = ++at;
  while (at < end && isDigit(byteAt(at))) at++;
  const fracDigits = end - fracStart;
  if (at != end || fracDigits < 1 || fracDigits > 9) return notTimestamp;
  return secsDigits < 10 ? isTimestamp : mustCompute;
}

// ---- trace-cmd report lines ------------------------------------------------------------------
//
// The steps of src/ingest/traceCmd/traceCmdLine.ts, byte for byte. Where the grammar computes a
// number to know whether it is a safe integer (a pid, a CPU or a time column of more digits
// than are always safe), the line is handed back instead.

/** What a column step finds besides a position: no such column, or a number only computing tells about. */
const noColumn: isize = -1;
const mustComputeColumn: isize = -2;
/** Digits that always make a safe integer (10^15 < 2^53). */
const safeDigits: usize = 15;

/**
 * The column slots of a report line (`setColumn`), as TraceCmdColumns.load takes
 * them: first, dash, PID end, CPU start and end, flags start and end (-1: the default shape has
 * none), time column start and end (its `:`), name start and end, body start; the last slot
 * unused (-1). The time column's steps set the first nine; `skipTraceCmdLine` the rest.
 */
const traceCmdFirst: u32 = 0;
const traceCmdDash: u32 = 1;
const traceCmdPidEnd: u32 = 2;
const traceCmdCpuStart: u32 = 3;
const traceCmdCpuEnd: u32 = 4;
const traceCmdFlagsStart: u32 = 5;
const traceCmdFlagsEnd: u32 = 6;
const traceCmdStampStart: u32 = 7;
const traceCmdStampEnd: u32 = 8;
const traceCmdNameStart: u32 = 9;
const traceCmdNameEnd: u32 = 10;
const traceCmdBodyStart: u32 = 11;
const traceCmdUnused: u32 = 12;

const tokenCpus = memory.data<u8>([0x63, 0x70, 0x75, 0x73, 0x3d]); // cpus=
const tokenVersion = memory.data<u8>([0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20, 0x3d, 0x20]); // version =
const tokenCpuBlank = memory.data<u8>([0x43, 0x50, 0x55, 0x20]); // CPU
const tokenIsEmpty = memory.data<u8>([0x20, 0x69, 0x73, 0x20, 0x65, 0x6d, 0x70, 0x74, 0x79]); // is empty
const tokenPlugin = memory.data<u8>([0x72, 0x65, 0x67, 0x69, 0x73, 0x74, 0x65, 0x72, 0x69, 0x6e, 0x67, 0x20, 0x70, 0x6c, 0x75, 0x67, 0x69, 0x6e, 0x3a, 0x20]); // registering plugin:
const tokenCpuColon = memory.data<u8>([0x43, 0x50, 0x55, 0x3a]); // CPU:

@inline function blanksEnd(at: usize, end: usize): usize {
  while (at < end && isBlank(byteAt(at))) at++;
  return at;
}

@inline function digitsEndIn(at: usize, end: usize): usize {
  while (at < end && isDigit(byteAt(at))) at++;
  return at;
}

function startsWithToken(at: usize, end: usize, token: usize, length: usize): bool {
  if (at + length > end) return false;
  for (let i: usize = 0; i < length; i++) if (load<u8>(at + i) != load<u8>(token + i)) return false;
  return true;
}

/** `isHeaderAt`: `cpus=N`, `version = N`, `CPU N is empty`, `registering plugin: ...`. */
function traceCmdHeaderAt(at: usize, end: usize): bool {
  if (startsWithToken(at, end, tokenCpus, 5)) {
    const digits = digitsEndIn(at + 5, end);
    return digits > at + 5 && blanksEnd(digits, end) == end;
  }
  if (startsWithToken(at, end, tokenVersion, 10)) {
    const digits = digitsEndIn(at + 10, end);
    return digits > at + 10 && blanksEnd(digits, end) == end;
  }
  if (startsWithToken(at, end, tokenCpuBlank, 4)) {
    const digits = digitsEndIn(at + 4, end);
    return digits > at + 4 && startsWithToken(digits, end, tokenIsEmpty, 9) && blanksEnd(digits + 9, end) == end;
  }
  return startsWithToken(at, end, tokenPlugin, 20);
}

/** `mayBeNonEventAt`: a header exactly, a marker by its first bytes. */
function traceCmdNonEventAt(at: usize, end: usize): bool {
  if (at >= end) return false;
  return byteAt(at) == charOpenBracket || traceCmdHeaderAt(at, end) || startsWithToken(at, end, tokenCpuColon, 4);
}

/**
 * The first byte `code` in `[at, end)`, or `end`: 16 bytes at a time (the loads past `end` stay
 * in the input, whose last line is followed by padding).
 */
function findByte(at: usize, end: usize, code: u32): usize {
  const wanted = i8x16.splat(code as i8);
  while (at < end) {
    const mask = i8x16.bitmask(i8x16.eq(v128.load(at), wanted));
    if (mask != 0) {
      const hit = at + (ctz(mask) as usize);
      return hit < end ? hit : end;
    }
    at += 16;
  }
  return end;
}

/** The first `: ` from `at`, or -1. */
function colonSpaceFrom(at: usize, end: usize): isize {
  for (at = findByte(at, end, charColon); at + 1 < end; at = findByte(at + 1, end, charColon)) {
    if (byteAt(at + 1) == charSpace) return at as isize;
  }
  return -1;
}

/** `timeColumnAt`: the index after the time column's `:`, `noColumn`, or `mustComputeColumn`. */
function traceCmdTimeColumn(from: usize, lineEnd: usize): isize {
  const start = blanksEnd(from, lineEnd);
  let end = start;
  while (end < lineEnd && (isDigit(byteAt(end)) || byteAt(end) == charDot)) end++;
  if (end == start || end >= lineEnd || byteAt(end) != charColon) return noColumn;
  if (end + 1 < lineEnd && !isBlank(byteAt(end + 1))) return noColumn;
  // The run of digits and dots, read as the ftrace skim reads its time column.
  const shape = timestampShape(start, end);
  if (shape != isTimestamp) return shape == mustCompute ? mustComputeColumn : noColumn;
  setColumn(traceCmdStampStart, start);
  setColumn(traceCmdStampEnd, end);
  return (end + 1) as isize;
}

/** `bracketColumns`: where its time column ends, `noColumn`, or `mustComputeColumn`. */
function traceCmdBracketColumns(first: usize, end: usize): isize {
  for (let open = findByte(first, end, charOpenBracket); open < end; open = findByte(open + 1, end, charOpenBracket)) {
    const close = digitsEndIn(open + 1, end);
    if (close == open + 1 || close >= end || byteAt(close) != charCloseBracket) continue;
    const timeEnd = traceCmdTimeColumn(close + 1, end);
    if (timeEnd == mustComputeColumn) return mustComputeColumn;
    if (timeEnd == noColumn) continue;
    let left = open;
    while (left > first && isBlank(byteAt(left - 1))) left--;
    let pidStart = left;
    while (pidStart > first && isDigit(byteAt(pidStart - 1))) pidStart--;
    if (pidStart == left || pidStart <= first || byteAt(pidStart - 1) != charDash) return noColumn;
    // Both runs are digits, found so: only their length can make `countIn` compute.
    if (left - pidStart > safeDigits || close - (open + 1) > safeDigits) return mustComputeColumn;
    setColumn(traceCmdDash, pidStart - 1);
    setColumn(traceCmdPidEnd, left);
    setColumn(traceCmdCpuStart, open + 1);
    setColumn(traceCmdCpuEnd, close);
    setColumn(traceCmdFlagsStart, -1);
    setColumn(traceCmdFlagsEnd, -1);
    return timeEnd;
  }
  return noColumn;
}

/** `latencyColumns`: where its time column ends, `noColumn`, or `mustComputeColumn`. */
function traceCmdLatencyColumns(first: usize, end: usize): isize {
  for (let dash = findByte(first, end, charDash); dash < end; dash = findByte(dash + 1, end, charDash)) {
    const pidEnd = digitsEndIn(dash + 1, end);
    if (pidEnd == dash + 1 || pidEnd >= end || !isBlank(byteAt(pidEnd))) continue;
    const cpuStart = blanksEnd(pidEnd, end);
    const cpuEnd = digitsEndIn(cpuStart, end);
    if (cpuEnd == cpuStart) continue;
    let flagsEnd = cpuEnd;
    while (flagsEnd < end && !isBlank(byteAt(flagsEnd))) flagsEnd++;
    if (flagsEnd == cpuEnd) continue;
    const timeEnd = traceCmdTimeColumn(flagsEnd, end);
    if (timeEnd == mustComputeColumn) return mustComputeColumn;
    if (timeEnd == noColumn) continue;
    if (pidEnd - (dash + 1) > safeDigits || cpuEnd - cpuStart > safeDigits) return mustComputeColumn;
    setColumn(traceCmdDash, dash);
    setColumn(traceCmdPidEnd, pidEnd);
    setColumn(traceCmdCpuStart, cpuStart);
    setColumn(traceCmdCpuEnd, cpuEnd);
    setColumn(traceCmdFlagsStart, cpuEnd);
    setColumn(traceCmdFlagsEnd, flagsEnd);
    return timeEnd;
  }
  return noColumn;
}

/** `skipTsDiff`: past a `--ts-diff` column `(+12)`, if there is one. */
function traceCmdSkipTsDiff(from: usize, end: usize): usize {
  const at = blanksEnd(from, end);
  if (!(at + 1 < end && byteAt(at) == charOpenParen && byteAt(at + 1) == charPlus)) return at;
  let j = at + 2;
  if (j < end && byteAt(j) == charDash) j++;
  const digitsStart = j;
  while (j < end && (isDigit(byteAt(j)) || byteAt(j) == charDot)) j++;
  if (j == digitsStart || j >= end || byteAt(j) != charCloseParen) return at;
  return blanksEnd(j + 1, end);
}

/** The trace-cmd grammar's steps up to the decision to skip, for `[start, end)`; true if skipped and counted. */
function skipTraceCmdLine(start: usize, end: usize): bool {
  const first = blanksEnd(start, end);
  if (first == end) return false;
  const lead = byteAt(first);
  if (lead == charHash || (lead == charEquals && first + 1 < end && byteAt(first + 1) == charGreater)) return false;
  if (traceCmdNonEventAt(first, end)) return false;
  const prefix = colonSpaceFrom(first, end);
  if (prefix >= 0 && traceCmdNonEventAt(blanksEnd((prefix as usize) + 2, end), end)) return false;
  let timeEnd = traceCmdBracketColumns(first, end);
  if (timeEnd == mustComputeColumn) return false;
  if (timeEnd == noColumn) timeEnd = traceCmdLatencyColumns(first, end);
  if (timeEnd < 0) return false;
  // splitNameAndBody, with trace-cmd's padding to 20 columns.
  const nameStart = traceCmdSkipTsDiff(timeEnd as usize, end);
  const sep = colonSpaceFrom(nameStart, end);
  let nameEnd: usize;
  let bodyStart = end;
  if (sep < 0) {
    nameEnd = byteAt(end - 1) == charColon ? end - 1 : end;
  } else {
    nameEnd = sep as usize;
    bodyStart = nameEnd + 2;
    const nameLength = nameEnd - nameStart;
    let padEnd = nameLength < 20 ? bodyStart + (20 - nameLength) : bodyStart;
    if (padEnd > end) padEnd = end;
    while (bodyStart < padEnd && byteAt(bodyStart) == charSpace) bodyStart++;
  }
  if (nameEnd <= nameStart) return false;
  for (let at = nameStart; at < nameEnd; at++) if (byteAt(at) >= asciiLimit) return false;
  columnsFound = true;
  setColumn(traceCmdFirst, first);
  setColumn(traceCmdNameStart, nameStart);
  setColumn(traceCmdNameEnd, nameEnd);
  setColumn(traceCmdBodyStart, bodyStart);
  setColumn(traceCmdUnused, -1);
  const flavor = bodyStart < end && byteAt(bodyStart) == charOpenParen ? flavorWithLocation : flavorPlain;
  return countIfTaughtIn(nameStart, nameEnd, flavor);
}
