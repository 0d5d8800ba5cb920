import type { Command } from 'commander';
import { ExitCode, VmidReplayError } from '../../errors.js';
import { openTraceSource } from '../../ingest/readTrace.js';
import { replayBytes } from '../../replay/analyze.js';
import { requireEvents } from '../../replay/result/nothingToReplay.js';
import { replayIsSure } from '../../replay/result/unreadable.js';
import type { CommandContext } from '../context.js';
import { decisionLines } from '../decisionLines.js';
import { addModelOptions, replayOptionsFrom, type ModelFlags } from '../options.js';
import { compareTrace } from '../../whatif/compare.js';
import type { StepObserver } from '../../steps/step.js';
import { addWhatIfOptions, assignSpecFrom, policyName, type WhatIfFlags } from '../whatIfOptions.js';
import type { CliIo } from '../io.js';
import type { ReplayOptions } from '../../replay/replayTypes.js';

interface ReplayFlags extends ModelFlags, WhatIfFlags {
  policy?: string;
}

interface ReplaySummary {
  readonly summary: Record<string, number>;
  /** No events were lost and the lines could be read. */
  readonly sure: boolean;
}

/** The trace's own allocator calls: what the traced kernel's allocator decided, as the model replays it. */
async function replayTrace(trace: string, io: CliIo, options: ReplayOptions, observer: StepObserver): Promise<ReplaySummary> {
  const result = await replayBytes(openTraceSource(trace, io.stdin), trace, { ...options, stepObservers: [observer] });
  requireEvents(trace, result, options);
  const allocator = result.state?.allocator;
  const summary: Record<string, number> = {
    flushes: result.stats.rollovers,
    generation: allocator === undefined ? 1 : allocator.generationOf(allocator.generation),
  };
  if (allocator !== undefined && allocator.config.variant !== 'mainline') summary['nr_pinned'] = allocator.nrPinnedVmids;
  return { summary, sure: replayIsSure(result) };
}

/** What a policy's allocator would have decided on the trace's workload, on the traced host. */
async function replayPolicy(trace: string, io: CliIo, options: ReplayOptions, flags: ReplayFlags & { policy: string }, observer: StepObserver): Promise<ReplaySummary> {
  const result = await compareTrace(trace, io.stdin, options, {
    policies: [flags.policy],
    assign: assignSpecFrom(flags),
    seed: flags.seed,
    vmidBits: [],
    cpus: [],
    btm: [],
    scale: flags.scale,
    checks: false,
    stepObservers: [observer],
  });
  requireEvents(trace, result.replay, options);
  const [run] = result.runs;
  const [skipped] = result.skipped;
  if (run === undefined && skipped !== undefined) throw new VmidReplayError('CONFIG_INVALID', `--policy ${flags.policy} cannot run on the traced host: ${skipped.why}`, { file: trace });
  const summary: Record<string, number> = { flushes: run?.rollovers ?? 0, generation: run?.generation ?? 1 };
  if (run?.nrPinnedAtEnd !== undefined && run.nrPinnedAtEnd !== null) summary['nr_pinned'] = run.nrPinnedAtEnd;
  return { summary, sure: replayIsSure(result.replay) };
}

/** Decisions are written in batches: one write per line would dominate on large traces. */
const linesPerWrite = 4096;

export function registerReplay(program: Command, ctx: CommandContext): void {
  addWhatIfOptions(
    addModelOptions(
      program
        .command('replay')
        .description("Print the model's decision for every allocator event as JSON Lines (fields as in ../shared/oracle/README.md), then a summary line")
        .argument('<trace>', 'trace file (ftrace text, trace-cmd report, CSV or MessagePack; plain or gzip), or - for stdin'),
    ),
  )
    .option('--policy <name>', "instead of the trace's own calls, the calls a what-if policy would have made on its workload (compare --help), with --assign and --scale", policyName)
    .addHelpText(
      'after',
      `
Each line is one allocator call, e.g.
  {"line":12,"op":"load","vm":"0xffff000012340000","cpu":1,"vmid":3,"gen":2,"flushes":1,"slow":true,"vm_id_after":"19"}
ops: create, destroy, load, put, pin, unpin. The last line is {"summary":{"flushes":N,"generation":G[,"nr_pinned":P]}}.
With --policy, "line" is the trace line each call is charged to (docs/what-if.md): a VM's
copies under --scale are named POINTER~K.

Exit status: 0 replayed, 2 inconclusive (events were lost, or more than 1 % of the lines could
not be read), 3 no events to replay (the message says what the trace held instead), and the
error codes of analyze (64, 65, 66, 70, 141).

Examples:
  $ vmid-replay replay traces/churn-8bit-rollovers.trace.gz | grep '"flushes":1'
  $ vmid-replay replay traces/capture-a57-8bit-trace-pipe.trace.gz --map captures-6.1 --vmid-bits 8 --policy rfc-v2 --assign all`,
    )
    .action(async (trace: string, flags: ReplayFlags) => {
      const { io } = ctx;
      const lines: string[] = [];
      const flush = () => {
        if (lines.length > 0) io.writeOut(lines.join(''));
        lines.length = 0;
      };
      const observer = decisionLines((line) => {
        lines.push(line);
        if (lines.length >= linesPerWrite) flush();
      });
      const options = await replayOptionsFrom(flags, io);
      const { summary, sure } = flags.policy === undefined ? await replayTrace(trace, io, options, observer) : await replayPolicy(trace, io, options, { ...flags, policy: flags.policy }, observer);
      flush();
      io.writeOut(`${JSON.stringify({ summary })}\n`);
      ctx.setExitCode(sure ? ExitCode.ok : ExitCode.inconclusive);
    });
}
