/**
 * The command line (commander). The only layer that knows about exit codes, files and the
 * console; `run()` takes its I/O as a parameter so tests drive it in-process. Each command
 * lives in `commands/` and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { describeError, ExitCode } from '../errors.js';
import { errorLine } from './errorLine.js';
import type { CliIo } from './io.js';
import type { CommandContext } from './context.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerReplay } from './commands/replay.js';
import { registerCaptureScript } from './commands/captureScript.js';
import { registerGenerate } from './commands/generate.js';
import { registerConvert } from './commands/convert.js';
import { registerCompare } from './commands/compare.js';
import { registerHeadroom } from './commands/headroom.js';
import { packageVersion } from './version.js';

const commands: readonly ((program: Command, ctx: CommandContext) => void)[] = [registerAnalyze, registerReplay, registerGenerate, registerCompare, registerHeadroom, registerCaptureScript, registerConvert];

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = new Command();
  program
    .name('vmid-replay')
    .description('Replay KVM/arm64 VMID allocation and SMMUv3 traces against a model of arch/arm64/kvm/vmid.c and report pinning failures and missing TLB invalidations.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.writeOut(text), writeErr: (text) => io.writeErr(text) })
    .showHelpAfterError();
  const ctx: CommandContext = {
    io,
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  for (const register of commands) register(program, ctx);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; anything else is a usage error.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const described = describeError(error);
    io.writeErr(errorLine(described));
    return described.exitCode;
  }
  return exitCode;
}
