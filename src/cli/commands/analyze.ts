import { Option, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { describeError, ExitCode, VmidReplayError, type ErrorDescription } from '../../errors.js';
import { planThreads, type IngestPlacement } from '../../replay/read/threads.js';
import { analyzeTraceWithVisuals } from '../analyzeTrace.js';
import type { ReplayOptions } from '../../replay/replayTypes.js';
import type { Report } from '../../report/report.js';
import { renderCsv, renderFailedCsv } from '../../report/csv.js';
import { renderFailedJson, renderJson, renderSeveralJson } from '../../report/json.js';
import { renderFailedMarkdown, renderMarkdown, renderMarkdownSummary } from '../../report/markdown.js';
import { renderSummary, summaryEntries, worstFirst, type TraceOutcome } from '../../report/summary.js';
import { renderFailedTrace, renderText } from '../../report/text.js';
import { renderFailedHtml, renderHtml } from '../../report/html/page.js';
import { TraceVisuals } from '../visualOutputs.js';
import { analyzeInParallel } from '../analyzeInParallel.js';
import type { CommandContext } from '../context.js';
import { errorLine } from '../errorLine.js';
import type { CliIo } from '../io.js';
import { addModelOptions, integerIn, replayOptionsFrom, type ModelFlags } from '../options.js';
import { makeOutputDir, refuseToOverwriteInputs, writeOutputFile } from '../output.js';
import { ProgressLine } from '../progress.js';
import { reportNames } from '../reportNames.js';

const verdictExit: Record<Report['verdict'], ExitCode> = { ok: ExitCode.ok, findings: ExitCode.findings, inconclusive: ExitCode.inconclusive };

/** How a report is shown: in colour (stdout is a terminal), and how many findings of each check `mail` lists. */
interface RenderStyle {
  readonly colour: boolean;
  readonly perCheck: number;
}

/**
 * A report format rendered from the report once the trace is replayed: the file suffix `--out`
 * gives it (`<name>.<suffix>`), one trace's report (or, for a trace that failed, the file that
 * says why), and several traces on stdout, which are one after another unless the format says
 * how to combine them, or that stdout holds one trace's (`one trace only`: a page).
 */
interface RenderedFormat {
  readonly suffix: string;
  /** What the format is for, in a few words (`--help`, reports/README.md). */
  readonly purpose: string;
  /** The replay collects the timeline for it (src/timeline), beside the report. */
  readonly timeline?: true;
  readonly one: (outcome: TraceOutcome, style: RenderStyle) => string;
  readonly several?: ((outcomes: readonly TraceOutcome[], style: RenderStyle) => string) | 'one trace only';
}

/**
 * A format written while the trace replays, from its steps (a trace's events do not fit in a
 * report): Perfetto's, on stdout and into `<name>.<suffix>` under `--out` (src/cli/visualOutputs.ts).
 */
interface StreamedFormat {
  readonly suffix: string;
  readonly purpose: string;
  readonly streamed: true;
}

type ReportFormat = RenderedFormat | StreamedFormat;

/** A format's `one` from its renderer of a report and of a failed trace. */
function eachTrace(render: (report: Report, style: RenderStyle) => string, failed: (file: string, error: ErrorDescription) => string): RenderedFormat['one'] {
  return (outcome, style) => ('error' in outcome ? failed(outcome.file, outcome.error) : render(outcome.report, style));
}

const reportsOf = (outcomes: readonly TraceOutcome[]): Report[] => outcomes.flatMap((outcome) => ('report' in outcome ? [outcome.report] : []));

/** Reports one after another, then the summary (failed traces are in the summary and on stderr). */
function withSummary(render: (report: Report, style: RenderStyle) => string, summary: (outcomes: readonly TraceOutcome[]) => string): Exclude<RenderedFormat['several'], 'one trace only' | undefined> {
  return (outcomes, style) => {
    const reports = reportsOf(outcomes).map((report) => render(report, style));
    return `${reports.join('\n')}${reports.length > 0 ? '\n' : ''}${summary(outcomes)}`;
  };
}

const asText = (report: Report, style: RenderStyle) => renderText(report, { colour: style.colour });
const asMail = (report: Report, style: RenderStyle) => renderText(report, { colour: style.colour, perCheck: style.perCheck });

/** Every format `--format` takes and `--out` writes, in that order: adding one is adding a line. */
export const reportFormats = {
  text: { suffix: 'txt', purpose: 'for mail: ASCII, wrapped at 72 columns, trace lines quoted whole', one: eachTrace(asText, renderFailedTrace), several: withSummary(asText, renderSummary) },
  mail: { suffix: 'mail.txt', purpose: 'the text report with only the first --per-check findings of each check', one: eachTrace(asMail, renderFailedTrace), several: withSummary(asMail, renderSummary) },
  markdown: { suffix: 'md', purpose: 'for issues and pull requests', one: eachTrace(renderMarkdown, renderFailedMarkdown), several: withSummary(renderMarkdown, renderMarkdownSummary) },
  csv: { suffix: 'csv', purpose: 'one row per finding', one: eachTrace((report) => renderCsv([report]), renderFailedCsv), several: (outcomes) => renderCsv(reportsOf(outcomes)) },
  json: { suffix: 'json', purpose: 'the whole report, as docs/report.schema.json describes it', one: eachTrace(renderJson, renderFailedJson), several: (outcomes) => renderSeveralJson(reportsOf(outcomes), summaryEntries(outcomes)) },
  html: {
    suffix: 'html',
    purpose: 'one self-contained page of one trace: its timeline to zoom and pan, the findings, each VM\'s VMIDs',
    timeline: true,
    one: (outcome) => ('error' in outcome ? renderFailedHtml(outcome.file, outcome.error) : renderHtml(outcome.report, outcome.timeline)),
    several: 'one trace only',
  },
  perfetto: { suffix: 'perfetto.json', purpose: 'Chrome Trace Event JSON for ui.perfetto.dev, written as the trace replays', streamed: true },
} satisfies Record<string, ReportFormat>;

export type FormatName = keyof typeof reportFormats;
const formatNames = Object.keys(reportFormats) as FormatName[];
const formatOf = (name: FormatName): ReportFormat => reportFormats[name];
const renderedFormats = formatNames.map(formatOf).filter((format): format is RenderedFormat => !('streamed' in format));

/** `mail` lists the first findings of each check: enough to show a problem's shape in a review. */
const defaultPerCheck = 3;

interface AnalyzeFlags extends ModelFlags {
  format: FormatName;
  perCheck: number;
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
      outcomes.push({ file, ...(await analyzeTraceWithVisuals(file, stdin, options, (bytes, records) => onProgress(index, bytes, records), ingest, visuals.forTrace(index))) });
    } catch (error) {
      outcomes.push({ file, error: describeError(error) });
    }
  }
  return outcomes;
}

/**
 * Checks `--out` before any trace is read, so a long analysis does not end in an output it
 * cannot write: report names unique per input, none of them an input, the folder created.
 * Returns each input's report path without its suffix.
 */
async function prepareOut(io: CliIo, dir: string, traces: readonly string[]): Promise<string[]> {
  const stems = reportNames(traces).map((name) => join(dir, name));
  await refuseToOverwriteInputs(io, stems.flatMap((stem) => formatNames.map((format) => `${stem}.${reportFormats[format].suffix}`)), traces);
  await makeOutputDir(io, dir);
  return stems;
}

/**
 * Every rendered format of every trace (the streamed ones were written as the traces
 * replayed), never in colour. A failed trace gets files too, saying why: a report left by an
 * earlier run must not pass for this one's.
 */
async function writeOut(io: CliIo, stems: readonly string[], outcomes: readonly TraceOutcome[], perCheck: number): Promise<void> {
  const style = { colour: false, perCheck };
  for (const [index, outcome] of outcomes.entries()) {
    for (const format of renderedFormats) await writeOutputFile(io, `${stems[index] as string}.${format.suffix}`, format.one(outcome, style));
  }
}

function writeReports(io: CliIo, outcomes: readonly TraceOutcome[], format: ReportFormat, style: RenderStyle): void {
  if ('streamed' in format) {
    // Written as the traces replayed.
  } else if (outcomes.length > 1 && typeof format.several === 'function') io.writeOut(format.several(outcomes, style));
  else if (outcomes.length > 1) io.writeOut(outcomes.map((outcome) => format.one(outcome, style)).join('\n'));
  else if (outcomes[0] !== undefined && 'report' in outcomes[0]) io.writeOut(format.one(outcomes[0], style));
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
      .addOption(new Option('--format <format>', `report format on stdout: ${formatNames.map((format) => `${format} (${reportFormats[format].purpose})`).join('; ')}`).choices(formatNames).default('text'))
      .addOption(new Option('--per-check <n>', 'findings of each check that --format mail shows (and <name>.mail.txt in --out)').argParser(integerIn(1, 1_000_000, '--per-check')).default(defaultPerCheck))
      .option('--out <dir>', `also write every format of each trace's report into this directory: <name>.${formatNames.map((format) => reportFormats[format].suffix).join(', .')} (names: see below)`)
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

The text and mail reports are coloured only when stdout is a terminal (and NO_COLOR is
unset), never in files.

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
  $ vmid-replay analyze capture.txt.gz --format mail --per-check 2 > reply.txt
  $ vmid-replay analyze capture.txt.gz --map captures-6.1 --format html > capture.html
  $ vmid-replay analyze capture.txt.gz --map captures-6.1 --format perfetto > capture.json
  $ vmid-replay analyze host1.trace.gz host2.trace.gz --jobs 2 --out reports/
  $ trace-cmd show | vmid-replay analyze - --vmid-bits 16 --cpus 64 --strict`,
    )
    .action(async (traces: string[], flags: AnalyzeFlags) => {
      const { io } = ctx;
      if (traces.filter((trace) => trace === '-').length > 1) throw new VmidReplayError('USAGE', 'stdin (-) can be read only once: give - once among the traces');
      const format = formatOf(flags.format);
      if ('several' in format && format.several === 'one trace only' && traces.length > 1) {
        throw new VmidReplayError('USAGE', `--format ${flags.format} writes one trace's report, found ${traces.length} traces: give one, or --out DIR for one per trace`);
      }
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
      // --out writes every format: the HTML needs the timeline, and the Perfetto files are open from the start.
      const visuals = new TraceVisuals(io, 'timeline' in format || outStems !== undefined, 'streamed' in format, outStems?.map((stem) => `${stem}.${reportFormats.perfetto.suffix}`));
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
      writeReports(io, outcomes, format, { colour: io.stdoutColour, perCheck: flags.perCheck });
      if (outStems !== undefined) await writeOut(io, outStems, outcomes, flags.perCheck);
      ctx.setExitCode(exitCodeOf(outcomes, flags.exitZero === true));
    });
}
