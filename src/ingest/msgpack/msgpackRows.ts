/**
 * A MessagePack block's rows, in two steps: `keepRows` checks every row and keeps those a
 * filter does not refuse (refused events are only counted by name), with their running sums
 * (line, offset, timestamp) made absolute; `recordsOfRows` makes records of kept rows. Kept
 * rows are plain numbers, so the first step can run on a reading thread and hand its rows to
 * the replaying one (msgpackThread.ts), which makes the records.
 */
import type { EventFilter } from '../importer.js';
import type { BlockColumns, BlockStrings } from './msgpackColumns.js';
import { recordTypeCodes, shapeBits, shapeFlagsUndefined, shapeTextStamp6, shapeTextStamp9, shapeTgidNull, shapeTgidUndefined, stampText, templateMark } from './msgpackFormat.js';
import type { EventRecord, ReadRecord, SourceSpan } from '../records.js';

/** Record type codes as numbers, so a block's rows are told apart without comparing strings. */
const eventCode = recordTypeCodes.indexOf('event');
const headerCode = recordTypeCodes.indexOf('header');
const lostCode = recordTypeCodes.indexOf('lost');
const bufferStartedCode = recordTypeCodes.indexOf('buffer-started');
const continuationCode = recordTypeCodes.indexOf('continuation');
const malformedCode = recordTypeCodes.indexOf('malformed');

const bothStamps = shapeTextStamp6 | shapeTextStamp9;

/**
 * Where each number of a kept row is in `KeptRows.values`. A row holds what its record needs:
 * string-table indexes for its strings, plain values for the rest (`cpu` is an event's, a lost
 * marker's or a buffer start's CPU; `flags` is a malformed line's `expected` string).
 */
const rowType = 0;
const rowLine = 1;
const rowOffset = 2;
const rowText = 3;
const rowTsUs = 4;
const rowNs = 5;
const rowCpu = 6;
const rowPid = 7;
const rowTgid = 8;
const rowShape = 9;
const rowName = 10;
const rowBody = 11;
const rowTask = 12;
const rowFlags = 13;
const rowCount = 14;
/** Version 3's meaning columns (0, -1 and 0 before it). */
const rowMeaning = 15;
const rowVm = 16;
const rowValue = 17;
export const rowFields = 18;

/** A block's kept rows, row after row, in a buffer reused from block to block. */
export class KeptRows {
  values = new Float64Array(rowFields * 4096);
  count = 0;

  /** Room for `rows` rows, the ones kept so far dropped. */
  reset(rows: number): void {
    if (this.values.length < rows * rowFields) this.values = new Float64Array(rows * rowFields);
    this.count = 0;
  }
}

/**
 * Events a filter refused in a block, counted by their name's string index (names are interned
 * per block) in the order their names first appear, from the first of them.
 */
export class RefusedEvents {
  readonly countByName: Int32Array;
  readonly names: number[] = [];
  first: { line: number; offset: number } | undefined;

  constructor(strings: number) {
    this.countByName = new Int32Array(strings);
  }

  add(nameIndex: number, line: number, offset: number): void {
    const counted = this.countByName[nameIndex] as number;
    if (counted === 0) this.names.push(nameIndex);
    this.countByName[nameIndex] = counted + 1;
    this.first ??= { line, offset };
  }

  /** Name and count, in the order the names first appeared. */
  counts(strings: BlockStrings): [string, number][] {
    return this.names.map((nameIndex) => [strings.at(nameIndex), this.countByName[nameIndex] as number]);
  }
}

/**
 * Checks the event columns that need no running sum, every event of the block, used or not,
 * in one pass before any row is kept: in the row loop they cost a sparse read a fifth of its
 * time, mostly for events only counted. The message names the first bad event.
 */
function checkEventColumns(columns: BlockColumns, fail: (message: string) => never): void {
  const { ns, cpu, pid, tgid, shape, flags } = columns;
  let bad = -1;
  for (let e = 0; e < shape.length; e++) {
    const bits = shape[e] as number;
    const nsValue = ns[e] as number;
    if (
      nsValue < 0 ||
      nsValue > 999 ||
      (cpu[e] as number) < 0 ||
      (pid[e] as number) < -1 ||
      (tgid[e] as number) < 0 ||
      bits > shapeBits ||
      (bits & bothStamps) === bothStamps ||
      ((flags[e] as number) === -1) !== ((bits & shapeFlagsUndefined) !== 0)
    ) {
      bad = e;
      break;
    }
  }
  if (bad === -1) return;
  const bits = shape[bad] as number;
  if (bits <= shapeBits && (bits & bothStamps) === bothStamps) fail(`expected event ${bad}'s text template to hold one timestamp mark`);
  if (bits <= shapeBits && ((flags[bad] as number) === -1) !== ((bits & shapeFlagsUndefined) !== 0)) fail(`expected event ${bad}'s flags and shape to agree`);
  fail(`expected event ${bad} to have a timestamp, CPU, PID, TGID and shape in range`);
}

/**
 * Checks every row of a block and keeps, in `kept`, each one `filter` does not refuse (asked
 * once per event name and body flavor); refused events are counted in the result. A plain
 * loop over locals: it runs for every row of every block.
 */
export function keepRows(columns: BlockColumns, fail: (message: string) => never, filter: EventFilter | undefined, kept: KeptRows): RefusedEvents {
  checkEventColumns(columns, fail);
  const { n, strings: str, types, text, dLine, dOffset, task, pid, tgid, cpu, flags, ts, ns, name, body, shape, meaning, vm, value, lostCpu, lostCount, bufferCpu, expected } = columns;
  const refused = new RefusedEvents(filter === undefined ? 0 : str.length);
  /** Per name index and body flavor: 0 not asked yet, 1 wanted, -1 refused. */
  const wanted = new Int8Array(filter === undefined ? 0 : str.length * 2);
  kept.reset(n);
  const out = kept.values;
  let at = 0;
  let line = columns.line;
  let offset = columns.offset;
  let tsUs = columns.ts0;
  let e = 0;
  let lost = 0;
  let bufferStarted = 0;
  let malformed = 0;
  for (let i = 0; i < n; i++) {
    line += dLine[i] as number;
    offset += dOffset[i] as number;
    if (line < 1 || offset < 0 || !Number.isSafeInteger(line + offset)) fail(`expected record ${i} to have a line of at least 1 and a non-negative offset`);
    const textIndex = text[i] as number;
    const type = types[i] as number;
    if (type === eventCode) {
      // The rest of the event's columns were checked by checkEventColumns.
      tsUs += ts[e] as number;
      if (!Number.isSafeInteger(tsUs) || tsUs < 0) fail(`expected event ${e} to have a timestamp, CPU, PID, TGID and shape in range`);
      const bits = shape[e] as number;
      if ((bits & bothStamps) !== 0 && !str.hasNul(textIndex)) fail(`expected event ${e}'s text template to hold one timestamp mark`);
      const nameIndex = name[e] as number;
      if (filter !== undefined) {
        const slot = nameIndex * 2 + (str.firstByte(body[e] as number) === 0x28 /* ( */ ? 1 : 0);
        if (wanted[slot] === 0) wanted[slot] = filter(str.at(nameIndex), slot % 2 === 1) ? 1 : -1;
        if (wanted[slot] === -1) {
          refused.add(nameIndex, line, offset);
          e++;
          continue;
        }
      }
      out[at + rowTsUs] = tsUs;
      out[at + rowNs] = ns[e] as number;
      out[at + rowCpu] = cpu[e] as number;
      out[at + rowPid] = pid[e] as number;
      out[at + rowTgid] = tgid[e] as number;
      out[at + rowShape] = bits;
      out[at + rowName] = nameIndex;
      out[at + rowBody] = body[e] as number;
      out[at + rowTask] = task[e] as number;
      out[at + rowFlags] = flags[e] as number;
      out[at + rowMeaning] = meaning === undefined ? 0 : (meaning[e] as number);
      out[at + rowVm] = vm === undefined ? -1 : (vm[e] as number);
      out[at + rowValue] = value === undefined ? 0 : (value[e] as number);
      e++;
    } else if (type === lostCode) {
      if ((lostCpu[lost] as number) < 0 || (lostCount[lost] as number) < 0) fail(`expected lost record ${lost} to have a CPU and a count of at least 0`);
      out[at + rowCpu] = lostCpu[lost] as number;
      out[at + rowCount] = lostCount[lost] as number;
      lost++;
    } else if (type === bufferStartedCode) {
      if ((bufferCpu[bufferStarted] as number) < 0) fail(`expected buffer-started record ${bufferStarted} to have a CPU of at least 0`);
      out[at + rowCpu] = bufferCpu[bufferStarted] as number;
      bufferStarted++;
    } else if (type === malformedCode) {
      out[at + rowFlags] = expected[malformed] as number;
      malformed++;
    } else if (type !== headerCode && type !== continuationCode) {
      fail(`expected a record type code, found ${type}`);
    }
    out[at + rowType] = type;
    out[at + rowLine] = line;
    out[at + rowOffset] = offset;
    out[at + rowText] = textIndex;
    at += rowFields;
  }
  kept.count = at / rowFields;
  return refused;
}

/**
 * Asked of each kept event row by `recordsOfRows` when given: true if the row makes no record
 * (a reading thread's filter may not yet know every name the replay refuses); it counts those.
 */
export type RowRefusal = (nameIndex: number, opensWithLocation: boolean, line: number, offset: number) => boolean;

/**
 * An event record whose text is made when asked for. A templated line's text is its template
 * with the timestamp written back, then its body: making that for every line was a fifth of
 * a dense replay, and only a finding quoting the line reads it (events keep their record as
 * their `source`).
 */
class MessagePackEventRecord implements EventRecord {
  readonly type = 'event';

  constructor(
    readonly span: SourceSpan,
    /** The text column: the whole line, or (with `stampDigits`) a template of the text before the body. */
    private readonly template: string,
    /** 0 when `template` is the whole line; else 6 or 9, the timestamp's fractional digits. */
    private readonly stampDigits: 0 | 6 | 9,
    readonly task: string,
    readonly pid: number,
    readonly tgid: number | null | undefined,
    readonly cpu: number,
    readonly flags: string | undefined,
    readonly tsUs: number,
    readonly tsNs: number,
    readonly name: string,
    readonly body: string,
    readonly precodedMeaning: number,
    readonly precodedVm: string | undefined,
    readonly precodedValue: number,
  ) {}

  get text(): string {
    if (this.stampDigits === 0) return this.template;
    const mark = this.template.indexOf(templateMark);
    return `${this.template.slice(0, mark)}${stampText(this.tsUs, this.tsNs, this.stampDigits === 9)}${this.template.slice(mark + 1)}${this.body}`;
  }
}

/** Appends the records of kept rows `[from, to)` to `records`, but for the event rows `refuse` refuses. */
export function recordsOfRows(values: Float64Array, from: number, to: number, str: BlockStrings, file: string, records: ReadRecord[], refuse?: RowRefusal): void {
  for (let row = from; row < to; row++) {
    const at = row * rowFields;
    const type = values[at + rowType] as number;
    const line = values[at + rowLine] as number;
    const offset = values[at + rowOffset] as number;
    if (type === eventCode && refuse !== undefined && refuse(values[at + rowName] as number, str.firstByte(values[at + rowBody] as number) === 0x28 /* ( */, line, offset)) continue;
    const span: SourceSpan = { file, line, offset };
    const text = str.at(values[at + rowText] as number);
    if (type === eventCode) {
      const bits = values[at + rowShape] as number;
      const flagsIndex = values[at + rowFlags] as number;
      const vmIndex = values[at + rowVm] as number;
      records.push(
        new MessagePackEventRecord(
          span,
          text,
          (bits & bothStamps) === 0 ? 0 : (bits & shapeTextStamp9) !== 0 ? 9 : 6,
          str.at(values[at + rowTask] as number),
          values[at + rowPid] as number,
          (bits & shapeTgidUndefined) !== 0 ? undefined : (bits & shapeTgidNull) !== 0 ? null : values[at + rowTgid],
          values[at + rowCpu] as number,
          flagsIndex === -1 ? undefined : str.at(flagsIndex),
          values[at + rowTsUs] as number,
          values[at + rowNs] as number,
          str.at(values[at + rowName] as number),
          str.at(values[at + rowBody] as number),
          values[at + rowMeaning] as number,
          vmIndex === -1 ? undefined : str.at(vmIndex),
          values[at + rowValue] as number,
        ),
      );
    } else if (type === headerCode) {
      records.push({ type: 'header', span, text });
    } else if (type === lostCode) {
      records.push({ type: 'lost', span, text, cpu: values[at + rowCpu] as number, count: values[at + rowCount] as number });
    } else if (type === bufferStartedCode) {
      records.push({ type: 'buffer-started', span, text, cpu: values[at + rowCpu] as number });
    } else if (type === continuationCode) {
      records.push({ type: 'continuation', span, text });
    } else {
      records.push({ type: 'malformed', span, text, expected: str.at(values[at + rowFlags] as number) });
    }
  }
}
