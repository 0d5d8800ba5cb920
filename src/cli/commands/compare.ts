import { InvalidArgumentError, Option, type Command } from 'commander';
import { join } from 'node:path';
import { ExitCode } from '../../errors.js';
import { requireEvents } from '../../replay/result/nothingToReplay.js';
import { replayIsSure } from '../../replay/result/unreadable.js';
import { renderCompare, type WhatIfFormat } from '../../report/whatif/compare.js';
import { renderHtml } from '../../report/html/page.js';
import { buildReport } from '../../report/report.js';
import { mergeableSource } from '../../replay/read/perCpuRuns.js';
import { VisualPasses } from '../../timeline/visualPasses.js';
import type { CompareResult } from '../../whatif/compare.js';
import type { Timeline } from '../../timeline/types.js';
import { compareTrace } from '../../whatif/compare.js';
import { policyNames } from '../../whatif/policies/index.js';
import type { CommandContext } from '../context.js';
import { integerIn, addModelOptions, replayOptionsFrom, type ModelFlags } from '../options.js';
import { makeOutputDir, refuseToOverwriteInputs, writeOutputFile } from '../output.js';
import { ProgressLine } from '../progress.js';
import { reportNames } from '../reportNames.js';
import { addWhatIfOptions, assignSpecFrom, listOf, onOff, policyName, whatIfHelp, type WhatIfFlags } from '../whatIfOptions.js';

interface CompareFlags extends ModelFlags, WhatIfFlags {
  policy: string[];
  sweepVmidBits?: number[];
  sweepCpus?: number[];
  sweepBtm?: boolean[];
  diff?: string[];
  format: CompareFormat;
  out?: string;
  quiet?: boolean;
}

/** html: analyze's page of the trace (its timeline and findings) with the what-if tables below. */
type CompareFormat = WhatIfFormat | 'html';

/** The file `--out` writes for each format, after the trace's report name: `<name>.whatif.<suffix>`. */
const outSuffixes: Readonly<Record<CompareFormat, string>> = { text: 'whatif.txt', markdown: 'whatif.md', json: 'whatif.json', html: 'whatif.html' };

function renderAs(format: CompareFormat, result: CompareResult, timeline: Timeline | undefined, colour = false): string {
  return format === 'html' ? renderHtml(buildReport(result.file, result.replay), timeline, result) : renderCompare(result, format, colour);
}

function diffPair(value: string): string[] {
  const names = listOf(policyName)(value);
  if (names.length !== 2 || names[0] === names[1]) throw new InvalidArgumentError(`--diff takes two different policies, A,B (got "${value}").`);
  return names;
}

export function registerCompare(program: Command, ctx: CommandContext): void {
  addWhatIfOptions(
    addModelOptions(
      program
        .command('compare')
        .description('What would have happened under each pinning policy: replay the trace\'s workload (VMs, vCPU loads, device attaches) through every policy on the traced host, or on hosts a sweep describes, and set their numbers and would-have findings side by side')
        .argument('<trace>', 'trace file (ftrace text, trace-cmd report, CSV or MessagePack; plain or gzip), or - for stdin'),
    ),
  )
    .addOption(new Option('--policy <names>', `policies to run, comma-separated: ${policyNames.join(', ')}`).argParser(listOf(policyName)).default([...policyNames], 'all'))
    .option('--sweep-vmid-bits <list>', 'run every policy with each of these VMID widths instead of the traced one, e.g. 8,12,16', listOf(integerIn(2, 16, '--sweep-vmid-bits')))
    .option('--sweep-cpus <list>', 'run every policy with each of these num_possible_cpus() instead of the traced one, e.g. 4,64,256', listOf(integerIn(1, 4096, '--sweep-cpus')))
    .option('--sweep-btm <list>', "run every policy with BTM on, off or both (on,off) instead of the policy's own choice", listOf(onOff))
    .option('--diff <A,B>', 'also compare two policies call by call: where they give a vCPU different VMIDs, where one takes the slow path and the other does not', diffPair)
    .addOption(new Option('--format <format>', "output format; html is analyze's page of the trace (timeline, findings) with the what-if tables below").choices(Object.keys(outSuffixes)).default('text'))
    .option('--out <dir>', `also write every format into this directory: <name>.${Object.values(outSuffixes).join(', <name>.')}, <name> as analyze --out names it`)
    .option('--quiet', 'no progress line on stderr (it is only drawn when stderr is a terminal)')
    .addHelpText(
      'after',
      `${whatIfHelp}

--vmid-bits, --cpus and --btm describe the traced host, as for analyze; the --sweep-* lists
describe hypothetical ones, and each list multiplies the hosts. A host that cannot exist (no
VMID left for pins, fewer VMIDs than CPUs) is listed as skipped.

Exit status: 0 compared, 2 the workload is unsure (events were lost, or more than 1 % of the
lines could not be read), 3 no events to replay, and the error codes of analyze. Findings of a
policy are what would have happened: they do not change the exit status.

Examples:
  $ vmid-replay compare traces/capture-a57-8bit-trace-pipe.trace.gz --map captures-6.1 --vmid-bits 8
  $ vmid-replay compare capture.txt.gz --assign ratio=0.3 --sweep-vmid-bits 8,16 --format markdown
  $ vmid-replay compare capture.txt.gz --assign all --diff rfc-v2,pin-or-fail
  $ vmid-replay compare capture.txt.gz --map captures-6.1 --vmid-bits 8 --format html > what-if.html`,
    )
    .action(async (trace: string, flags: CompareFlags) => {
      const { io } = ctx;
      const options = await replayOptionsFrom(flags, io);
      // Checked before the trace is read, as analyze --out does: a long run must not end in an output it cannot write.
      const stem = flags.out === undefined ? undefined : join(flags.out, reportNames([trace])[0] as string);
      if (flags.out !== undefined && stem !== undefined) {
        await refuseToOverwriteInputs(io, Object.values(outSuffixes).map((suffix) => `${stem}.${suffix}`), [trace]);
        await makeOutputDir(io, flags.out);
      }
      const progress = io.stderrIsTty && flags.quiet !== true ? new ProgressLine(io, trace, await io.fileSize(trace)) : undefined;
      // The HTML page draws the trace's own replay: its timeline is collected from that replay's steps.
      const visual = flags.format === 'html' || stem !== undefined ? new VisualPasses(trace, { timeline: true }, typeof (await mergeableSource(trace, options)) !== 'string') : undefined;
      let result;
      try {
        result = await compareTrace(
          trace,
          io.stdin,
          options,
          {
            // The two --diff compares run whether or not --policy lists them.
            policies: [...new Set([...flags.policy, ...(flags.diff ?? [])])],
            assign: assignSpecFrom(flags),
            seed: flags.seed,
            vmidBits: flags.sweepVmidBits ?? [],
            cpus: flags.sweepCpus ?? [],
            btm: flags.sweepBtm ?? [],
            scale: flags.scale,
            ...(flags.diff === undefined ? {} : { diff: flags.diff as [string, string] }),
          },
          (bytes, records) => progress?.update(bytes, records),
          undefined,
          visual?.observers,
        );
      } finally {
        progress?.done();
      }
      requireEvents(trace, result.replay, options);
      const timeline = visual?.timeline();
      io.writeOut(renderAs(flags.format, result, timeline, io.stdoutColour));
      if (stem !== undefined) for (const format of Object.keys(outSuffixes) as CompareFormat[]) await writeOutputFile(io, `${stem}.${outSuffixes[format]}`, renderAs(format, result, timeline));
      ctx.setExitCode(replayIsSure(result.replay) ? ExitCode.ok : ExitCode.inconclusive);
    });
}
