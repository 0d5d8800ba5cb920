/**
 * `shared-unpinned`: the STE shares KVM's VMID without a pin, what a driver would do that took
 * the VM's VMID once (Jean-Philippe Brucker, 2021-03-04, YEEUocRn3IfIDpLj@myrica: KVM may
 * reallocate it). Until a rollover moves the VM that works; after one the VM runs under another
 * VMID, its guest's TLBIs (broadcast under BTM) carry the new one, and the SMMU's entries tagged
 * with the old one stay stale. Each such change needs the STE rewritten and
 * `CMD_TLBI_S12_VMALL` of the old VMID, which nothing in such a driver would issue: every one
 * is listed, needed and missed. A device attached to a VM that has not run yet is bound at its
 * first vCPU load, when KVM gives it a VMID.
 */
import type { EventBase, KernelPointer } from '../../events/common.js';
import type { PlannedOp } from '../assign.js';
import type { Policy, PolicyCalls, PolicyDriver } from '../policyRun.js';
import type { Device } from '../workload.js';
import { consequenceStep, cpuStep, missingStep, onSmmu, smmuStep, steParty, vmParty } from '../../checks/findingParts.js';
import { detachDevice, writeSte } from './steps.js';

interface Binding {
  readonly device: Device;
  /** The VMID the STE carries; undefined until the VM first runs. */
  vmid: number | undefined;
  /** The VMID whose change was last reported, so that a change is listed once. */
  reported: number | undefined;
  readonly installedBy: EventBase;
}

class SharedUnpinnedDriver implements PolicyDriver {
  private readonly bindings = new Map<KernelPointer, Binding[]>();

  constructor(private readonly calls: PolicyCalls) {}

  op(op: PlannedOp): void {
    const calls = this.calls;
    switch (op.op) {
      case 'create':
        calls.create(op.vm, op.at);
        return;
      case 'destroy':
        calls.destroy(op.vm, op.at);
        return;
      case 'load': {
        const outcome = calls.load(op.vm, op.cpu, op.at);
        if (outcome !== undefined) this.afterLoad(op.vm, outcome.vmid, op.at);
        return;
      }
      case 'put':
        calls.put(op.cpu, op.at);
        return;
      case 'attach': {
        calls.metrics.attachesRequested += 1;
        const id = calls.kvmId(op.vm);
        const binding: Binding = { device: op.device, vmid: undefined, reported: undefined, installedBy: op.at };
        const list = this.bindings.get(op.vm) ?? [];
        list.push(binding);
        this.bindings.set(op.vm, list);
        if (id !== 0) this.bind(op.vm, binding, calls.allocator.indexOf(id), op.at);
        return;
      }
      case 'detach': {
        const list = this.bindings.get(op.vm) ?? [];
        const at = list.findIndex((binding) => binding.device.smmu === op.device.smmu && binding.device.sid === op.device.sid);
        if (at === -1) return;
        const [binding] = list.splice(at, 1) as [Binding];
        if (binding.vmid !== undefined) detachDevice(calls, op.device, binding.vmid, op.at);
        return;
      }
      case 'loss':
        return;
    }
  }

  private bind(vm: KernelPointer, binding: Binding, vmid: number, at: EventBase): void {
    binding.vmid = vmid;
    binding.reported = vmid;
    writeSte(this.calls, binding.device, 'nested', vmid, vm, at);
  }

  private afterLoad(vm: KernelPointer, vmid: number, at: EventBase): void {
    const calls = this.calls;
    for (const binding of this.bindings.get(vm) ?? []) {
      if (binding.vmid === undefined) {
        this.bind(vm, binding, vmid, at);
        continue;
      }
      if (vmid === binding.reported) continue;
      binding.reported = vmid;
      if (vmid === binding.vmid) continue;
      calls.metrics.vmidChangesUnderBoundSte += 1;
      calls.metrics.invalidationsNeeded += 1;
      calls.metrics.invalidationsMissed += 1;
      calls.report(at, {
        messageId: 'sharedVmidChanged',
        data: { vm: calls.label(vm), device: `SMMU ${binding.device.smmu} SID ${binding.device.sid}`, kvmVmid: vmid, steVmid: binding.vmid },
        witnesses: [
          { role: 'STE shares the VMID', event: binding.installedBy },
          { role: 'VM loads with another VMID', event: at },
        ],
        explanation: [
          `Let SID ${binding.device.sid} share ${vm}'s KVM VMID ${binding.vmid} without a pin (line ${binding.installedBy.span.line}).`,
          `Then at line ${at.span.line} a rollover has moved the VM: it runs with VMID ${vmid}.`,
          `However the STE still carries ${binding.vmid}: the guest's TLBIs by VMID ${vmid} miss the SMMU's entries tagged ${binding.vmid}.`,
        ],
        needed: `rewrite SID ${binding.device.sid}'s STE to S2VMID ${vmid} and issue CMD_TLBI_S12_VMALL vmid=${binding.vmid} after line ${at.span.line}`,
        parties: [vmParty({ label: calls.label(vm), pointer: vm }, [binding.vmid, vmid], 'not pinned'), steParty(binding.device.smmu, binding.device.sid, [binding.vmid])],
        scenario: [
          smmuStep(binding.device.smmu, binding.installedBy, `STE of SID ${binding.device.sid} takes S2VMID ${binding.vmid}`),
          cpuStep(at, `${calls.label(vm)} runs with VMID ${vmid}`),
          missingStep(onSmmu(binding.device.smmu), `STE rewrite to ${vmid}, CMD_TLBI_S12_VMALL vmid=${binding.vmid}`),
          consequenceStep(onSmmu(binding.device.smmu), `TLBIs by VMID ${vmid} miss entries tagged ${binding.vmid}`),
        ],
        remedy: { actions: [`CMD_CFGI_STE sid=${binding.device.sid} (S2VMID ${vmid})`, `CMD_TLBI_S12_VMALL vmid=${binding.vmid}`, 'CMD_SYNC'], smmu: binding.device.smmu, afterLine: at.span.line },
      });
    }
  }
}

export const sharedUnpinnedPolicy: Policy = {
  name: 'shared-unpinned',
  summary: "the STE shares KVM's VMID without a pin: each rollover that moves a bound VM needs an STE rewrite and CMD_TLBI_S12_VMALL of the old VMID, which nothing issues; BTM on",
  host: { variant: 'mainline', vmids: 'kvm', btm: true },
  replacesChecks: ['vmid-changed-under-bound-ste'],
  driver: (calls: PolicyCalls) => new SharedUnpinnedDriver(calls),
};
