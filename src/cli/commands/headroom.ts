import { InvalidArgumentError, Option, type Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { requireEvents } from '../../replay/result/nothingToReplay.js';
import { replayIsSure } from '../../replay/result/unreadable.js';
import { renderHeadroom, type WhatIfFormat } from '../../report/whatif/headroom.js';
import { compareTrace } from '../../whatif/compare.js';
import { headroomOf } from '../../whatif/headroom.js';
import { pinningPolicies } from '../../whatif/policies/index.js';
import type { CommandContext } from '../context.js';
import { addModelOptions, replayOptionsFrom, type ModelFlags } from '../options.js';
import { ProgressLine } from '../progress.js';
import { addWhatIfOptions, assignSpecFrom, listOf, whatIfHelp, type WhatIfFlags } from '../whatIfOptions.js';

interface HeadroomFlags extends ModelFlags, WhatIfFlags {
  policy: string[];
  format: WhatIfFormat;
  quiet?: boolean;
}

function pinningPolicy(text: string): string {
  if (!pinningPolicies.includes(text)) throw new InvalidArgumentError(`"${text}" does not pin: one of ${pinningPolicies.join(', ')}.`);
  return text;
}

export function registerHeadroom(program: Command, ctx: CommandContext): void {
  addWhatIfOptions(
    addModelOptions(
      program
        .command('headroom')
        .description('How close each pinning policy comes to running out of pinnable VMIDs on this workload, and on which hosts it would: the most VMIDs it holds pinned at once, the margin to max_pinned_vmids, the narrowest VMID width and the most CPUs that hold it, and the first --scale that fails')
        .argument('<trace>', 'trace file (ftrace text, trace-cmd report, CSV or MessagePack; plain or gzip), or - for stdin'),
    ),
  )
    .addOption(new Option('--policy <names>', `pinning policies, comma-separated: ${pinningPolicies.join(', ')}`).argParser(listOf(pinningPolicy)).default([...pinningPolicies], 'all three'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--quiet', 'no progress line on stderr (it is only drawn when stderr is a terminal)')
    .addHelpText(
      'after',
      `${whatIfHelp}

A pin fails exactly when nr_pinned_vmids >= max_pinned_vmids, and max_pinned_vmids =
2^bits - num_possible_cpus() - 2 (kvm_arm_vmid_alloc_init() in the RFC). Until a pin fails,
how many VMIDs a policy holds pinned depends on the workload alone, so the peak it reaches
with 16-bit VMIDs is what it asks of every host: the widths, CPU counts and scales follow from
it (docs/what-if.md).

Exit status: 0 measured, 2 the workload is unsure (events were lost), 3 no events to replay,
and the error codes of analyze.

Examples:
  $ vmid-replay headroom traces/capture-max-16bit-vhe.trace.gz --map captures-6.1 --assign all
  $ vmid-replay headroom capture.txt.gz --vmid-bits 8 --cpus 8 --assign ratio=0.5,devices=2`,
    )
    .action(async (trace: string, flags: HeadroomFlags) => {
      const { io } = ctx;
      const options = await replayOptionsFrom(flags, io);
      const progress = io.stderrIsTty && flags.quiet !== true ? new ProgressLine(io, trace, await io.fileSize(trace)) : undefined;
      let result;
      try {
        result = await compareTrace(
          trace,
          io.stdin,
          options,
          { policies: flags.policy, assign: assignSpecFrom(flags), seed: flags.seed, vmidBits: [], cpus: [], btm: [], scale: flags.scale, roomyHosts: true, checks: false },
          (bytes, records) => progress?.update(bytes, records),
        );
      } finally {
        progress?.done();
      }
      requireEvents(trace, result.replay, options);
      io.writeOut(renderHeadroom(headroomOf(result, flags.policy), flags.format, io.stdoutColour));
      ctx.setExitCode(replayIsSure(result.replay) ? ExitCode.ok : ExitCode.inconclusive);
    });
}
