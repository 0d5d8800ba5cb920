/**
 * One importer per input format (speedscope's importers): each knows a line or record
 * grammar, not KVM, and turns bytes into records with source positions. The format is chosen
 * by content (`sniff`), the file name being only a hint.
 */
import type { CsvMap } from './csvMap.js';
import type { TraceRecord } from './records.js';

export type TraceFormat = 'ftrace' | 'trace-cmd' | 'csv' | 'msgpack';

export interface ReadOptions {
  /** Name used in spans and messages; `-` for stdin. */
  readonly file: string;
  readonly maxLineBytes?: number;
  /** Force a format instead of sniffing. */
  readonly format?: TraceFormat;
  /** How a CSV trace's columns read as the default CSV layout (`--csv-map`). */
  readonly csvMap?: CsvMap;
}

export interface Importer {
  readonly format: TraceFormat;
  /** How sure the importer is that a trace starting with `head` is its format: 0 to 1. */
  sniff(head: string, fileName: string): number;
  /** Records in batches from the decompressed bytes. */
  records(bytes: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<TraceRecord[]>;
}
