/**
 * One importer per input format (speedscope's importers): each knows a line or record
 * grammar, not KVM, and turns bytes into records with source positions. The format is chosen
 * by content (`sniff`), the file name being only a hint.
 */
import type { CsvMap } from './csv/csvMap.js';
import type { InputPosition } from './lines/lineSplitter.js';
import type { ReadRecord } from './records.js';

export type TraceFormat = 'ftrace' | 'trace-cmd' | 'csv' | 'msgpack';

/**
 * Whether the consumer has any use for an event line named `name` (`opensWithLocation`: its
 * body starts with a probe's `(location)`). Lines it refuses may come back only as counts by
 * name (`unused-events` records); an importer is free to ignore the filter. It must give the
 * same answer for the same arguments: readers ask once per name.
 */
export type EventFilter = (name: string, opensWithLocation: boolean) => boolean;

export interface ReadOptions {
  /** Name used in spans and messages; `-` for stdin. */
  readonly file: string;
  readonly maxLineBytes?: number;
  /** Force a format instead of sniffing. */
  readonly format?: TraceFormat;
  /** How a CSV trace's columns read as the default CSV layout (`--csv-map`). */
  readonly csvMap?: CsvMap;
  /** Event lines the consumer has no use for need not be read in full. */
  readonly wantEvent?: EventFilter;
  /**
   * False: ftrace and trace-cmd lines are read by the string grammar alone, without the
   * WebAssembly skim (lines/ftraceSkim.ts); 'always': with the skim even where it does not
   * pay. The records are the same either way; tests compare them.
   */
  readonly wasmSkim?: boolean | 'always';
  /**
   * Where the bytes start in the input, when they are a part of it from a line's start on
   * (one per-CPU run): spans count on from there. Only line-oriented importers take it.
   */
  readonly from?: InputPosition;
}

export interface Importer {
  readonly format: TraceFormat;
  /** How sure the importer is that a trace starting with `head` is its format: 0 to 1. */
  sniff(head: string, fileName: string): number;
  /**
   * Records in batches from the decompressed bytes; `unused-events` counts only under
   * `options.wantEvent`. A chunk of `bytes` holds its contents only until the next is asked
   * for (files are read into reused buffers): copy what must outlive that.
   */
  records(bytes: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<ReadRecord[]>;
}
