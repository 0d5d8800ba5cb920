import { Option, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { ExitCode } from '../../errors.js';
import { analyzeTrace } from '../../replay/analyze.js';
import type { Report } from '../../report/report.js';
import { renderJson } from '../../report/json.js';
import { renderSummary } from '../../report/summary.js';
import { renderText } from '../../report/text.js';
import { analyzeInParallel } from '../analyzeInParallel.js';
import type { CommandContext } from '../context.js';
import { addModelOptions, replayOptionsFrom, type ModelFlags } from '../options.js';
import { ProgressLine } from '../progress.js';

const verdictExit: Record<Report['verdict'], ExitCode> = { ok: ExitCode.ok, findings: ExitCode.findings, inconclusive: ExitCode.inconclusive };

interface AnalyzeFlags extends ModelFlags {
  format: 'text' | 'json';
  out?: string;
  exitZero?: boolean;
  quiet?: boolean;
  jobs?: number;
}

export function registerAnalyze(program: Command, ctx: CommandContext): void {
  addModelOptions(
    program
      .command('analyze')
      .description('Replay traces and report findings; exit 0 ok, 1 findings, 2 inconclusive (lost events)')
      .argument('<trace...>', 'trace files (ftrace text, trace-cmd report, CSV or MessagePack; plain or gzip), or - for stdin')
      .addOption(new Option('--format <format>', 'report format on stdout and in --out').choices(['text', 'json']).default('text'))
      .option('--out <dir>', 'also write <trace>.txt and <trace>.json reports into this directory')
      .option('--exit-zero', 'exit 0 whatever the verdict once the run completed (errors still fail); the verdict stays in the report')
      .option('--quiet', 'no progress line on stderr (it is only drawn when stderr is a terminal)')
      .addOption(new Option('--jobs <n>', 'traces analysed at once, each in a worker thread (default: the number of cores)').argParser((value) => Math.max(1, Number.parseInt(value, 10) || 1))),
  )
    .addHelpText(
      'after',
      `
Several traces are analysed in parallel worker threads; each gets its own report and verdict,
followed by a combined summary, and the exit code is the worst verdict.

Exit status: 0 ok, 1 findings, 2 inconclusive (data was lost); 64 usage or configuration
error, 65 bad data (a malformed line under --strict, a corrupt or truncated gzip or
MessagePack file), 66 an input that cannot be opened, 70 internal error, 141 stdout closed
before the report was written (as \`| head\` does).

Examples:
  $ vmid-replay analyze traces/mixed-hazards.trace --variant rfc-v2
  $ vmid-replay analyze capture.txt.gz --vmid-bits 8 --cpus 4 --btm on --format json
  $ vmid-replay analyze host1.trace.gz host2.trace.gz --jobs 2 --out reports/
  $ trace-cmd show | vmid-replay analyze - --vmid-bits 16 --cpus 64 --strict`,
    )
    .action(async (traces: string[], flags: AnalyzeFlags) => {
      const { io } = ctx;
      const options = await replayOptionsFrom(flags, io);
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
      const cores = flags.jobs ?? availableParallelism();
      const parallel = traces.length > 1 && !traces.includes('-') && cores > 1;
      // One trace at a time: a large ftrace or MessagePack file is read on a second core.
      const ingest = { readingThread: cores > 1 };
      let reports: Report[];
      try {
        reports = parallel
          ? await analyzeInParallel(traces, options, cores, onProgress)
          : await traces.reduce<Promise<Report[]>>(async (done, trace, index) => [...(await done), await analyzeTrace(trace, io.stdin, options, (bytes, records) => onProgress(index, bytes, records), ingest)], Promise.resolve([]));
      } finally {
        progress?.done();
      }
      if (flags.format === 'json') {
        io.writeOut(reports.length === 1 ? renderJson(reports[0] as Report) : renderJson({ reports, summary: reports.map((r) => ({ file: r.file, verdict: r.verdict })) }));
      } else {
        io.writeOut(reports.map((report) => renderText(report)).join('\n'));
        if (reports.length > 1) io.writeOut(`\n${renderSummary(reports)}`);
      }
      if (flags.out !== undefined) {
        await io.makeDir(flags.out);
        for (const [index, report] of reports.entries()) {
          const trace = traces[index] as string;
          const stem = trace === '-' ? 'stdin' : basename(trace).replace(/\.gz$/, '');
          await io.writeFile(join(flags.out, `${stem}.txt`), renderText(report));
          await io.writeFile(join(flags.out, `${stem}.json`), renderJson(report));
        }
      }
      const worst = Math.max(ExitCode.ok, ...reports.map((report) => verdictExit[report.verdict]));
      ctx.setExitCode(flags.exitZero === true ? ExitCode.ok : worst);
    });
}
