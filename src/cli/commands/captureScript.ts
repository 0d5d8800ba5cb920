import { InvalidArgumentError, type Command } from 'commander';
import { unsupportedKernel } from '../../capture/probeSets.js';
import { formatVersion, parseKernelVersion, type KernelVersion } from '../../capture/kernelVersion.js';
import type { CommandContext } from '../context.js';
import { integerIn } from '../options.js';
import { writeOutputFile } from '../output.js';

interface CaptureScriptFlags {
  kernel?: KernelVersion;
  duration: number;
  traceCmd?: boolean;
  output?: string;
}

function kernelOption(value: string): KernelVersion {
  const version = parseKernelVersion(value);
  if (version === undefined) throw new InvalidArgumentError('expected a kernel version such as 6.12 or 6.12.18 (as uname -r starts).');
  const problem = unsupportedKernel(version);
  if (problem !== undefined) throw new InvalidArgumentError(`${problem}.`);
  return version;
}

/** The command line as given, for the script's comments. */
function describe(flags: CaptureScriptFlags): string {
  const parts = ['vmid-replay capture-script'];
  if (flags.kernel !== undefined) parts.push('--kernel', formatVersion(flags.kernel));
  parts.push('--duration', String(flags.duration));
  if (flags.traceCmd === true) parts.push('--trace-cmd');
  return parts.join(' ');
}

export function registerCaptureScript(program: Command, ctx: CommandContext): void {
  program
    .command('capture-script')
    .description('Print a POSIX shell script that captures a trace for analyze on an arm64 KVM host (run it there as root); see docs/capture.md')
    .option('--kernel <version>', 'carry only the probes for this kernel version (default: all, chosen by uname -r when the script runs)', kernelOption)
    .option('--duration <seconds>', 'how long the script records; 0 records until Ctrl-C', integerIn(0, 7 * 24 * 3600, '--duration'), 60)
    .option('--trace-cmd', 'record with trace-cmd record (a trace.dat) instead of reading trace_pipe into a text trace')
    .option('-o, --output <file>', 'write the script to FILE instead of stdout (exit 73 naming it if it cannot be written)')
    .addHelpText(
      'after',
      `
The script checks kallsyms and tracefs for each function it probes, says which checks will be
unavailable, refuses to run when kvm_arm_vmid_update cannot be probed, writes the system facts
as a "# vmid-replay:" header, records, and undoes every tracefs change on exit, error or Ctrl-C.
Settings are environment variables (OUT, DURATION, BUFFER_KB, VARIANT, DRY_RUN=1, ...): see the
script's first lines.

Examples:
  $ vmid-replay capture-script -o vmid-capture.sh
  $ scp vmid-capture.sh host: && ssh root@host 'OUT=capture.txt sh vmid-capture.sh'
  $ vmid-replay analyze capture.txt
  $ vmid-replay capture-script --kernel 6.12.18 --duration 0 | ssh root@host 'DRY_RUN=1 sh -s'`,
    )
    .action(async (flags: CaptureScriptFlags) => {
      // Loaded when this command runs: every other command starts faster without it.
      const { generateCaptureScript } = await import('../../capture/captureScript.js');
      const script = generateCaptureScript({
        kernel: flags.kernel,
        durationSeconds: flags.duration,
        traceCmd: flags.traceCmd === true,
        generatedBy: describe(flags),
      });
      if (flags.output === undefined) ctx.io.writeOut(script);
      else await writeOutputFile(ctx.io, flags.output, script);
    });
}
