/**
 * `vmid-replay capture-script`: the text of a POSIX shell script that captures a trace for
 * the tool on an arm64 KVM host. Pure: options in, script out; the CLI writes it.
 *
 * Kernel versions: by default the script carries every probe set and picks one at run time
 * from `uname -r` (`UNAME_R` overrides it, e.g. for a distribution kernel with backports);
 * with `kernel` it carries only that version's set and warns when the host runs a kernel
 * outside the set's range.
 */
import { formatVersion, type KernelVersion } from './kernelVersion.js';
import { probeSets, unsupportedKernel } from './probeSets.js';
import { renderHead } from './scriptHead.js';
import { checkFunctions } from './scriptChecks.js';
import { renderProbePart } from './scriptProbes.js';
import { runFunctions } from './scriptRun.js';

export interface CaptureScriptOptions {
  /** Carry only the probe set for this kernel; otherwise choose by `uname -r` at run time. */
  readonly kernel?: KernelVersion;
  /** Recording time in seconds; 0 records until Ctrl-C. */
  readonly durationSeconds: number;
  /** Record with `trace-cmd record` instead of reading `trace_pipe`. */
  readonly traceCmd: boolean;
  /** The command line, quoted into the script's comments. */
  readonly generatedBy: string;
}

export function generateCaptureScript(options: CaptureScriptOptions): string {
  if (options.kernel !== undefined) {
    const problem = unsupportedKernel(options.kernel);
    if (problem !== undefined) throw new Error(problem);
  }
  const describedSets =
    options.kernel === undefined
      ? `${probeSets.map((set) => set.label).join('; ')} (chosen by uname -r at run time)`
      : `the one for kernel ${formatVersion(options.kernel)} only`;
  return [
    renderHead({
      generatedBy: options.generatedBy,
      probeSets: describedSets,
      durationSeconds: options.durationSeconds,
      recorder: options.traceCmd ? 'trace-cmd' : 'trace_pipe',
    }),
    checkFunctions,
    renderProbePart(probeSets, options.kernel),
    runFunctions,
    'main "$@"\n',
  ].join('');
}
