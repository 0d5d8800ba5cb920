import { Option, type Command } from 'commander';
import type { Writable } from 'node:stream';
import { VmidReplayError } from '../../errors.js';
import { linePrecoder } from '../../events/precoded.js';
import type { TraceFormat } from '../../ingest/importer.js';
import { encodeMsgpackTrace, type MsgpackWriteStats } from '../../ingest/writers/msgpackWriter.js';
import { openTraceSource, recordsFromBytes } from '../../ingest/readTrace.js';
import type { TraceRecord } from '../../ingest/records.js';
import { CsvTraceWriter, FtraceTextWriter, type DroppedCounts } from '../../ingest/writers/textWriters.js';
import type { CommandContext } from '../context.js';
import { inputFormatOption, loadCsvMap } from '../options.js';
import { refuseToOverwriteInputs, unwritableOutput } from '../output.js';

const outputFormats = ['ftrace', 'csv', 'msgpack'] as const;
type OutputFormat = (typeof outputFormats)[number];

interface ConvertFlags {
  output: string;
  to?: OutputFormat;
  inputFormat?: TraceFormat | 'auto';
  csvMap?: string;
}

/** The output format: `--to`, else the output file's extension. */
function outputFormatOf(path: string, to: OutputFormat | undefined): OutputFormat {
  if (to !== undefined) return to;
  if (/\.(msgpack|mpk)$/i.test(path)) return 'msgpack';
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(trace|txt)$/i.test(path)) return 'ftrace';
  throw new VmidReplayError('USAGE', `expected --to ftrace|csv|msgpack, or an output name ending in .msgpack, .csv, .trace or .txt, found ${JSON.stringify(path)}`);
}

/**
 * Writes chunks in order, waiting when the stream asks to; rejects on a write error, except
 * that a reader going away (`convert ... -o - | head`) ends the command quietly, as generate does.
 */
async function writeAll(out: Writable, chunks: AsyncIterable<string | Uint8Array>, path: string): Promise<'written' | 'reader-gone'> {
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
  };
  const failed = new Promise<never>((_, reject) => {
    out.once('error', (error) => {
      fail(error);
      reject(error);
    });
  });
  failed.catch(() => {});
  // end()'s callback hears of a failed last write (ENOSPC on a small file) before 'error' does.
  const ended = () =>
    new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => {
        if (error === undefined || error === null) return resolve();
        fail(error);
        reject(error);
      }),
    );
  try {
    for await (const chunk of chunks) {
      if (failure !== undefined) break;
      if (!out.write(chunk)) await Promise.race([new Promise((resolve) => out.once('drain', resolve)), failed]);
    }
    if (failure === undefined) await Promise.race([ended(), failed]);
  } catch (error) {
    // Only a failure of the output is handled here; the input's errors go on as they are.
    if (failure === undefined) throw error;
  }
  if (failure === undefined) return 'written';
  if ((failure as NodeJS.ErrnoException).code === 'EPIPE') return 'reader-gone';
  throw unwritableOutput(path, failure);
}

/** Text lines, one chunk per input batch. */
async function* ftraceChunks(batches: AsyncIterable<TraceRecord[]>, dropped: DroppedCounts, counted: { records: number }): AsyncGenerator<string> {
  const writer = new FtraceTextWriter(dropped);
  const countLeftOut = () => [...dropped.values()].reduce((sum, count) => sum + count, 0);
  let seen = 0;
  for await (const batch of batches) {
    const lines: string[] = [];
    for (const record of batch) lines.push(writer.push(record));
    seen += batch.length;
    const text = lines.join('');
    if (text.length > 0) yield text;
  }
  const last = writer.end();
  if (last.length > 0) yield last;
  counted.records = seen - countLeftOut();
}

async function* csvChunks(batches: AsyncIterable<TraceRecord[]>, dropped: DroppedCounts, counted: { records: number }): AsyncGenerator<string> {
  const writer = new CsvTraceWriter(dropped);
  let first = true;
  for await (const batch of batches) {
    const lines: string[] = [];
    if (first) {
      lines.push(`${writer.headerRow(batch)}\n`);
      first = false;
    }
    for (const record of batch) {
      const row = writer.row(record);
      if (row === undefined) continue;
      lines.push(`${row}\n`);
      counted.records += 1;
    }
    yield lines.join('');
  }
  if (first) yield `${writer.headerRow([])}\n`;
}

export function registerConvert(program: Command, ctx: CommandContext): void {
  program
    .command('convert')
    .description('Convert a trace (any input format, plain or gzip) to ftrace text, CSV (the default layout) or the MessagePack form (docs/msgpack-format.md)')
    .argument('<trace>', 'input trace file, or - for stdin')
    .requiredOption('-o, --output <file>', 'output file, or - for stdout (then give --to)')
    .addOption(new Option('--to <format>', 'output format (default: from the output name: .msgpack, .csv, .trace or .txt)').choices(outputFormats))
    .addOption(inputFormatOption())
    .option('--csv-map <file>', 'CSV map (JSON) for a CSV input in another layout (docs/trace-format.md, CSV)')
    .addHelpText(
      'after',
      `
Records that have no form in the output format (e.g. the CSV header row in ftrace text) are left
out and counted on stderr. An output that is the input (by name or through a link) is refused
(exit 64); one that cannot be written exits 73. Examples:
  $ vmid-replay convert traces/mixed-hazards.trace -o mixed.msgpack
  $ vmid-replay convert mixed.msgpack -o mixed.csv
  $ vmid-replay analyze mixed.msgpack`,
    )
    .action(async (trace: string, flags: ConvertFlags) => {
      const { io } = ctx;
      const format = outputFormatOf(flags.output, flags.to);
      await refuseToOverwriteInputs(io, [flags.output], [trace]);
      const csvMap = await loadCsvMap(flags.csvMap, io);
      const inputFormat = flags.inputFormat === undefined || flags.inputFormat === 'auto' ? undefined : flags.inputFormat;
      const batches = recordsFromBytes(openTraceSource(trace, io.stdin), {
        file: trace,
        ...(inputFormat === undefined ? {} : { format: inputFormat }),
        ...(csvMap === undefined ? {} : { csvMap }),
      });
      const dropped: DroppedCounts = new Map();
      const counted = { records: 0 };
      const msgpackStats: MsgpackWriteStats = { records: 0, blocks: 0 };
      const chunks =
        format === 'msgpack'
          ? encodeMsgpackTrace(batches, { source: trace, meaningOf: linePrecoder() }, msgpackStats)
          : format === 'csv'
            ? csvChunks(batches, dropped, counted)
            : ftraceChunks(batches, dropped, counted);
      if ((await writeAll(io.openWritable(flags.output), chunks, flags.output)) === 'reader-gone') return;
      const written = format === 'msgpack' ? `${msgpackStats.records} records in ${msgpackStats.blocks} blocks` : `${counted.records} records`;
      const notes = [...dropped].map(([reason, count]) => `\n  ${count} ${reason}`).join('');
      io.writeErr(`vmid-replay convert: ${trace} -> ${flags.output} (${format}): ${written}${dropped.size > 0 ? `; left out or changed:${notes}` : ''}\n`);
    });
}
