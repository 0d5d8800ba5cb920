/**
 * The `trace-cmd report` text importer: the output of trace-cmd 2.x and 3.x read line by line
 * (see traceCmdLine.ts for the grammar), giving the same records as the ftrace importer.
 */
import { lineRecords, type LineGrammar } from '../lines/lineRecords.js';
import { TraceCmdColumns } from './traceCmdColumns.js';
import { isReportHeader, parseTraceCmdLine, showsNamePadding } from './traceCmdLine.js';
import type { Importer, ReadOptions } from '../importer.js';
import type { ReadRecord } from '../records.js';

export const traceCmdGrammar: LineGrammar = {
  parseText: parseTraceCmdLine,
  traceCmd: true,
  skimmedColumns: () => new TraceCmdColumns(),
};

/** Parses a (decompressed) byte stream of `trace-cmd report` text into batches of records. */
function traceCmdRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<ReadRecord[]> {
  return lineRecords(source, options, traceCmdGrammar);
}

/** Lines of the head the sniffer looks at. */
const sniffLines = 64;

/**
 * What `trace-cmd report` prints first: `cpus=N` (3.x and 2.x), `version = 6` (2.x with -V),
 * `CPU N is empty` (before `cpus=`), maybe behind a `FILE: ` prefix: that is certain.
 * Without it (a report cut with `tail`), event lines whose names are padded to 20 columns
 * are trace-cmd's and never ftrace's (ftrace's sniff scores its own event lines 0.9).
 */
function sniffTraceCmd(head: string): number {
  // The last piece may be a line cut by the end of the head: left out.
  const pieces = head.split('\n', sniffLines + 1);
  const lines = pieces.length > 1 ? pieces.slice(0, -1) : pieces;
  const firstLine = lines.find((line) => line.trim().length > 0);
  if (firstLine !== undefined && isReportHeader(firstLine)) return 1;
  let padded = 0;
  let unpadded = 0;
  lines.forEach((line, index) => {
    const record = parseTraceCmdLine(line.endsWith('\r') ? line.slice(0, -1) : line, { file: '', line: index + 1, offset: 0 });
    if (record.type !== 'event') return;
    const shows = showsNamePadding(record);
    if (shows === true) padded += 1;
    if (shows === false) unpadded += 1;
  });
  return padded >= 2 && unpadded === 0 ? 0.95 : 0.05;
}

export const traceCmdImporter: Importer = {
  format: 'trace-cmd',
  sniff: sniffTraceCmd,
  records: traceCmdRecords,
};
