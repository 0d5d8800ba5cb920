/**
 * One policy on one hypothetical host: the policy's driver decides which allocator and SMMU
 * calls the workload makes, and the replay's own back end (models and checks, the same code as
 * `analyze`) answers them. What the driver decides alone (an attach refused, a VM not created)
 * it reports as findings of its own; everything else is found by the ordinary checks. Every
 * finding of a run is a counterfactual: what would have happened, not what the trace shows.
 */
import type { EventBase, KernelPointer } from '../events/common.js';
import type { PinGetEvent, VmidUpdateEvent } from '../events/kvmEvents.js';
import type { SmmuCommand } from '../events/smmuCommand.js';
import type { SteConfig } from '../events/smmuEvents.js';
import type { PinVariant } from '../events/traceEvents.js';
import { allChecks } from '../checks/index.js';
import { counted } from '../plural.js';
import { defineCheck, type Check, type FindingDraft } from '../checks/types.js';
import { refOf, type EventRef } from '../model/eventRef.js';
import type { PinOutcome, UnpinOutcome, UpdateOutcome, VmidAllocator } from '../model/vmidAllocator.js';
import { ModelsAndChecks } from '../replay/modelsAndChecks.js';
import type { SequencedItem } from '../replay/sequence/callSequencer.js';
import type { Finding } from '../steps/finding.js';
import type { ReplayStep, StepObserver } from '../steps/step.js';
import type { PlannedOp } from './assign.js';
import type { Device } from './workload.js';

/** A hypothetical host: KVM's VMID width, `num_possible_cpus()`, and BTM when a sweep sets it. */
export interface HostConfig {
  readonly vmidBits: number;
  readonly cpus: number;
  /** BTM on the SMMUs; undefined: what the policy assumes. */
  readonly btm?: boolean;
}

/** What a policy assumes of the host beyond KVM. */
export interface PolicyHost {
  /** KVM's allocator: mainline, or with the RFC pinning (`rfc-v3` returns -EINVAL when exhausted). */
  readonly variant: PinVariant;
  /** The SMMU's VMIDs: KVM's (shared, so KVM's width) or its own IDA's (16 bits). */
  readonly vmids: 'kvm' | 'own';
  /** Whether the SMMU obeys broadcast TLBIs unless a sweep says otherwise. */
  readonly btm: boolean;
}

/** How the driver asks the models, and what it may read back. */
export interface PolicyCalls {
  readonly allocator: VmidAllocator;
  /** The SMMU's VMID width on this host. */
  readonly smmuVmidBits: number;
  create(vm: KernelPointer, at: EventBase): void;
  destroy(vm: KernelPointer, at: EventBase): void;
  load(vm: KernelPointer, cpu: number, at: EventBase): UpdateOutcome | undefined;
  put(cpu: number, at: EventBase): void;
  pin(vm: KernelPointer, at: EventBase): PinOutcome | undefined;
  unpin(vm: KernelPointer, at: EventBase): UnpinOutcome | undefined;
  ste(device: Device, config: SteConfig, s2vmid: number, vm: KernelPointer | undefined, at: EventBase): void;
  commands(smmu: string, commands: readonly SmmuCommand[], at: EventBase): void;
  /** A VMID from the SMMU's own IDA (`ida_alloc_range(1, ...)`: the lowest free), or undefined when none is left. */
  smmuVmidAlloc(smmu: string, at: EventBase): number | undefined;
  smmuVmidFree(smmu: string, vmid: number, at: EventBase): void;
  /** How findings name a VM (`VM 0xffff... (#2 at this address)`). */
  label(vm: KernelPointer): string;
  /** `kvm_vmid->id` of a live VM (0 before its first run). */
  kvmId(vm: KernelPointer): number;
  /** A pin the pool could not grant: counted, and the first one's line kept. */
  pinFailed(at: EventBase): void;
  /** A finding the policy's driver makes itself (see `policyFacts`). */
  report(at: EventBase, draft: FindingDraft<PolicyFactId>): void;
  readonly metrics: PolicyMetrics;
}

export interface PolicyDriver {
  op(op: PlannedOp): void;
}

export interface Policy {
  readonly name: string;
  /** One line: what it models. */
  readonly summary: string;
  readonly host: PolicyHost;
  /** Checks whose finding this policy's driver reports in its own words, left out of its run. */
  readonly replacesChecks?: readonly string[];
  driver(calls: PolicyCalls): PolicyDriver;
}

/** The side-by-side numbers of one run (docs/what-if.md). */
export interface PolicyMetrics {
  attachesRequested: number;
  pinsFailed: number;
  firstPinFailedAt: EventRef | undefined;
  attachesRefused: number;
  vmCreationsRefused: number;
  devicesOfRefusedVms: number;
  devicesOnVmidZero: number;
  peakPinned: number;
  peakPinnedAt: EventRef | undefined;
  /** Pinned VMIDs times µs, for the time-weighted mean. */
  pinnedUs: number;
  vmidChangesUnderBoundSte: number;
  invalidationsNeeded: number;
  invalidationsMissed: number;
}

function newMetrics(): PolicyMetrics {
  return {
    attachesRequested: 0,
    pinsFailed: 0,
    firstPinFailedAt: undefined,
    attachesRefused: 0,
    vmCreationsRefused: 0,
    devicesOfRefusedVms: 0,
    devicesOnVmidZero: 0,
    peakPinned: 0,
    peakPinnedAt: undefined,
    pinnedUs: 0,
    vmidChangesUnderBoundSte: 0,
    invalidationsNeeded: 0,
    invalidationsMissed: 0,
  };
}

export type PolicyFactId = 'vmCreateRefused' | 'smmuVmidsExhausted' | 'sharedVmidChanged';

/** What a policy's driver finds itself, with the ordinary findings' shape. */
const policyFactMeta = {
  id: 'what-if-policy',
  description: "what a what-if policy's driver itself would have done: refused a VM or an SMMU domain, or needed an invalidation nothing would issue",
  severity: 'error',
  messages: {
    vmCreateRefused: '{vm} would not have been created: {why}; its {devices} would not have been attached',
    smmuVmidsExhausted: 'SMMU {smmu} would have had no VMID left for {vm}: its {bits}-bit IDA holds {held}',
    sharedVmidChanged: '{vm} would run with VMID {kvmVmid} while {device} still carries {steVmid}: the STE must be rewritten and CMD_TLBI_S12_VMALL vmid={steVmid} issued',
  },
} as const;

export interface RunResult {
  readonly policy: string;
  readonly host: HostConfig & { readonly btm: boolean };
  /** BTM as a sweep set it (undefined: the policy's own choice). */
  readonly sweptBtm: boolean | undefined;
  readonly maxPinnedVmids: number | null;
  readonly metrics: PolicyMetrics;
  readonly meanPinned: number;
  readonly loads: number;
  readonly slowLoads: number;
  readonly rollovers: number;
  /** `vmid_generation` (as a count of generations) and `nr_pinned_vmids` when the workload ends. */
  readonly generation: number;
  readonly nrPinnedAtEnd: number | null;
  /** Counterfactual: what would have happened under this policy on this host. */
  readonly findings: readonly Finding[];
  /** From here on the workload is unsure (events were lost in the trace). */
  readonly inconclusiveFrom: EventRef | undefined;
}

export interface RunOptions {
  /** Run the checks (off for the headroom's many runs, which need the numbers only). */
  readonly checks?: boolean;
  readonly stepObservers?: readonly StepObserver[];
}

export class PolicyRun {
  readonly metrics = newMetrics();
  private readonly back: ModelsAndChecks;
  private readonly driver: PolicyDriver;
  private readonly btm: boolean;
  /** The latest step's outcome, read back by the driver's calls. */
  private lastStep: ReplayStep | undefined;
  private reportFact: ((at: EventBase, draft: FindingDraft<PolicyFactId>) => void) | undefined;
  private readonly idas = new Map<string, Set<number>>();
  private lastUs: number | undefined;
  /** The first vCPU load or put on a CPU number this host does not have. */
  private missingCpu: { readonly cpu: number; readonly at: EventBase } | undefined;

  constructor(
    readonly policy: Policy,
    readonly host: HostConfig,
    options: RunOptions = {},
  ) {
    this.btm = host.btm ?? policy.host.btm;
    const facts: Check = defineCheck({
      meta: policyFactMeta,
      create: (ctx) => {
        this.reportFact = (at, draft) => ctx.report(at, draft);
        return {};
      },
    });
    const checks = options.checks === false ? [facts] : [facts, ...allChecks.filter((check) => !(policy.replacesChecks ?? []).includes(check.meta.id))];
    this.back = new ModelsAndChecks({
      vmidBits: host.vmidBits,
      cpus: host.cpus,
      variant: policy.host.variant,
      btm: this.btm,
      smmuVmidBits: policy.host.vmids === 'kvm' ? host.vmidBits : 16,
      checks,
      stepObservers: [(step) => (this.lastStep = step), ...(options.stepObservers ?? [])],
    });
    this.driver = policy.driver(this.calls());
  }

  op(op: PlannedOp): void {
    if (this.missingCpu !== undefined) return;
    if ((op.op === 'load' || op.op === 'put') && op.cpu >= this.host.cpus) {
      // The allocator has no slot for that CPU and would drop the call: every number after it
      // would describe part of the workload. The host is skipped instead (see `unfit`).
      this.missingCpu = { cpu: op.cpu, at: op.at };
      return;
    }
    this.account(op.at);
    if (op.op === 'loss') {
      this.back.collector.markDataLoss(op.at);
      return;
    }
    this.driver.op(op);
  }

  /** Why this host cannot run the workload as traced (a vCPU on a CPU it does not have), or undefined when it can. */
  get unfit(): string | undefined {
    if (this.missingCpu === undefined) return undefined;
    const { cpu, at } = this.missingCpu;
    return `the workload runs a vCPU on CPU ${cpu} (line ${at.span.line}); a host of ${counted(this.host.cpus, 'CPU')} has no such CPU`;
  }

  finish(): RunResult {
    this.back.finishModels();
    const { findings, dataLossAt, state } = this.back.finishFindings();
    const allocator = state?.allocator;
    const stats = this.back.stats;
    return {
      policy: this.policy.name,
      host: { ...this.host, btm: this.btm },
      sweptBtm: this.host.btm,
      maxPinnedVmids: allocator === undefined || this.policy.host.variant === 'mainline' ? null : allocator.maxPinnedVmids,
      metrics: this.metrics,
      meanPinned: this.meanPinned(),
      loads: stats.loads,
      slowLoads: stats.slowLoads,
      rollovers: stats.rollovers,
      generation: allocator === undefined ? 1 : allocator.generationOf(allocator.generation),
      nrPinnedAtEnd: allocator === undefined || this.policy.host.variant === 'mainline' ? null : allocator.nrPinnedVmids,
      findings,
      inconclusiveFrom: dataLossAt,
    };
  }

  private firstUs: number | undefined;

  /** The time-weighted pinned count, and the peak. */
  private account(at: EventBase): void {
    const allocator = this.back.models.allocator;
    const pinned = allocator?.nrPinnedVmids ?? 0;
    if (this.lastUs !== undefined && at.tsUs > this.lastUs) this.metrics.pinnedUs += pinned * (at.tsUs - this.lastUs);
    this.firstUs ??= at.tsUs;
    if (this.lastUs === undefined || at.tsUs > this.lastUs) this.lastUs = at.tsUs;
  }

  private notePinned(at: EventBase): void {
    const pinned = this.back.models.allocator?.nrPinnedVmids ?? 0;
    if (pinned > this.metrics.peakPinned) {
      this.metrics.peakPinned = pinned;
      this.metrics.peakPinnedAt = refOf(at);
    }
  }

  private meanPinned(): number {
    const span = (this.lastUs ?? 0) - (this.firstUs ?? 0);
    return span > 0 ? this.metrics.pinnedUs / span : (this.back.models.allocator?.nrPinnedVmids ?? 0);
  }

  private apply(item: SequencedItem): ReplayStep | undefined {
    this.lastStep = undefined;
    this.back.apply(item);
    return this.lastStep;
  }

  private event(at: EventBase, cpu: number): EventBase {
    return { span: at.span, source: at.source, cpu, tsUs: at.tsUs, tsNs: at.tsNs };
  }

  private calls(): PolicyCalls {
    const back = this.back;
    const call = (decision: VmidUpdateEvent | PinGetEvent): SequencedItem => ({ type: 'call', entry: undefined, decision, inside: [], missingReturn: false, orphanReturn: false });
    return {
      get allocator(): VmidAllocator {
        const allocator = back.models.allocator;
        if (allocator === undefined) throw new Error('internal: the policy asked for the allocator before any call');
        return allocator;
      },
      metrics: this.metrics,
      smmuVmidBits: this.policy.host.vmids === 'kvm' ? this.host.vmidBits : 16,
      create: (vm, at) => void this.apply({ type: 'event', event: { ...this.event(at, at.cpu), kind: 'vm-create', vm } }),
      destroy: (vm, at) => void this.apply({ type: 'event', event: { ...this.event(at, at.cpu), kind: 'vm-destroy', vm } }),
      load: (vm, cpu, at) => {
        const step = this.apply(call({ ...this.event(at, cpu), kind: 'vmid-update', phase: 'return', vm }));
        return step?.kind === 'load' ? step.outcome : undefined;
      },
      put: (cpu, at) => void this.apply({ type: 'event', event: { ...this.event(at, cpu), kind: 'vmid-clear-active' } }),
      pin: (vm, at) => {
        const step = this.apply(call({ ...this.event(at, at.cpu), kind: 'pin-get', phase: 'return', vm }));
        this.notePinned(at);
        return step?.kind === 'pin' ? step.outcome : undefined;
      },
      unpin: (vm, at) => {
        const step = this.apply({ type: 'event', event: { ...this.event(at, at.cpu), kind: 'pin-put', vm } });
        return step?.kind === 'unpin' ? step.outcome : undefined;
      },
      ste: (device, config, s2vmid, vm, at) =>
        void this.apply({ type: 'event', event: { ...this.event(at, at.cpu), kind: 'smmu-ste', smmu: device.smmu, sid: device.sid, config, s2vmid, ...(vm === undefined ? {} : { vm }) } }),
      commands: (smmu, commands, at) => void this.apply({ type: 'event', event: { ...this.event(at, at.cpu), kind: 'smmu-cmd', smmu, commands, truncated: false } }),
      smmuVmidAlloc: (smmu, at) => {
        const held = this.idas.get(smmu) ?? new Set<number>();
        this.idas.set(smmu, held);
        const limit = 2 ** (this.policy.host.vmids === 'kvm' ? this.host.vmidBits : 16);
        let vmid = 1;
        while (vmid < limit && held.has(vmid)) vmid++;
        if (vmid >= limit) return undefined;
        held.add(vmid);
        this.apply({ type: 'event', event: { ...this.event(at, at.cpu), kind: 'smmu-vmid-alloc', smmu, vmid } });
        return vmid;
      },
      smmuVmidFree: (smmu, vmid, at) => {
        this.idas.get(smmu)?.delete(vmid);
        this.apply({ type: 'event', event: { ...this.event(at, at.cpu), kind: 'smmu-vmid-free', smmu, vmid } });
      },
      label: (vm) => this.back.models.state()?.vmsByPointer.get(vm)?.label ?? `VM ${vm}`,
      kvmId: (vm) => this.back.models.state()?.vmsByPointer.get(vm)?.kvmVmid.id ?? 0,
      pinFailed: (at) => {
        this.metrics.pinsFailed += 1;
        this.metrics.firstPinFailedAt ??= refOf(at);
      },
      report: (at, draft) => this.reportFact?.(at, draft),
    };
  }
}

/** The KVM VMID index of `id` on `allocator`, or undefined before the VM's first run. */
export function vmidIndex(allocator: VmidAllocator, id: number): number | undefined {
  return id === 0 ? undefined : allocator.indexOf(id);
}
