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
export const msgpackFormatVersion = 1;

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

/** The header frame's payload. */
export interface HeaderDoc {
  readonly k: 'header';
  readonly format: string;
  readonly version: number;
  /** The file the records were read from: their spans name it. */
  readonly source: string;
  readonly blockRecords: number;
}

/** Event-only columns, one entry per event record of the block, in record order. */
export interface EventColumns {
  readonly task: number[];
  readonly pid: number[];
  readonly tgid: number[];
  readonly cpu: number[];
  /** String index, -1 when the record had no flags. */
  readonly flags: number[];
  /** tsUs minus the previous event's tsUs in this block (the first: minus 0). */
  readonly ts: number[];
  readonly ns: number[];
  readonly name: number[];
  readonly body: number[];
  readonly shape: Uint8Array;
}

/** A block frame's payload: columns of `n` records. */
export interface BlockDoc {
  readonly k: 'block';
  readonly n: number;
  /** Line and byte offset of the block's first record. */
  readonly line: number;
  readonly offset: number;
  /** The block's string table: every string column is an index into it. */
  readonly strings: string[];
  /** Index into recordTypeCodes, per record. */
  readonly type: Uint8Array;
  readonly text: number[];
  /** Per record: line and offset minus the previous record's (0 for the first). */
  readonly dLine: number[];
  readonly dOffset: number[];
  readonly event: EventColumns;
  /** Per lost record: its CPU and count. */
  readonly lost: { readonly cpu: number[]; readonly count: number[] };
  /** Per buffer-started record: its CPU. */
  readonly bufferStarted: { readonly cpu: number[] };
  /** Per malformed record: string index of what was expected. */
  readonly malformed: { readonly expected: number[] };
}

export interface EndDoc {
  readonly k: 'end';
  readonly records: number;
  readonly blocks: number;
}
