/**
 * Constructors for a finding's parties and scenario rows (the types live in
 * ../steps/findingParts.ts), so that every check names them the same way.
 */
import type { EventBase } from '../events/common.js';
import type { VmidOwner } from '../model/smmu.js';
import type { ReplayState, VmState } from '../steps/state.js';
import type { VmParty, SteParty, SmmuDomainParty, SmmuParty, CpuParty, KvmParty, Actor, ScenarioStep } from '../steps/findingParts.js';

export type { VmParty, SteParty, SmmuDomainParty, SmmuParty, CpuParty, KvmParty, Party, Actor, ScenarioStep, Remedy } from '../steps/findingParts.js';

export function vmParty(vm: Pick<VmState, 'label' | 'pointer'>, vmids: readonly number[], note?: string): VmParty {
  return { kind: 'vm', name: vm.label, vm: vm.pointer, vmids, ...(note === undefined ? {} : { note }) };
}

export function steParty(smmu: string, sid: number, vmids: readonly number[], note?: string): SteParty {
  return { kind: 'ste', name: `SMMU ${smmu} SID ${sid}`, smmu, sid, vmids, ...(note === undefined ? {} : { note }) };
}

/** The owner of an SMMU VMID's translations: a KVM VM sharing it, or the SMMU's own domain. */
export function ownerParty(owner: VmidOwner, smmu: string, vmids: readonly number[], note?: string): VmParty | SmmuDomainParty {
  const extra = note === undefined ? {} : { note };
  if (owner.kind === 'kvm-vm' && owner.pointer !== undefined) return { kind: 'vm', name: owner.label, vm: owner.pointer, vmids, ...extra };
  return { kind: 'smmu-domain', name: owner.label, smmu, vmids, ...extra };
}

export function smmuParty(smmu: string, note: string): SmmuParty {
  return { kind: 'smmu', name: `SMMU ${smmu}`, smmu, vmids: [], note };
}

export function cpuParty(cpu: number, vmids: readonly number[], note?: string): CpuParty {
  return { kind: 'cpu', name: `CPU ${cpu}`, cpu, vmids, ...(note === undefined ? {} : { note }) };
}

export function kvmParty(note: string): KvmParty {
  return { kind: 'kvm', name: 'KVM', vmids: [], note };
}

export const onCpu = (cpu: number): Actor => ({ kind: 'cpu', cpu });
export const onSmmu = (smmu: string): Actor => ({ kind: 'smmu', smmu });

/** A row for a trace line, on the CPU that line ran on. */
export function cpuStep(event: EventBase, action: string): ScenarioStep {
  return { kind: 'event', actor: onCpu(event.cpu), action, line: event.span.line };
}

/** A row for a trace line that changed what an SMMU holds (an STE write, a VMID freed). */
export function smmuStep(smmu: string, event: EventBase, action: string): ScenarioStep {
  return { kind: 'event', actor: onSmmu(smmu), action, line: event.span.line };
}

export function missingStep(actor: Actor, action: string): ScenarioStep {
  return { kind: 'missing', actor, action };
}

export function consequenceStep(actor: Actor, action: string): ScenarioStep {
  return { kind: 'consequence', actor, action };
}

/**
 * The live VMs holding a pinned VMID, in the order they pinned (those pinned before the trace
 * began last). By time, not line: per-CPU files pasted together number the same pins
 * differently, and must name the same holders.
 */
export function pinHolders(state: ReplayState): VmState[] {
  const held = [...state.vmsByPointer.values()].filter((vm) => !vm.destroyed && vm.kvmVmid.pinned > 0);
  const time = (vm: VmState) => (vm.pinnedBy === undefined ? Infinity : vm.pinnedBy.tsUs * 1000 + vm.pinnedBy.tsNs);
  return held.sort((a, b) => time(a) - time(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
