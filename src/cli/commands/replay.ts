import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { openTraceSource } from '../../ingest/readTrace.js';
import { replayBytes } from '../../replay/analyze.js';
import { requireEvents } from '../../replay/result/nothingToReplay.js';
import type { CommandContext } from '../context.js';
import { decisionLines } from '../decisionLines.js';
import { addModelOptions, replayOptionsFrom, type ModelFlags } from '../options.js';

/** Decisions are written in batches: one write per line would dominate on large traces. */
const linesPerWrite = 4096;

export function registerReplay(program: Command, ctx: CommandContext): void {
  addModelOptions(
    program
      .command('replay')
      .description("Print the model's decision for every allocator event as JSON Lines (fields as in ../shared/oracle/README.md), then a summary line")
      .argument('<trace>', 'trace file (ftrace text, trace-cmd report, CSV or MessagePack; plain or gzip), or - for stdin'),
  )
    .addHelpText(
      'after',
      `
Each line is one allocator call, e.g.
  {"line":12,"op":"load","vm":"0xffff000012340000","cpu":1,"vmid":3,"gen":2,"flushes":1,"slow":true,"vm_id_after":"19"}
ops: create, destroy, load, put, pin, unpin. The last line is {"summary":{"flushes":N,"generation":G[,"nr_pinned":P]}}.

Exit status: 0 replayed, 2 inconclusive (events were lost, or more than 1 % of the lines could
not be read), 3 no events to replay (the message says what the trace held instead), and the
error codes of analyze (64, 65, 66, 70, 141).

Example:
  $ vmid-replay replay traces/churn-8bit-rollovers.trace.gz | grep '"flushes":1'`,
    )
    .action(async (trace: string, flags: ModelFlags) => {
      const { io } = ctx;
      const lines: string[] = [];
      const flush = () => {
        if (lines.length > 0) io.writeOut(lines.join(''));
        lines.length = 0;
      };
      const options = await replayOptionsFrom(flags, io);
      const result = await replayBytes(openTraceSource(trace, io.stdin), trace, {
        ...options,
        stepObservers: [
          decisionLines((line) => {
            lines.push(line);
            if (lines.length >= linesPerWrite) flush();
          }),
        ],
      });
      flush();
      requireEvents(trace, result, options);
      const allocator = result.state?.allocator;
      const summary: Record<string, number> = {
        flushes: result.stats.rollovers,
        generation: allocator === undefined ? 1 : allocator.generationOf(allocator.generation),
      };
      if (allocator !== undefined && allocator.config.variant !== 'mainline') summary['nr_pinned'] = allocator.nrPinnedVmids;
      io.writeOut(`${JSON.stringify({ summary })}\n`);
      ctx.setExitCode(result.dataLossAt === undefined && result.unreadableFrom === undefined ? ExitCode.ok : ExitCode.inconclusive);
    });
}
