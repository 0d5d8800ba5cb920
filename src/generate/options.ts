/**
 * What `vmid-replay generate` can be asked for, its defaults, the parsers for the option
 * strings, and the checks that a combination makes sense. Pure: the CLI turns problems into
 * usage errors.
 */
import type { PinVariant } from '../events/traceEvents.js';
import { allocatorConfigProblem } from '../model/config.js';
import { divergenceKindsFor, faultCatalog, faultKinds, isFaultKind, type FaultKind } from './faults.js';

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** `kvm`: a vSMMU whose stage 2 carries the VM's pinned KVM VMID; `own`: VMIDs from its own IDA only. */
export type SmmuRole = 'kvm' | 'own';

export interface SmmuSpec {
  readonly name: string;
  readonly vmidBits: number;
  readonly btm: boolean;
  readonly role: SmmuRole;
}

export type FlagsColumn = '5' | '4' | 'none';

/** How each line looks; the events are the same whatever the shape. */
export interface LineShape {
  /** irq-info column: 5 characters (current kernels), 4 (before migrate-disable), or absent. */
  readonly flags: FlagsColumn;
  /** `options/record-tgid`: a `(TGID)` column after TASK-PID. */
  readonly tgid: boolean;
  /** `%-5d` (older kernels) or `%-7d` PID (and TGID) columns. */
  readonly pidWidth: 5 | 7;
  /** `/sys/kernel/tracing/trace` text, or `trace-cmd report` output. */
  readonly style: 'ftrace' | 'trace-cmd';
}

/**
 * Which probes the trace records. `documented`: the events of docs/trace-format.md.
 * `capture-6.1`: the kprobes of the real 6.1 captures in ../shared/captures (their
 * `kprobe_defs.txt`, read with traces/captures-6.1.map.json), in-function offsets of that
 * Debian build included, with the tracepoints they enabled beside them.
 */
export type ProbeSet = 'documented' | 'capture-6.1';

export const probeSets: readonly ProbeSet[] = ['documented', 'capture-6.1'];

export interface InjectRequest {
  readonly kind: FaultKind;
  readonly count: number;
}

/**
 * Per-CPU trace clocks that disagree, as the `local` clock's can: each CPU's lines are stamped
 * with its own offset from the true time, and the file is written in stamped order (ftrace
 * merges the CPUs' buffers by timestamp).
 */
export interface ClockSkew {
  /** A constant offset per CPU (µs); CPUs not named have none. */
  readonly offsetsUs: ReadonlyMap<number, number>;
  /** Each CPU's offset also wanders by a random walk within this many µs of its constant one. */
  readonly driftUs: number;
}

export interface GenerateOptions {
  readonly seed: number;
  readonly vmidBits: number;
  readonly cpus: number;
  readonly variant: PinVariant;
  /** VM lifetimes in the trace (ignored with `sizeBytes`: VMs come until the size is reached). */
  readonly vms: number;
  /** VMs alive at once, at most. */
  readonly concurrent: number;
  readonly vcpus: IntRange;
  /** vCPU loads a VM gets before it is torn down. */
  readonly lifetime: IntRange;
  /** Chance that a scheduling step preempts the vCPU running on the chosen CPU. */
  readonly churn: number;
  /** Fraction of VMs that get assigned devices. */
  readonly deviceVms: number;
  readonly devices: IntRange;
  /** SMMU domains of the host's own (DMA) kept alive at once. */
  readonly hostDomains: number;
  readonly smmus: readonly SmmuSpec[];
  readonly inject: readonly InjectRequest[];
  /** When set, each workload step injects one of the `inject` kinds with this chance (counts are ignored). */
  readonly injectRate: number | undefined;
  readonly lostBursts: number;
  readonly shape: LineShape;
  /** Target output size in bytes; undefined: as many VMs as `vms` says. */
  readonly sizeBytes: number | undefined;
  /** kvm_entry/kvm_exit pairs each time a running vCPU is looked at. */
  readonly noise: number;
  /** Per-CPU clocks that disagree; undefined: one clock for all CPUs. */
  readonly clockSkew: ClockSkew | undefined;
  readonly probes: ProbeSet;
}

export function defaultSmmus(variant: PinVariant, vmidBits: number): SmmuSpec[] {
  const own: SmmuSpec = { name: 'smmu1', vmidBits: 16, btm: false, role: 'own' };
  if (variant === 'mainline') return [{ ...own, name: 'smmu0' }];
  return [{ name: 'smmu0', vmidBits, btm: true, role: 'kvm' }, own];
}

export const defaultShape: LineShape = { flags: '5', tgid: false, pidWidth: 7, style: 'ftrace' };

export function defaultOptions(variant: PinVariant = 'rfc-v2', vmidBits = 8): GenerateOptions {
  return {
    seed: 1,
    vmidBits,
    cpus: 4,
    variant,
    vms: 24,
    concurrent: 6,
    vcpus: { min: 1, max: 4 },
    lifetime: { min: 10, max: 60 },
    churn: 0.3,
    deviceVms: 0.4,
    devices: { min: 1, max: 2 },
    hostDomains: 2,
    smmus: defaultSmmus(variant, vmidBits),
    inject: [],
    injectRate: undefined,
    lostBursts: 0,
    shape: defaultShape,
    sizeBytes: undefined,
    noise: 1,
    clockSkew: undefined,
    probes: 'documented',
  };
}

/**
 * What `--probes capture-6.1` changes when the option is not given: the captures' kernel has no
 * VMID pinning and they record no SMMU; their workload ran thousands of short-lived one- and
 * two-vCPU VMs (captures/README.md), about six KVM_RUN calls each (11 065 vcpu_load lines for
 * 1 803 VMs in a57-8bit-nvhe-full).
 */
export const captureDefaults = {
  variant: 'mainline',
  smmus: [],
  vcpus: { min: 1, max: 2 },
  lifetime: { min: 1, max: 11 },
  concurrent: 8,
  /** About 1.4 guest entries per load there (15 740 updates): a vCPU looked at is put 70 % of the time. */
  churn: 0.7,
} as const satisfies Partial<GenerateOptions>;

// ---- parsers (throw RangeError with what was expected) ------------------------------

const units: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `1G`, `256M`, `64K`, `1.5G`, `4096` (binary units; a trailing `B` or `iB` is allowed). */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (match === null) throw new RangeError(`a size such as 1G, 256M or 65536 (got "${text}")`);
  const bytes = Math.round(Number(match[1]) * (units[(match[2] ?? '').toUpperCase()] ?? 1));
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError(`a positive size (got "${text}")`);
  return bytes;
}

/** `3` or `1-4`. */
export function parseRange(text: string, min: number, max: number): IntRange {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const low = match === null ? NaN : Number(match[1]);
  const high = match === null ? NaN : match[2] === undefined ? low : Number(match[2]);
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < min || high > max || low > high) {
    throw new RangeError(`N or MIN-MAX with ${min} <= MIN <= MAX <= ${max} (got "${text}")`);
  }
  return { min: low, max: high };
}

export function parseProbability(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`a probability from 0 to 1 (got "${text}")`);
  return value;
}

/** `NAME[:BITS[:on|off[:kvm|own]]]`, e.g. `smmu0:8:on:kvm`; BITS defaults to KVM's width. */
export function parseSmmuSpec(text: string, kvmVmidBits: number): SmmuSpec {
  const [name = '', bits, btm, role, ...rest] = text.split(':');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || rest.length > 0) {
    throw new RangeError(`NAME[:BITS[:on|off[:kvm|own]]] with a name of letters, digits and _ (got "${text}")`);
  }
  const vmidBits = bits === undefined || bits === '' ? kvmVmidBits : Number(bits);
  if (!Number.isInteger(vmidBits) || vmidBits < 2 || vmidBits > 16) throw new RangeError(`an SMMU VMID width from 2 to 16 (got "${bits}" in "${text}")`);
  if (btm !== undefined && btm !== 'on' && btm !== 'off') throw new RangeError(`BTM "on" or "off" (got "${btm}" in "${text}")`);
  if (role !== undefined && role !== 'kvm' && role !== 'own') throw new RangeError(`role "kvm" or "own" (got "${role}" in "${text}")`);
  return { name, vmidBits, btm: btm === 'on', role: role ?? 'own' };
}

/** The largest clock offset accepted (µs): a second, far beyond any skew a replay allows. */
export const maxClockOffsetUs = 1_000_000;

/** `1=3000,2=-1500`: CPU=USECS pairs, each CPU at most once. */
export function parseClockOffsets(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const part of text.split(',').map((item) => item.trim()).filter((item) => item.length > 0)) {
    const match = /^(\d+)=(-?\d+)$/.exec(part);
    const cpu = match === null ? NaN : Number(match[1]);
    const offset = match === null ? NaN : Number(match[2]);
    if (!Number.isSafeInteger(cpu) || !Number.isSafeInteger(offset) || Math.abs(offset) > maxClockOffsetUs) {
      throw new RangeError(`CPU=USECS pairs such as 1=3000,2=-1500, offsets within ±${maxClockOffsetUs} (got "${part}")`);
    }
    if (out.has(cpu)) throw new RangeError(`each CPU once (CPU ${cpu} is given twice)`);
    out.set(cpu, offset);
  }
  if (out.size === 0) throw new RangeError(`CPU=USECS pairs such as 1=3000,2=-1500 (got "${text}")`);
  return out;
}

/** The largest difference between two CPUs' stamps for one instant (µs). */
export function clockSpreadUs(skew: ClockSkew, cpus: number): number {
  let least = 0;
  let most = 0;
  for (let cpu = 0; cpu < cpus; cpu++) {
    const offset = skew.offsetsUs.get(cpu) ?? 0;
    least = Math.min(least, offset - skew.driftUs);
    most = Math.max(most, offset + skew.driftUs);
  }
  return most - least;
}

/** `missing-s12-vmall,leak-pin=3` or `all`: each kind once unless a count is given. */
export function parseInjectList(text: string): InjectRequest[] {
  const out: InjectRequest[] = [];
  for (const part of text.split(',').map((item) => item.trim()).filter((item) => item.length > 0)) {
    const [name = '', countText] = part.split('=');
    const count = countText === undefined ? 1 : Number(countText);
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`a positive count after "${name}=" (got "${countText}")`);
    if (name === 'all') {
      for (const kind of faultKinds) out.push({ kind, count });
      continue;
    }
    if (!isFaultKind(name)) throw new RangeError(`a fault kind (${faultKinds.join(', ')}, or all), got "${name}"`);
    out.push({ kind: name, count });
  }
  return out;
}

// ---- consistency ------------------------------------------------------------------

/** Faults that need a rollover force one with throw-away VMs, about 5 lines per VMID index. */
export const maxBitsForForcedRollover = 12;
/** `pin-exhausted` fills the pinned pool with throw-away VMs, 5 lines each. */
export const maxPinnedForExhaustion = 4096;

/** How many injections of `kind` can produce a finding in one trace (undefined: no limit). */
export function faultCapacity(kind: FaultKind, options: GenerateOptions): number | undefined {
  if (kind === 'width-mismatch') return options.smmus.filter((smmu) => smmu.vmidBits !== options.vmidBits).length;
  if (kind === 'wrong-recorded-id') return divergenceKindsFor(options.variant).length;
  return undefined;
}

/** Why `kind` cannot be injected under these options, or undefined. */
export function faultProblem(kind: FaultKind, options: GenerateOptions): string | undefined {
  const info = faultCatalog[kind];
  const sameWidth = options.smmus.some((smmu) => smmu.vmidBits === options.vmidBits);
  if (info.needsPinning && options.variant === 'mainline') return `${kind} needs the RFC pinning calls: use --variant rfc-v2 or rfc-v3`;
  if (info.forcesRollover && options.vmidBits > maxBitsForForcedRollover) {
    return `${kind} forces a KVM rollover with one throw-away VM per VMID index: use --vmid-bits ${maxBitsForForcedRollover} or less`;
  }
  switch (kind) {
    case 'missing-s12-vmall':
    case 'ste-vmid-zero':
    case 'ste-switch-no-inval':
      return options.smmus.length === 0 ? `${kind} needs an SMMU (--smmu)` : undefined;
    case 'pin-exhausted': {
      const maxPinned = 2 ** options.vmidBits - options.cpus - 2;
      if (maxPinned > maxPinnedForExhaustion) return `pin-exhausted fills all ${maxPinned} pinnable VMIDs: use --vmid-bits 12 or less`;
      return options.variant === 'rfc-v2' && !sameWidth ? 'pin-exhausted under rfc-v2 programs S2VMID 0 on an SMMU with the KVM VMID width: add one (--smmu NAME:BITS)' : undefined;
    }
    case 'unpinned-share':
    case 'early-unpin':
      return sameWidth ? undefined : `${kind} shares a KVM VMID with an SMMU of the same VMID width: add one (--smmu NAME:${options.vmidBits})`;
    case 'stale-unpin-two-vmids':
      return options.cpus < 2 ? 'stale-unpin-two-vmids runs one VM on two CPUs: use --cpus 2 or more' : undefined;
    case 'width-mismatch':
      return faultCapacity(kind, options) === 0 ? `width-mismatch needs an SMMU whose VMID width is not ${options.vmidBits} (--smmu NAME:BITS)` : undefined;
    case 'leak-pin':
    case 'wrong-recorded-id':
      return undefined;
  }
}

/** Every reason the options cannot make a trace; empty when they can. */
export function optionProblems(options: GenerateOptions): string[] {
  const problems: string[] = [];
  const allocator = allocatorConfigProblem({ vmidBits: options.vmidBits, cpus: options.cpus, variant: options.variant });
  if (allocator !== undefined) problems.push(allocator);
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffff_ffff) problems.push(`--seed must be an integer from 0 to ${0xffff_ffff}`);
  if (options.concurrent < 1) problems.push('--concurrent must be at least 1');
  const names = new Set<string>();
  for (const smmu of options.smmus) {
    if (names.has(smmu.name)) problems.push(`SMMU ${smmu.name} is given twice`);
    names.add(smmu.name);
    if (smmu.role === 'kvm' && options.variant === 'mainline') problems.push(`SMMU ${smmu.name} shares KVM VMIDs, which needs pinning: use --variant rfc-v2 or rfc-v3, or role "own"`);
    if (smmu.role === 'kvm' && smmu.vmidBits !== options.vmidBits) {
      problems.push(`SMMU ${smmu.name} shares KVM VMIDs with ${smmu.vmidBits}-bit VMIDs but KVM has ${options.vmidBits}: give it ${options.vmidBits} bits (--inject width-mismatch makes that hazard on an "own" SMMU)`);
    }
  }
  for (const request of options.inject) {
    const problem = faultProblem(request.kind, options);
    if (problem !== undefined) problems.push(problem);
  }
  if (options.injectRate === undefined) {
    for (const kind of faultKinds) {
      const capacity = faultCapacity(kind, options);
      const wanted = options.inject.filter((request) => request.kind === kind).reduce((sum, request) => sum + request.count, 0);
      if (capacity !== undefined && wanted > capacity && faultProblem(kind, options) === undefined) {
        problems.push(`${kind} can be reported at most ${capacity} time(s) in one trace with these options, ${wanted} asked`);
      }
    }
  } else if (options.inject.length === 0) {
    problems.push('--inject-rate needs --inject to say which faults');
  }
  if (options.sizeBytes !== undefined && options.sizeBytes < 16 * 1024) problems.push('--size must be at least 16K');
  if (options.probes === 'capture-6.1') problems.push(...captureProblems(options));
  const skew = options.clockSkew;
  if (skew !== undefined) {
    for (const cpu of skew.offsetsUs.keys()) if (cpu >= options.cpus) problems.push(`--clock-skew names CPU ${cpu}, but the host has CPUs 0 to ${options.cpus - 1}`);
    if (!Number.isSafeInteger(skew.driftUs) || skew.driftUs < 0 || skew.driftUs > maxClockOffsetUs) problems.push(`--clock-drift must be 0 to ${maxClockOffsetUs} µs`);
    // ftrace prints a lost-events marker with its CPU's next event; under skewed clocks that
    // line is not where the loss began, and the sidecar could not say which findings it covers.
    if (options.lostBursts > 0) problems.push('--lost-bursts cannot be combined with --clock-skew or --clock-drift');
  }
  return [...new Set(problems)];
}

/**
 * What `--probes capture-6.1` cannot be combined with: the captures' 6.1 kernel has no pinning
 * and no SMMU probes, they are tracefs text, and the fault episodes, loss markers and skewed
 * clocks are written with the documented events only.
 */
function captureProblems(options: GenerateOptions): string[] {
  const problems: string[] = [];
  if (options.variant !== 'mainline') problems.push('--probes capture-6.1 records a 6.1 kernel, which has no VMID pinning: use --variant mainline (its default)');
  if (options.smmus.length > 0) problems.push('--probes capture-6.1 records no SMMU: use --smmu none (its default)');
  if (options.inject.length > 0) problems.push('--inject needs the documented probes (--probes documented)');
  if (options.lostBursts > 0) problems.push('--lost-bursts needs the documented probes (--probes documented)');
  if (options.clockSkew !== undefined) problems.push('--clock-skew and --clock-drift need the documented probes (--probes documented)');
  if (options.shape.style !== 'ftrace') problems.push('--probes capture-6.1 writes tracefs text: use --style ftrace');
  return problems;
}

function rangeText(range: IntRange): string {
  return range.min === range.max ? String(range.min) : `${range.min}-${range.max}`;
}

/** The command that makes exactly this trace again (output paths left out). */
export function commandLineOf(options: GenerateOptions): string {
  const parts = [
    'vmid-replay generate',
    `--seed ${options.seed}`,
    `--vmid-bits ${options.vmidBits}`,
    `--cpus ${options.cpus}`,
    `--variant ${options.variant}`,
    options.sizeBytes === undefined ? `--vms ${options.vms}` : `--size ${options.sizeBytes}`,
    `--concurrent ${options.concurrent}`,
    `--vcpus ${rangeText(options.vcpus)}`,
    `--lifetime ${rangeText(options.lifetime)}`,
    `--churn ${options.churn}`,
    `--device-vms ${options.deviceVms}`,
    `--devices ${rangeText(options.devices)}`,
    `--host-domains ${options.hostDomains}`,
    ...(options.smmus.length === 0 ? ['--smmu none'] : options.smmus.map((smmu) => `--smmu ${smmu.name}:${smmu.vmidBits}:${smmu.btm ? 'on' : 'off'}:${smmu.role}`)),
    ...(options.inject.length === 0 ? [] : [`--inject ${options.inject.map((request) => `${request.kind}=${request.count}`).join(',')}`]),
    ...(options.injectRate === undefined ? [] : [`--inject-rate ${options.injectRate}`]),
    ...(options.lostBursts === 0 ? [] : [`--lost-bursts ${options.lostBursts}`]),
    `--noise ${options.noise}`,
    ...(options.clockSkew === undefined
      ? []
      : [`--clock-skew ${[...options.clockSkew.offsetsUs].map(([cpu, offset]) => `${cpu}=${offset}`).join(',')}`, ...(options.clockSkew.driftUs === 0 ? [] : [`--clock-drift ${options.clockSkew.driftUs}`])]),
    `--flags ${options.shape.flags}`,
    ...(options.shape.tgid ? ['--tgid'] : []),
    `--pid-width ${options.shape.pidWidth}`,
    `--style ${options.shape.style}`,
    // Only when not the default, so the commands of the bundled traces stay as they were.
    ...(options.probes === 'documented' ? [] : [`--probes ${options.probes}`]),
  ];
  return parts.join(' ');
}
