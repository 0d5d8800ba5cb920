/**
 * The CSV importer: rows split by csv-parse's streaming parser (quotes, delimiters and line
 * breaks inside quoted fields are its job), turned into records by csvRows.ts. The layout and
 * `--csv-map` are documented in docs/trace-format.md, "CSV".
 *
 * Bytes go to the parser chunk by chunk and each chunk's rows come back as one batch, so memory
 * is bounded by the chunk size and the longest record (`maxLineBytes`), never by the file.
 */

import type { InfoRecord, Parser } from 'csv-parse';
import { VmidReplayError } from '../../errors.js';
import { CsvRowReader } from './csvRows.js';
import { defaultMaxLineBytes } from '../lines/lineSplitter.js';
import type { Importer, ReadOptions } from '../importer.js';
import type { SourceSpan, TraceRecord } from '../records.js';

interface RawRow {
  readonly record: string[];
  readonly raw: string;
}

/** Line ends as the ftrace importer takes them: LF or CRLF; a lone CR is content. */
const recordDelimiters = ['\r\n', '\n'];

/** A row's source text without its line end. */
function withoutLineEnd(raw: string): string {
  let end = raw.length;
  if (raw.charCodeAt(end - 1) === 0x0a) end--;
  if (raw.charCodeAt(end - 1) === 0x0d) end--;
  return raw.slice(0, end);
}

function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/** Feeds one chunk and waits until the parser has taken it (its rows are then in the batch). */
function write(parser: Parser, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    parser.write(chunk, (error) => (error === undefined || error === null ? resolve() : reject(error)));
  });
}

/** Ends the input and waits until the parser has flushed its last row. */
function finish(parser: Parser): Promise<void> {
  return new Promise((resolve, reject) => {
    parser.once('error', reject);
    parser.once('finish', () => resolve());
    parser.end();
  });
}

async function* csvRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<TraceRecord[]> {
  const maxRecordBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  const rows = new CsvRowReader(options.csvMap);
  let batch: TraceRecord[] = [];
  // Position of the next row: csv-parse's info gives each row's end (byte offset after its line
  // end); the row starts where the previous one ended. Lines are counted from the row's own text
  // (as LineSplitter counts them: one per LF), so a quoted field holding line breaks moves the
  // count by as many lines.
  let line = 1;
  let offset = 0;
  const nextSpan = (): SourceSpan => ({ file: options.file, line, offset });

  // Loaded on first use: most traces are not CSV, and it costs every run about 9 ms of start-up.
  const { CsvError, parse } = await import('csv-parse');
  const parser = parse({
    bom: true,
    delimiter: options.csvMap?.delimiter ?? ',',
    record_delimiter: recordDelimiters,
    // Row width is checked against the header by csvRows.ts, so a short or long row becomes a
    // malformed record with its line instead of stopping the parser.
    relax_column_count: true,
    // A quote inside an unquoted field (`comm="qemu"` in a body) is kept as text, not an error.
    relax_quotes: true,
    raw: true,
    // Bounds memory when a quote is never closed or a line never ends.
    max_record_size: maxRecordBytes,
    // With `raw`, csv-parse hands on_record `{ record, raw }` rather than the bare fields.
    on_record: (row: string[] | RawRow, info: InfoRecord) => {
      const text = withoutLineEnd(info.raw ?? '');
      batch.push(rows.record(Array.isArray(row) ? row : row.record, text, nextSpan()));
      line += countNewlines(text) + 1;
      offset = info.bytes;
      // Taken here; nothing goes to the stream's readable side, so it never waits for a reader.
      return null;
    },
  });
  // Errors also reach the write and finish callbacks, which is where they are handled.
  parser.on('error', () => {});

  const failure = (error: unknown): TraceRecord | undefined => {
    if (!(error instanceof CsvError)) throw error;
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      // Only possible at the end of the input: the last row is malformed, nothing is lost after it.
      const raw = typeof error['raw'] === 'string' ? error['raw'] : '';
      return { type: 'malformed', span: nextSpan(), text: raw.slice(0, 200), expected: 'a closing quote (") for the quoted field, before the end of the input' };
    }
    if (error.code === 'CSV_MAX_RECORD_SIZE') {
      throw new VmidReplayError('MALFORMED_LINE', `expected a CSV row of at most ${maxRecordBytes} bytes, found a longer one (is a quote never closed?); rows after it cannot be told apart`, {
        file: options.file,
        line,
      });
    }
    throw new VmidReplayError('MALFORMED_LINE', `CSV: ${error.message}`, { file: options.file, line });
  };

  try {
    for await (const chunk of source) {
      // Copied: the parser keeps an incomplete row's bytes, and the source may reuse its buffer.
      await write(parser, Buffer.from(chunk)).catch((error: unknown) => {
        const record = failure(error);
        if (record !== undefined) batch.push(record);
      });
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
    await finish(parser).catch((error: unknown) => {
      const record = failure(error);
      if (record !== undefined) batch.push(record);
    });
    if (batch.length > 0) yield batch;
  } finally {
    parser.destroy();
  }
}

/** The default header row, as its column names. */
const defaultHeader = ['timestamp', 'cpu', 'event'];
const identifierCell = /^[A-Za-z_][A-Za-z0-9_ .-]*$/;

/**
 * A CSV trace starts with its header row (comment rows may come first): the default layout's
 * names score high; any other row of identifier-like names is a likely CSV export (more so named
 * `.csv`). An ftrace line has a `TASK-PID [CPU]` column and colons, never such a row.
 */
function sniffCsv(head: string, fileName: string): number {
  const namedCsv = /\.csv(\.gz)?$/i.test(fileName);
  const text = head.startsWith('\ufeff') ? head.slice(1) : head.startsWith('\xef\xbb\xbf') ? head.slice(3) : head;
  let first: string | undefined;
  for (const candidate of text.split('\n', 50)) {
    const trimmed = candidate.trim();
    if (trimmed.length === 0 || trimmed.startsWith('#')) continue;
    first = trimmed;
    break;
  }
  if (first === undefined) return namedCsv ? 0.2 : 0;
  for (const delimiter of [',', ';', '\t', '|']) {
    const cells = first.split(delimiter).map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
    if (cells.length < 3) continue;
    if (defaultHeader.every((name) => cells.includes(name))) return 0.95;
    if (cells.every((cell) => identifierCell.test(cell))) return namedCsv ? 0.6 : 0.4;
  }
  return namedCsv ? 0.2 : 0;
}

export const csvImporter: Importer = {
  format: 'csv',
  sniff: sniffCsv,
  records: csvRecords,
};
