/**
 * The MessagePack trace form's framing, shared by msgpackWriter.ts and msgpackReader.ts
 * (docs/msgpack-format.md): an 8-byte magic, then frames of
 *
 *   u32 big-endian payload length | u32 big-endian CRC-32 of the payload | payload (one MessagePack map)
 *
 * The first frame is the header (`k: "header"`), then blocks of records (`k: "block"`), then
 * one end frame (`k: "end"`) with the totals, so a file cut at a frame boundary is caught too.
 */

/** PNG-style: a high-bit byte (7-bit transfers), the name, CR LF (newline translation), ^Z. */
export const msgpackMagic = Buffer.from([0x89, 0x56, 0x52, 0x4d, 0x50, 0x0d, 0x0a, 0x1a]);

export const msgpackFormatName = 'vmid-replay-msgpack';
/**
 * What the writer writes. Version 1 stored integer columns and strings as MessagePack arrays;
 * version 2 has no meaning columns (EventColumnsV3).
 */
export const msgpackFormatVersion = 3;
/** What the reader reads. */
export const readableFormatVersions: readonly number[] = [1, 2, 3];

/** Bytes before each payload: length and CRC-32. */
export const frameHeaderBytes = 8;

/** Records per block unless the writer is told otherwise. */
export const defaultBlockRecords = 4096;

/** A block is also cut when its strings pass this many bytes, so blocks stay small with long lines. */
export const blockStringBytes = 4 << 20;

/**
 * The reader refuses a frame claiming more than this: a corrupt length must not make it buffer
 * gigabytes. Far above what the writer produces (4096 records or 4 MiB of strings, plus columns).
 */
export const maxFrameBytes = 64 << 20;

/** Record types as stored in a block's `type` column. */
export const recordTypeCodes = ['event', 'header', 'lost', 'buffer-started', 'continuation', 'malformed'] as const;

/** Bits of an event's `shape` byte: how its optional columns were present in the record. */
export const shapeTgidUndefined = 1;
export const shapeTgidNull = 2;
export const shapeFlagsUndefined = 4;
/**
 * The event's `text` column is a template: the text before the body with its timestamp cut out
 * and a NUL in its place, then the body follows (templates repeat, so the string table shares
 * them). The timestamp is written back from tsUs/tsNs with 6 or 9 fractional digits.
 */
export const shapeTextStamp6 = 8;
export const shapeTextStamp9 = 16;
export const shapeBits = 31;

/** Where a template's timestamp goes. */
export const templateMark = '\u0000';

/** An event's timestamp as ftrace prints it, with 6 or 9 fractional digits. */
export function stampText(tsUs: number, tsNs: number, nine: boolean): string {
  const secs = Math.floor(tsUs / 1_000_000);
  const usecs = String(tsUs % 1_000_000).padStart(6, '0');
  return nine ? `${secs}.${usecs}${String(tsNs).padStart(3, '0')}` : `${secs}.${usecs}`;
}

/**
 * A column of integers as version 2 stores it: one byte giving the width of every value (1, 2
 * or 4: signed little-endian; 8: a little-endian float64 holding a safe integer), then the
 * values. The writer picks the narrowest width that holds the whole column, so a block decodes
 * by reading typed values, without a MessagePack value per cell.
 */
export function encodeColumn(values: readonly number[]): Uint8Array {
  let min = 0;
  let max = 0;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const width = min >= -0x80 && max <= 0x7f ? 1 : min >= -0x8000 && max <= 0x7fff ? 2 : min >= -0x80000000 && max <= 0x7fffffff ? 4 : 8;
  const out = new Uint8Array(1 + values.length * width);
  out[0] = width;
  const view = new DataView(out.buffer);
  for (let i = 0, at = 1; i < values.length; i++, at += width) {
    const value = values[i] as number;
    if (width === 1) view.setInt8(at, value);
    else if (width === 2) view.setInt16(at, value, true);
    else if (width === 4) view.setInt32(at, value, true);
    else view.setFloat64(at, value, true);
  }
  return out;
}

/** The widths `encodeColumn` writes. */
export const columnWidths: readonly number[] = [1, 2, 4, 8];

/** The header frame's payload. */
export interface HeaderDoc {
  readonly k: 'header';
  readonly format: string;
  readonly version: number;
  /** The file the records were read from: their spans name it. */
  readonly source: string;
  readonly blockRecords: number;
}

/** Event-only columns of a version 2 block (encodeColumn), one value per event record; `ts` deltas start from the block's `ts0`. */
export interface EventColumnsV2 {
  readonly task: Uint8Array;
  readonly pid: Uint8Array;
  readonly tgid: Uint8Array;
  readonly cpu: Uint8Array;
  /** String index, -1 when the record had no flags. */
  readonly flags: Uint8Array;
  /** tsUs minus the previous event's tsUs in this block (the first: minus 0). */
  readonly ts: Uint8Array;
  readonly ns: Uint8Array;
  readonly name: Uint8Array;
  readonly body: Uint8Array;
  readonly shape: Uint8Array;
}

/**
 * Version 3's event columns: version 2's, and what each line means (events/precoded.ts), so a
 * replay builds the hot kinds' events without reading their bodies.
 */
export interface EventColumnsV3 extends EventColumnsV2 {
  /** One byte per event: the meaning code and its value bit (0: decode the body). */
  readonly meaning: Uint8Array;
  /** String index of the event's VM pointer, -1 for none. */
  readonly vm: Uint8Array;
  /** The integer operand (observedId, observedRet); 0 when the value bit is clear. */
  readonly value: Uint8Array;
}

/** A block frame's payload (version 3; docs/msgpack-format.md says how versions 1 and 2 differ): columns of `n` records. */
export interface BlockDoc {
  readonly k: 'block';
  readonly n: number;
  readonly line: number;
  readonly offset: number;
  /** The first event's tsUs: the `ts` column's first delta is taken from it, so no column needs a wide first value. */
  readonly ts0: number;
  /** Every string of the block, UTF-8, end to end. */
  readonly strings: Uint8Array;
  /** Where each string ends in `strings` (a column): string i is [stringEnds[i - 1] or 0, stringEnds[i]). */
  readonly stringEnds: Uint8Array;
  readonly type: Uint8Array;
  readonly text: Uint8Array;
  readonly dLine: Uint8Array;
  readonly dOffset: Uint8Array;
  readonly event: EventColumnsV3;
  readonly lost: { readonly cpu: Uint8Array; readonly count: Uint8Array };
  readonly bufferStarted: { readonly cpu: Uint8Array };
  readonly malformed: { readonly expected: Uint8Array };
}

export interface EndDoc {
  readonly k: 'end';
  readonly records: number;
  readonly blocks: number;
}
