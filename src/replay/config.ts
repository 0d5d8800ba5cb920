import { VmidReplayError } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import { configOrigins, type PinVariant, type SystemConfigEvent } from '../events/traceEvents.js';
import type { SmmuConfigEvent } from '../events/smmuEvents.js';
import { allocatorConfigProblem, type AllocatorConfig } from '../model/config.js';
import type { SmmuSettings } from '../model/smmu.js';

/** What the user said on the command line; each field wins over the trace. */
export interface ConfigOverrides {
  readonly vmidBits?: number;
  readonly cpus?: number;
  readonly variant?: PinVariant;
  /** BTM for every SMMU, or per SMMU name. */
  readonly btm?: boolean | ReadonlyMap<string, boolean>;
  /** VMID width for every SMMU, or per SMMU name. */
  readonly smmuVmidBits?: number | ReadonlyMap<string, number>;
}

export interface ResolvedValue<T> {
  readonly value: T;
  readonly origin: string;
}

/** Collects system facts from the trace and the command line, and reports conflicts. */
export class ConfigResolver {
  private vmidBits: ResolvedValue<number> | undefined;
  private cpus: ResolvedValue<number> | undefined;
  private variant: ResolvedValue<PinVariant> | undefined;
  private traceClock: ResolvedValue<string> | undefined;
  private readonly smmus = new Map<string, { vmidBits?: ResolvedValue<number>; btm?: ResolvedValue<boolean> }>();
  /** SMMUs the trace's events used (those of its header facts are the keys of `smmus`). */
  private readonly smmusInEvents = new Set<string>();

  constructor(
    private readonly overrides: ConfigOverrides,
    private readonly diagnostics: Diagnostics,
  ) {
    if (overrides.vmidBits !== undefined) this.vmidBits = { value: overrides.vmidBits, origin: '--vmid-bits' };
    if (overrides.cpus !== undefined) this.cpus = { value: overrides.cpus, origin: '--cpus' };
    if (overrides.variant !== undefined) this.variant = { value: overrides.variant, origin: '--variant' };
  }

  private merge<T>(current: ResolvedValue<T> | undefined, value: T | undefined, origin: string, what: string, event: { span: { file: string; line: number } }): ResolvedValue<T> | undefined {
    if (value === undefined) return current;
    if (current === undefined) return { value, origin };
    if (current.value !== value) {
      // The ftrace `#P:` count is a fallback: a vmid-replay header says what it means.
      if (current.origin === configOrigins.cpuCountHeader) return { value, origin };
      if (origin === configOrigins.cpuCountHeader) return current;
      this.diagnostics.add('config-conflict', { file: event.span.file, line: event.span.line, detail: `${what}: ${current.origin} says ${String(current.value)}, ${origin} says ${String(value)}; using ${String(current.value)}` });
    }
    return current;
  }

  addSystem(event: SystemConfigEvent): void {
    this.vmidBits = this.merge(this.vmidBits, event.vmidBits, event.origin, 'VMID bits', event);
    this.cpus = this.merge(this.cpus, event.cpus, event.origin, 'CPUs', event);
    this.variant = this.merge(this.variant, event.variant, event.origin, 'variant', event);
    this.traceClock = this.merge(this.traceClock, event.traceClock, event.origin, 'trace clock', event);
  }

  /** The trace clock the trace says it was recorded with, if it says. */
  knownTraceClock(): string | undefined {
    return this.traceClock?.value;
  }

  addSmmu(event: SmmuConfigEvent): void {
    const entry = this.smmus.get(event.smmu) ?? {};
    const vmidBits = this.merge(entry.vmidBits, event.vmidBits, 'the trace', `SMMU ${event.smmu} VMID bits`, event);
    const btm = this.merge(entry.btm, event.btm, 'the trace', `SMMU ${event.smmu} BTM`, event);
    this.smmus.set(event.smmu, { ...(vmidBits === undefined ? {} : { vmidBits }), ...(btm === undefined ? {} : { btm }) });
  }

  /** The allocator configuration, or an error naming the line that needed it. */
  allocatorConfig(at: { file: string; line: number }): AllocatorConfig {
    if (this.vmidBits === undefined) {
      throw new VmidReplayError('CONFIG_MISSING', 'the VMID width is unknown: pass --vmid-bits or add "# vmid-replay: vmid_bits=N cpus=N" to the trace header', at);
    }
    if (this.cpus === undefined) {
      throw new VmidReplayError('CONFIG_MISSING', 'the CPU count (num_possible_cpus) is unknown: pass --cpus or add "# vmid-replay: cpus=N" to the trace header', at);
    }
    const config: AllocatorConfig = { vmidBits: this.vmidBits.value, cpus: this.cpus.value, variant: this.variant?.value ?? 'mainline' };
    const problem = allocatorConfigProblem(config);
    if (problem !== undefined) throw new VmidReplayError('CONFIG_INVALID', problem, at);
    return config;
  }

  /** The VMID width as known so far, before the allocator exists (for decoding `id=`). */
  knownVmidBits(): number | undefined {
    return this.vmidBits?.value;
  }

  /** Settings of one SMMU: BTM off (mainline sets CR2.PTM) and KVM's width unless told. */
  smmuSettings(name: string, kvmVmidBits: number, at: { file: string; line: number }): SmmuSettings {
    this.smmusInEvents.add(name);
    const entry = this.smmus.get(name);
    const btm = this.smmuSetting(name, this.overrides.btm, entry?.btm?.value, '--btm', 'BTM', (on) => (on ? 'on' : 'off'), at);
    const vmidBits = this.smmuSetting(name, this.overrides.smmuVmidBits, entry?.vmidBits?.value, '--smmu-vmid-bits', 'VMID bits', String, at);
    return { vmidBits: vmidBits ?? kvmVmidBits, btm: btm ?? false };
  }

  /** One SMMU setting: the flag (for all SMMUs or this one) wins over the trace; a disagreement is a diagnostic. */
  private smmuSetting<T extends boolean | number>(
    name: string,
    override: T | ReadonlyMap<string, T> | undefined,
    fromTrace: T | undefined,
    flag: string,
    what: string,
    show: (value: T) => string,
    at: { file: string; line: number },
  ): T | undefined {
    const fromFlag = typeof override === 'object' ? override.get(name) : override;
    if (fromFlag !== undefined && fromTrace !== undefined && fromFlag !== fromTrace) {
      this.diagnostics.add('config-conflict', {
        file: at.file,
        line: at.line,
        detail: `SMMU ${name} ${what}: ${flag} says ${show(fromFlag)}, the trace says ${show(fromTrace)}; using ${show(fromFlag)}`,
      });
    }
    return fromFlag ?? fromTrace;
  }

  /**
   * At the end of the trace: an SMMU named by --btm or --smmu-vmid-bits that no header fact or
   * event showed is a warning. A misspelt name (`smmu1` for a trace's `0xffff000004a1c080`)
   * would otherwise leave the real SMMU at its default, unnoticed; the verdict stays as it is.
   */
  warnOfUnseenSmmus(end: { file: string; line: number }): void {
    const seen = [...new Set([...this.smmus.keys(), ...this.smmusInEvents])].sort();
    const named: [string, ReadonlyMap<string, unknown> | boolean | number | undefined][] = [
      ['--btm', this.overrides.btm],
      ['--smmu-vmid-bits', this.overrides.smmuVmidBits],
    ];
    for (const [flag, override] of named) {
      if (typeof override !== 'object') continue;
      for (const name of override.keys()) {
        if (seen.includes(name)) continue;
        this.diagnostics.add('smmu-not-in-trace', { file: end.file, line: end.line, detail: `${flag} names SMMU ${name}, which the trace never shows (its SMMUs: ${seen.join(', ') || 'none'})` });
      }
    }
  }

  origins(): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.vmidBits !== undefined) out['vmidBits'] = this.vmidBits.origin;
    if (this.cpus !== undefined) out['cpus'] = this.cpus.origin;
    out['variant'] = this.variant?.origin ?? 'default';
    return out;
  }
}
