import { Option, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { describeError, ExitCode, VmidReplayError } from '../../errors.js';
import { planThreads, type IngestPlacement } from '../../replay/read/threads.js';
import { analyzeTrace } from '../analyzeTrace.js';
import type { ReplayOptions } from '../../replay/replayTypes.js';
import type { Report } from '../../report/report.js';
import { renderJson } from '../../report/json.js';
import { renderSummary, summaryEntries, worstFirst, type TraceOutcome } from '../../report/summary.js';
import { renderFailedTrace, renderText } from '../../report/text.js';
import { renderFailedHtml, renderHtml } from '../../report/html/page.js';
import { TraceVisuals } from '../visualOutputs.js';
import { analyzeInParallel } from '../analyzeInParallel.js';
import type { CommandContext } from '../context.js';
import { errorLine } from '../errorLine.js';
import type { CliIo } from '../io.js';
import { addModelOptions, replayOptionsFrom, type ModelFlags } from '../options.js';
import { makeOutputDir, refuseToOverwriteInputs, writeOutputFile } from '../output.js';
import { ProgressLine } from '../progress.js';
import { reportNames } from '../reportNames.js';

const verdictExit: Record<Report['verdict'], ExitCode> = { ok: ExitCode.ok, findings: ExitCode.findings, inconclusive: ExitCode.inconclusive };

interface AnalyzeFlags extends ModelFlags {
  format: 'text' | 'json' | 'html' | 'perfetto';
  out?: string;
  exitZero?: boolean;
  quiet?: boolean;
  jobs?: number;
}

/** One trace after another on this thread (stdin, or one core): a trace that fails does not stop the others. */
async function analyzeOneByOne(traces: readonly string[], stdin: Readable, options: ReplayOptions, onProgress: (index: number, bytes: number, records: number) => void, ingest: IngestPlacement, visuals: TraceVisuals): Promise<TraceOutcome[]> {
  const outcomes: TraceOutcome[] = [];
  for (const [index, file] of traces.entries()) {
    try {
      outcomes.push({ file, report: await analyzeTrace(file, stdin, options, (bytes, records) => onProgress(index, bytes, records), ingest, visuals.forTrace(index)) });
    } catch (error) {
      outcomes.push({ file, error: describeError(error) });
    }
  }
  return outcomes;
}

/**
 * Checks `--out` before any trace is read, so a long analysis does not end in an output it
 * cannot write: report names unique per input, none of them an input, the folder created.
 * Returns each input's report path without its extension.
 */
async function prepareOut(io: CliIo, dir: string, traces: readonly string[]): Promise<string[]> {
  const stems = reportNames(traces).map((name) => join(dir, name));
  await refuseToOverwriteInputs(io, stems.flatMap((stem) => [`${stem}.txt`, `${stem}.json`, `${stem}.html`, `${stem}.perfetto.json`]), traces);
  await makeOutputDir(io, dir);
  return stems;
}

/** A failed trace gets files too, saying why: a report left by an earlier run must not pass for this one's. */
async function writeOut(io: CliIo, stems: readonly string[], outcomes: readonly TraceOutcome[]): Promise<void> {
  for (const [index, outcome] of outcomes.entries()) {
    const stem = stems[index] as string;
    const isError = 'error' in outcome;
    await writeOutputFile(io, `${stem}.txt`, isError ? renderFailedTrace(outcome.file, outcome.error) : renderText(outcome.report));
    await writeOutputFile(io, `${stem}.json`, renderJson(isError ? { tool: 'vmid-replay', file: outcome.file, error: outcome.error } : outcome.report));
    await writeOutputFile(io, `${stem}.html`, isError ? renderFailedHtml(outcome.file, outcome.error) : renderHtml(outcome.report));
  }
}

function writeReports(io: CliIo, outcomes: readonly TraceOutcome[], format: AnalyzeFlags['format']): void {
  const reports = outcomes.flatMap((outcome) => ('report' in outcome ? [outcome.report] : []));
  if (format === 'html') {
    if (reports.length === 1) io.writeOut(renderHtml(reports[0] as Report));
  } else if (format === 'perfetto') {
    // Streamed while the traces were replayed.
  } else if (format === 'json') {
    if (outcomes.length > 1) io.writeOut(renderJson({ reports, summary: summaryEntries(outcomes) }));
    else if (reports.length === 1) io.writeOut(renderJson(reports[0] as Report));
  } else {
    io.writeOut(reports.map((report) => renderText(report)).join('\n'));
    if (outcomes.length > 1) io.writeOut(`${reports.length > 0 ? '\n' : ''}${renderSummary(outcomes)}`);
  }
  for (const outcome of outcomes) if ('error' in outcome) io.writeErr(errorLine(outcome.error));
}

/** The worst outcome's code (summary.ts ranks them: an error, then findings, inconclusive, ok); --exit-zero spares only verdicts. */
function exitCodeOf(outcomes: readonly TraceOutcome[], exitZero: boolean): number {
  const [worst] = worstFirst(outcomes);
  if (worst === undefined) return ExitCode.ok;
  if ('error' in worst) return worst.error.exitCode;
  return exitZero ? ExitCode.ok : verdictExit[worst.report.verdict];
}

export function registerAnalyze(program: Command, ctx: CommandContext): void {
  addModelOptions(
    program
      .command('analyze')
      .description('Replay traces and report findings; exit 0 ok, 1 findings, 2 inconclusive (lost events), 3 nothing to replay')
      .argument('<trace...>', 'trace files (ftrace text, trace-cmd report, CSV or MessagePack; plain or gzip), or - for stdin (once)')
      .addOption(new Option('--format <format>', 'report format on stdout: html is a self-contained page with the timeline (one trace), perfetto Chrome Trace Event JSON for ui.perfetto.dev').choices(['text', 'json', 'html', 'perfetto']).default('text'))
      .option('--out <dir>', 'also write every format into this directory: <name>.txt, .json, .html and .perfetto.json per trace (names: see below)')
      .option('--exit-zero', 'exit 0 whatever the verdict once the run completed (errors still fail); the verdict stays in the report')
      .option('--quiet', 'no progress line on stderr (it is only drawn when stderr is a terminal)')
      .addOption(new Option('--jobs <n>', 'traces analysed at once, each in a worker thread (default: the number of cores)').argParser((value) => Math.max(1, Number.parseInt(value, 10) || 1))),
  )
    .addHelpText(
      'after',
      `
Several traces are analysed in parallel worker threads; each gets its own report and verdict,
or its error (on stderr), and a trace that fails does not stop the others. A combined summary
follows, worst first: errors, then findings, inconclusive, ok. The exit code is that of the
summary's first line: an error's own code, else the worst verdict's.

--out names each trace's reports after its file name without .gz (stdin for -). Traces that
share a name are told apart by as many of their last folders as differ (host1/trace.txt,
host2/trace.txt: host1_trace.txt.txt, host2_trace.txt.txt), or by their position among the
traces when their folders are the same (1_trace.txt.txt). A trace that failed gets files
saying so. Nothing is written over an input.

Exit status: 0 ok, 1 findings, 2 inconclusive (data was lost, or more than 1 % of the lines
could not be read); 3 no events to replay (nothing was judged: the message says what the trace
held instead, e.g. probes that need --map); 64 usage or configuration error, 65 bad data (a
malformed line under --strict, a corrupt or truncated gzip or MessagePack file), 66 an input
that cannot be opened, 70 internal error, 73 an output that cannot be written (--out), 141
stdout closed before the report was written (as
\`| head\` does).

Examples:
  $ vmid-replay analyze traces/mixed-hazards.trace --variant rfc-v2
  $ vmid-replay analyze capture.txt.gz --vmid-bits 8 --cpus 4 --btm on --format json
  $ vmid-replay analyze host1.trace.gz host2.trace.gz --jobs 2 --out reports/
  $ trace-cmd show | vmid-replay analyze - --vmid-bits 16 --cpus 64 --strict`,
    )
    .action(async (traces: string[], flags: AnalyzeFlags) => {
      const { io } = ctx;
      if (traces.filter((trace) => trace === '-').length > 1) throw new VmidReplayError('USAGE', 'stdin (-) can be read only once: give - once among the traces');
      if (flags.format === 'html' && traces.length > 1) throw new VmidReplayError('USAGE', `--format html writes one page for one trace, found ${traces.length} traces: give one, or --out DIR for a page per trace`);
      const options = await replayOptionsFrom(flags, io);
      const outStems = flags.out === undefined ? undefined : await prepareOut(io, flags.out, traces);
      const showProgress = io.stderrIsTty && flags.quiet !== true;
      const sizes = await Promise.all(traces.map((trace) => io.fileSize(trace)));
      const total = sizes.every((size) => size !== undefined) ? sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0) : undefined;
      const label = traces.length === 1 ? (traces[0] as string) : `${traces.length} traces`;
      const progress = showProgress ? new ProgressLine(io, label, total) : undefined;
      const bytesByTrace = new Array<number>(traces.length).fill(0);
      const recordsByTrace = new Array<number>(traces.length).fill(0);
      const onProgress = (index: number, bytes: number, records: number) => {
        bytesByTrace[index] = bytes;
        recordsByTrace[index] = records;
        progress?.update(
          bytesByTrace.reduce((a, b) => a + b, 0),
          recordsByTrace.reduce((a, b) => a + b, 0),
        );
      };
      const threads = planThreads(traces, flags.jobs ?? availableParallelism());
      const visuals = new TraceVisuals(io, flags.format === 'html' || outStems !== undefined, flags.format === 'perfetto', outStems?.map((stem) => `${stem}.perfetto.json`));
      let outcomes: TraceOutcome[];
      try {
        outcomes =
          threads.workers > 1
            ? await analyzeInParallel(traces, options, threads.workers, onProgress, (index) => visuals.forTrace(index))
            : await analyzeOneByOne(traces, io.stdin, options, onProgress, threads.placement, visuals);
      } finally {
        progress?.done();
      }
      await visuals.end(outcomes);
      writeReports(io, outcomes, flags.format);
      if (outStems !== undefined) await writeOut(io, outStems, outcomes);
      ctx.setExitCode(exitCodeOf(outcomes, flags.exitZero === true));
    });
}
