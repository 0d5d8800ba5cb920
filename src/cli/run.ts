/**
 * The command line (commander). The only layer that knows about exit codes, files and the
 * console; `run()` takes its I/O as a parameter so tests drive it in-process.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { basename, join } from 'node:path';
import { ExitCode, VmidReplayError } from '../errors.js';
import { analyzeTrace, replayBytes } from '../replay/analyze.js';
import { openTraceSource } from '../ingest/readTrace.js';
import type { PinVariant } from '../events/traceEvents.js';
import type { Report } from '../report/report.js';
import { renderJson } from '../report/json.js';
import { renderText } from '../report/text.js';
import type { CliIo } from './io.js';

const verdictExit: Record<Report['verdict'], ExitCode> = { ok: ExitCode.ok, findings: ExitCode.findings, inconclusive: ExitCode.inconclusive };

function integerIn(min: number, max: number, what: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}.`);
    return parsed;
  };
}

/** `--btm on`, `--btm off`, or per SMMU: `--btm smmu0=on,smmu1=off`. */
function parseBtm(value: string): boolean | Map<string, boolean> {
  if (value === 'on' || value === 'off') return value === 'on';
  const map = new Map<string, boolean>();
  for (const part of value.split(',')) {
    const [name, state] = part.split('=');
    if (name === undefined || name.length === 0 || (state !== 'on' && state !== 'off')) {
      throw new InvalidArgumentError('expected "on", "off" or a list such as "smmu0=on,smmu1=off".');
    }
    map.set(name, state === 'on');
  }
  return map;
}

const variantOption = () =>
  new Option('--variant <variant>', 'allocator source to model: mainline vmid.c, or with the RFC v2/v3 pinned-VMID patch (default: the trace header, else mainline)').choices([
    'mainline',
    'rfc-v2',
    'rfc-v3',
  ]);

interface ModelFlags {
  variant?: PinVariant;
  vmidBits?: number;
  cpus?: number;
  btm?: boolean | Map<string, boolean>;
  strict?: boolean;
}

function addModelOptions(command: Command): Command {
  return command
    .addOption(variantOption())
    .option('--vmid-bits <bits>', 'VMID width (kvm_arm_vmid_bits): 8 or 16 on hardware, 2..16 accepted', integerIn(2, 16, '--vmid-bits'))
    .option('--cpus <n>', 'num_possible_cpus() of the traced host', integerIn(1, 4096, '--cpus'))
    .option('--btm <state>', 'whether SMMUs obey broadcast TLBIs: on, off, or per SMMU "smmu0=on,smmu1=off" (default: header, else off)', parseBtm)
    .option('--strict', 'stop at the first malformed line with an error naming file and line, instead of counting it');
}

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = new Command();
  program
    .name('vmid-replay')
    .description('Replay KVM/arm64 VMID allocation and SMMUv3 traces against a model of arch/arm64/kvm/vmid.c and report pinning failures and missing TLB invalidations.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.writeOut(text), writeErr: (text) => io.writeErr(text) })
    .showHelpAfterError();

  addModelOptions(
    program
      .command('analyze')
      .description('Replay traces and report findings; exit 0 ok, 1 findings, 2 inconclusive (lost events)')
      .argument('<trace...>', 'ftrace text files (plain or gzip), or - for stdin')
      .addOption(new Option('--format <format>', 'report format on stdout and in --out').choices(['text', 'json']).default('text'))
      .option('--out <dir>', 'also write <trace>.txt and <trace>.json reports into this directory')
      .option('--exit-zero', 'exit 0 whatever the verdict once the run completed (errors still fail); the verdict stays in the report'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ vmid-replay analyze traces/mixed-hazards.trace --variant rfc-v2
  $ vmid-replay analyze capture.txt.gz --vmid-bits 8 --cpus 4 --btm on --format json
  $ trace-cmd show | vmid-replay analyze - --vmid-bits 16 --cpus 64 --strict`,
    )
    .action(async (traces: string[], flags: ModelFlags & { format: 'text' | 'json'; out?: string; exitZero?: boolean }) => {
      let worst: number = ExitCode.ok;
      for (const trace of traces) {
        const report = await analyzeTrace(trace, io.stdin, flags);
        io.writeOut(flags.format === 'json' ? renderJson(report) : renderText(report));
        if (flags.out !== undefined) {
          await io.makeDir(flags.out);
          const stem = trace === '-' ? 'stdin' : basename(trace).replace(/\.gz$/, '');
          await io.writeFile(join(flags.out, `${stem}.txt`), renderText(report));
          await io.writeFile(join(flags.out, `${stem}.json`), renderJson(report));
        }
        worst = Math.max(worst, verdictExit[report.verdict]);
      }
      exitCode = flags.exitZero === true ? ExitCode.ok : worst;
    });

  addModelOptions(
    program
      .command('replay')
      .description("Print the model's decision for every allocator event as JSON Lines (fields as in ../shared/oracle/README.md), then a summary line")
      .argument('<trace>', 'ftrace text file (plain or gzip), or - for stdin'),
  )
    .addHelpText(
      'after',
      `
Each line is one allocator call, e.g.
  {"line":12,"op":"load","vm":"0xffff000012340000","cpu":1,"vmid":3,"gen":2,"flushes":1,"slow":true,"vm_id_after":"19"}
ops: create, destroy, load, put, pin, unpin. The last line is {"summary":{"flushes":N,"generation":G[,"nr_pinned":P]}}.

Example:
  $ vmid-replay replay traces/churn-8bit-rollovers.trace | grep '"flushes":1'`,
    )
    .action(async (trace: string, flags: ModelFlags) => {
      const lines: string[] = [];
      const flush = () => {
        if (lines.length > 0) io.writeOut(lines.join(''));
        lines.length = 0;
      };
      const result = await replayBytes(openTraceSource(trace, io.stdin), trace, {
        ...flags,
        onDecision: (decision) => {
          lines.push(`${JSON.stringify(decision)}\n`);
          if (lines.length >= 4096) flush();
        },
      });
      flush();
      const allocator = result.state?.allocator;
      const summary: Record<string, number> = {
        flushes: result.stats.rollovers,
        generation: allocator === undefined ? 1 : allocator.generationOf(allocator.generation),
      };
      if (allocator !== undefined && allocator.config.variant !== 'mainline') summary['nr_pinned'] = allocator.nrPinnedVmids;
      io.writeOut(`${JSON.stringify({ summary })}\n`);
      exitCode = result.dataLossAt === undefined ? ExitCode.ok : ExitCode.inconclusive;
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; anything else is a usage error.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof VmidReplayError) {
      io.writeErr(`vmid-replay: ${error.message} [${error.code}]\n`);
      return error.exitCode;
    }
    io.writeErr(`vmid-replay: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return ExitCode.internal;
  }
  return exitCode;
}
