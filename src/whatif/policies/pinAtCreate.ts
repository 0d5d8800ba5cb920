/**
 * `pin-at-create`: a VM that will get a device pins its VMID when it is created, through a KVM
 * VM type or capability, Sean Christopherson's proposal on RFC v2 4/7 (2024-06): VMIDs are a
 * scarce resource like SEV ASIDs, and a VM should learn at creation, not at a device attach,
 * that it cannot have one. On exhaustion the VM is not created: its vCPUs never run and its
 * devices are never attached. Its devices share the pinned VMID (BTM on); the pin is dropped
 * when the VM goes, after its devices' invalidations.
 *
 * With `--assign trace` the trace does not say at a VM's creation whether it will get a device:
 * such a VM pins at its first attach instead.
 */
import { counted } from '../../plural.js';
import type { EventBase, KernelPointer } from '../../events/common.js';
import type { PlannedOp } from '../assign.js';
import type { Policy, PolicyCalls, PolicyDriver } from '../policyRun.js';
import type { Device } from '../workload.js';
import { cpuStep, kvmParty, missingStep, onCpu, vmParty } from '../../checks/findingParts.js';
import { attachKey, detachDevice, writeSte } from './steps.js';

class PinAtCreateDriver implements PolicyDriver {
  /** Pinned VMs and their index. */
  private readonly pinned = new Map<KernelPointer, number>();
  /** VMs that were never created. */
  private readonly refused = new Set<KernelPointer>();
  private readonly attached = new Map<string, number>();

  constructor(private readonly calls: PolicyCalls) {}

  op(op: PlannedOp): void {
    const calls = this.calls;
    switch (op.op) {
      case 'create':
        this.refused.delete(op.vm);
        calls.create(op.vm, op.at);
        if (op.devices > 0) this.pinAtCreation(op.vm, op.devices, op.at);
        return;
      case 'destroy':
        if (this.refused.delete(op.vm)) return;
        if (this.pinned.delete(op.vm)) calls.unpin(op.vm, op.at);
        calls.destroy(op.vm, op.at);
        return;
      case 'load':
        if (!this.refused.has(op.vm)) calls.load(op.vm, op.cpu, op.at);
        return;
      case 'put':
        calls.put(op.cpu, op.at);
        return;
      case 'attach':
        this.attach(op.vm, op.device, op.at);
        return;
      case 'detach': {
        const vmid = this.attached.get(attachKey(op.vm, op.device));
        if (vmid === undefined) return;
        this.attached.delete(attachKey(op.vm, op.device));
        detachDevice(calls, op.device, vmid, op.at);
        return;
      }
      case 'loss':
        return;
    }
  }

  /** The VM type's pin, in `KVM_CREATE_VM`: refused, the VM is freed at once. */
  private pinAtCreation(vm: KernelPointer, devices: number, at: EventBase): boolean {
    const calls = this.calls;
    const outcome = calls.pin(vm, at);
    if (outcome !== undefined && !outcome.exhausted) {
      this.pinned.set(vm, outcome.ret);
      return true;
    }
    calls.pinFailed(at);
    calls.metrics.vmCreationsRefused += 1;
    calls.metrics.devicesOfRefusedVms += devices;
    this.refused.add(vm);
    calls.report(at, {
      messageId: 'vmCreateRefused',
      data: { vm: calls.label(vm), devices: counted(devices, 'device'), why: `all ${calls.allocator.maxPinnedVmids} pinnable VMIDs are held (max_pinned_vmids = 2^${calls.allocator.config.vmidBits} - ${calls.allocator.config.cpus} CPUs - 2)` },
      witnesses: [{ role: 'VM created', event: at }],
      explanation: [
        `Let every VM that will get a device pin its VMID when it is created, and max_pinned_vmids = ${calls.allocator.maxPinnedVmids}.`,
        `Then at line ${at.span.line} nr_pinned_vmids = ${calls.allocator.nrPinnedVmids}: the pin fails, KVM_CREATE_VM returns an error.`,
      ],
      needed: 'a free pinnable VMID: fewer VMs with devices at once, more VMID bits, or fewer possible CPUs',
      parties: [vmParty({ label: calls.label(vm), pointer: vm }, [], 'not created'), kvmParty(`${calls.allocator.nrPinnedVmids} of ${calls.allocator.maxPinnedVmids} pinnable VMIDs held`)],
      scenario: [cpuStep(at, `KVM_CREATE_VM for ${calls.label(vm)}`), missingStep(onCpu(at.cpu), 'the pin fails: KVM_CREATE_VM returns an error')],
    });
    calls.destroy(vm, at);
    return false;
  }

  private attach(vm: KernelPointer, device: Device, at: EventBase): void {
    const calls = this.calls;
    if (this.refused.has(vm)) return;
    calls.metrics.attachesRequested += 1;
    if (!this.pinned.has(vm) && !this.pinAtCreation(vm, 1, at)) return;
    const vmid = this.pinned.get(vm) as number;
    this.attached.set(attachKey(vm, device), vmid);
    writeSte(calls, device, 'nested', vmid, vm, at);
  }
}

export const pinAtCreatePolicy: Policy = {
  name: 'pin-at-create',
  summary: 'a VM that will get a device pins its VMID at creation (a KVM VM type or capability); on exhaustion the VM is not created; BTM on',
  host: { variant: 'rfc-v3', vmids: 'kvm', btm: true },
  replacesChecks: ['pin-exhausted'],
  driver: (calls: PolicyCalls) => new PinAtCreateDriver(calls),
};
