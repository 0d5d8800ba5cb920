import { InvalidArgumentError, Option, type Command } from 'commander';
import { VmidReplayError } from '../../errors.js';
import type { PinVariant } from '../../events/traceEvents.js';
import { faultCatalog, faultKinds } from '../../generate/faults.js';
import {
  captureDefaults,
  defaultOptions,
  defaultSmmus,
  optionProblems,
  parseClockOffsets,
  parseInjectList,
  parseProbability,
  parseRange,
  parseSize,
  parseSmmuSpec,
  type FlagsColumn,
  type GenerateOptions,
  type InjectRequest,
  type IntRange,
  type ProbeSet,
  probeSets,
} from '../../generate/options.js';
import type { CommandContext } from '../context.js';
import { integerIn } from '../options.js';
import { unwritableOutput } from '../output.js';

interface GenerateFlags {
  out: string;
  sidecar?: string | false;
  seed: number;
  vmidBits: number;
  cpus: number;
  variant: PinVariant;
  vms: number;
  concurrent: number;
  vcpus: IntRange;
  lifetime: IntRange;
  churn: number;
  deviceVms: number;
  devices: IntRange;
  hostDomains: number;
  smmu?: string[];
  inject?: InjectRequest[];
  injectRate?: number;
  lostBursts: number;
  noise: number;
  flags: FlagsColumn;
  tgid?: boolean;
  pidWidth: '5' | '7';
  style: 'ftrace' | 'trace-cmd';
  size?: number;
  quiet?: boolean;
  clockSkew?: Map<number, number>;
  clockDrift?: number;
  probes: ProbeSet;
}

/** Turns a parser's RangeError into commander's "option '--x' argument ... is invalid. ..." usage error. */
function argument<T>(parse: (text: string) => T) {
  return (text: string): T => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError(`expected ${(error as Error).message}.`);
    }
  };
}

const defaults = defaultOptions();

/** A `N` or `MIN-MAX` option whose default shows as `1-4`, not as an object. */
function rangeOption(flags: string, description: string, max: number, fallback: IntRange): Option {
  const text = fallback.min === fallback.max ? String(fallback.min) : `${fallback.min}-${fallback.max}`;
  return new Option(flags, description).argParser(argument((value) => parseRange(value, 1, max))).default(fallback, text);
}
const faultTable = faultKinds.map((kind) => `  ${kind.padEnd(22)} ${faultCatalog[kind].checks('rfc-v2').join(' + ')}${kind === 'pin-exhausted' ? ' (rfc-v3: pin-exhausted only)' : ''}`).join('\n');

/** `--probes capture-6.1` brings the captures' workload (`captureDefaults`) for every option not given. */
function withProbeDefaults(flags: GenerateFlags, given: (option: string) => boolean): GenerateFlags {
  if (flags.probes !== 'capture-6.1') return flags;
  return {
    ...flags,
    variant: given('variant') ? flags.variant : captureDefaults.variant,
    smmu: given('smmu') ? flags.smmu : ['none'],
    vcpus: given('vcpus') ? flags.vcpus : captureDefaults.vcpus,
    lifetime: given('lifetime') ? flags.lifetime : captureDefaults.lifetime,
    concurrent: given('concurrent') ? flags.concurrent : captureDefaults.concurrent,
    churn: given('churn') ? flags.churn : captureDefaults.churn,
  };
}

function optionsFrom(flags: GenerateFlags): GenerateOptions {
  let smmus;
  try {
    smmus =
      flags.smmu === undefined
        ? defaultSmmus(flags.variant, flags.vmidBits)
        : flags.smmu.length === 1 && flags.smmu[0] === 'none'
          ? []
          : flags.smmu.map((spec) => parseSmmuSpec(spec, flags.vmidBits));
  } catch (error) {
    throw new VmidReplayError('USAGE', `--smmu: expected ${(error as Error).message}`);
  }
  return {
    seed: flags.seed,
    vmidBits: flags.vmidBits,
    cpus: flags.cpus,
    variant: flags.variant,
    vms: flags.vms,
    concurrent: flags.concurrent,
    vcpus: flags.vcpus,
    lifetime: flags.lifetime,
    churn: flags.churn,
    deviceVms: flags.deviceVms,
    devices: flags.devices,
    hostDomains: flags.hostDomains,
    smmus,
    inject: flags.inject ?? [],
    injectRate: flags.injectRate,
    lostBursts: flags.lostBursts,
    shape: { flags: flags.flags, tgid: flags.tgid === true, pidWidth: flags.pidWidth === '5' ? 5 : 7, style: flags.style },
    sizeBytes: flags.size,
    noise: flags.noise,
    clockSkew: flags.clockSkew === undefined && flags.clockDrift === undefined ? undefined : { offsetsUs: flags.clockSkew ?? new Map(), driftUs: flags.clockDrift ?? 0 },
    probes: flags.probes,
  };
}

export function registerGenerate(program: Command, ctx: CommandContext): void {
  program
    .command('generate')
    .description('Write a synthetic trace: a seeded workload run on the allocator model, with correct SMMU behaviour or injected faults, and a sidecar JSON naming the line of every injected hazard')
    .option('-o, --out <file>', 'the trace, or - for stdout', '-')
    .option('--sidecar <file>', 'the hazards JSON (default: <out>.hazards.json when --out is a file, none for stdout)')
    .option('--no-sidecar', 'write no sidecar')
    .option('--seed <n>', 'PRNG seed: same seed and options, same bytes', integerIn(0, 0xffff_ffff, '--seed'), defaults.seed)
    .option('--vmid-bits <bits>', 'KVM VMID width (8 or 16 on hardware, 2..16 accepted)', integerIn(2, 16, '--vmid-bits'), defaults.vmidBits)
    .option('--cpus <n>', 'num_possible_cpus()', integerIn(1, 512, '--cpus'), defaults.cpus)
    .addOption(new Option('--variant <variant>', 'allocator: mainline, or with the RFC v2/v3 pinning').choices(['mainline', 'rfc-v2', 'rfc-v3']).default(defaults.variant))
    .option('--vms <n>', 'VM lifetimes in the trace (without --size)', integerIn(0, 1_000_000, '--vms'), defaults.vms)
    .option('--concurrent <n>', 'VMs alive at once, at most', integerIn(1, 4096, '--concurrent'), defaults.concurrent)
    .addOption(rangeOption('--vcpus <range>', 'vCPUs per VM, N or MIN-MAX', 15, defaults.vcpus))
    .addOption(rangeOption('--lifetime <range>', 'vCPU loads per VM before it is torn down', 1_000_000, defaults.lifetime))
    .option('--churn <p>', 'chance that a scheduling step preempts the running vCPU', argument(parseProbability), defaults.churn)
    .option('--device-vms <p>', 'fraction of VMs with assigned devices', argument(parseProbability), defaults.deviceVms)
    .addOption(rangeOption('--devices <range>', 'devices per device-assigned VM', 64, defaults.devices))
    .option('--host-domains <n>', "the host's own SMMU DMA domains alive at once", integerIn(0, 1024, '--host-domains'), defaults.hostDomains)
    .option('--smmu <spec>', 'an SMMU, NAME:BITS:on|off:kvm|own (BTM; kvm = shares pinned KVM VMIDs), repeatable; "none" for no SMMU (default: smmu0:<vmid-bits>:on:kvm and smmu1:16:off:own, mainline: smmu0:16:off:own)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--inject <faults>', 'faults to inject, KIND[=COUNT],... or all (see below)', argument(parseInjectList))
    .option('--inject-rate <p>', 'instead of counts: the chance, at each workload step, of injecting one of the --inject kinds', argument(parseProbability))
    .option('--lost-bursts <n>', 'CPU:N [LOST M EVENTS] bursts, spread over the run', integerIn(0, 10_000, '--lost-bursts'), 0)
    .option('--noise <n>', 'kvm_entry/kvm_exit pairs each time a running vCPU is looked at', integerIn(0, 100, '--noise'), defaults.noise)
    .addOption(new Option('--flags <width>', 'irq-info column: 5 characters, 4 (older kernels) or none').choices(['5', '4', 'none']).default('5'))
    .option('--tgid', 'a (TGID) column (options/record-tgid)')
    .addOption(new Option('--pid-width <n>', 'PID column width: 7, or 5 as older kernels print it').choices(['5', '7']).default('7'))
    .addOption(new Option('--style <style>', 'tracefs text (ftrace), or trace-cmd report output').choices(['ftrace', 'trace-cmd']).default('ftrace'))
    .addOption(
      new Option('--probes <set>', 'the probes recorded: the documented events, or those of the real 6.1 captures (read with --map captures-6.1; implies --variant mainline --smmu none and their workload, docs/generate.md)')
        .choices(probeSets)
        .default('documented'),
    )
    .option('--size <size>', 'target output size for benchmarks, e.g. 256M or 1G (VMs keep coming until it is reached)', argument(parseSize))
    .option('--clock-skew <offsets>', "per-CPU trace clocks that disagree, CPU=USECS,... (e.g. 1=3000,2=-1500): each CPU's lines stamped that much off the true time and the file written in stamped order, as the local clock can; 0=0 gives the same trace with one clock (docs/generate.md)", argument(parseClockOffsets))
    .option('--clock-drift <usecs>', "each CPU's offset also wanders by a random walk within this many µs", integerIn(0, 1_000_000, '--clock-drift'))
    .option('--quiet', 'no summary on stderr')
    .addHelpText(
      'after',
      `
Examples:
  $ vmid-replay generate --seed 7 -o clean.trace                        # correct behaviour: analyze says ok
  $ vmid-replay generate --seed 7 --inject leak-pin,early-unpin=2 -o bad.trace   # + bad.trace.hazards.json
  $ vmid-replay generate --variant mainline --smmu smmu0:16:off:own --flags 4 --tgid --pid-width 5 | vmid-replay analyze -
  $ vmid-replay generate --inject all --inject-rate 0.001 --size 256M -o bench.trace
  $ vmid-replay generate --seed 7 --clock-skew 1=3000,3=-2000 --clock-drift 500 -o skewed.trace

Fault kinds and the checks they must trigger (the sidecar gives the exact lines):
${faultTable}

Faults that force a rollover (unpinned-share, stale-unpin-two-vmids) need --vmid-bits 12 or less;
pin-exhausted fills the pinned pool and needs --vmid-bits 12 or less. docs/generate.md has the details.`,
    )
    .action(async (parsed: GenerateFlags, command: Command) => {
      const { io } = ctx;
      const flags = withProbeDefaults(parsed, (option) => {
        const source = command.getOptionValueSource(option);
        return source !== undefined && source !== 'default';
      });
      const options = optionsFrom(flags);
      const problems = optionProblems(options);
      if (problems.length > 0) throw new VmidReplayError('USAGE', problems.join('; '));
      const sidecarPath = flags.sidecar === false ? undefined : (flags.sidecar ?? (flags.out === '-' ? undefined : `${flags.out}.hazards.json`));
      // Loaded when this command runs: every other command starts faster without it.
      const { generateTrace } = await import('../../generate/generate.js');
      const trace = io.openWritable(flags.out);
      const sidecar = sidecarPath === undefined ? undefined : io.openWritable(sidecarPath);
      // A failure while nothing waits on that stream (the sidecar cannot be created while the
      // trace is written) must not kill the process as an unheard 'error': generateTrace meets
      // it through the stream's `errored` when it next writes there.
      for (const stream of [trace, sidecar]) stream?.on('error', () => {});
      let summary;
      try {
        summary = await generateTrace(options, { trace, sidecar, traceName: flags.out });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // `generate | head`: the reader had enough. Stop quietly, as a killed-by-SIGPIPE writer would.
        if (code === 'EPIPE') return;
        // A write error carries no path: the stream that failed says which output it was.
        const failed = sidecarPath !== undefined && sidecar !== undefined && sidecar.errored !== null && trace.errored === null ? sidecarPath : flags.out;
        if (typeof code === 'string') throw unwritableOutput(failed, error);
        throw error;
      }
      for (const skipped of summary.skipped) io.writeErr(`vmid-replay generate: ${skipped.fault} not injected: ${skipped.reason}\n`);
      if (flags.quiet !== true && flags.out !== '-') {
        const where = sidecarPath === undefined ? '' : `; hazards in ${sidecarPath}`;
        io.writeErr(`vmid-replay generate: ${flags.out}: ${summary.lines} lines, ${summary.bytes} bytes, ${summary.hazards} injected hazard(s), ${summary.expectedFindings} expected finding(s)${where}\n`);
      }
      ctx.setExitCode(0);
    });
}
