/**
 * `rfc-v2` and `pin-or-fail`: a device's STE shares KVM's VMID, pinned at attach with
 * `kvm_arm_pinned_vmid_get()` (RFC v2, 2024-02-08, 20240208151837.35068-1-shameerali.kolothum.thodi@huawei.com,
 * patch 4/7: iommufd associates the kvm pointer, the SMMU driver pins), one reference per device,
 * released with `kvm_arm_pinned_vmid_put()` after the detach's invalidation. BTM on: the series'
 * last patch enables it so the guest's broadcast TLBIs reach the SMMU.
 *
 * They differ on exhaustion (`nr_pinned_vmids >= max_pinned_vmids`): RFC v2 returns 0 and the
 * caller "doesn't fail, it just falls back to VMID=0" (Sean Christopherson's reading on 4/7), so
 * the device runs on S2VMID 0; `pin-or-fail` refuses the attach, as the review asked (a later
 * posting reportedly returns -EINVAL; no source of it was available to check against).
 */
import type { EventBase, KernelPointer } from '../../events/common.js';
import type { PlannedOp } from '../assign.js';
import type { Policy, PolicyCalls, PolicyDriver } from '../policyRun.js';
import type { Device } from '../workload.js';
import { attachKey, detachDevice, writeSte } from './steps.js';

interface Attached {
  readonly vmid: number;
  /** The attach holds a pin reference (not when it fell back to VMID 0). */
  readonly pinned: boolean;
}

class PinOnAttachDriver implements PolicyDriver {
  private readonly attached = new Map<string, Attached>();

  constructor(
    private readonly calls: PolicyCalls,
    private readonly onExhaustion: 'vmid-zero' | 'refuse',
  ) {}

  op(op: PlannedOp): void {
    const calls = this.calls;
    switch (op.op) {
      case 'create':
        calls.create(op.vm, op.at);
        return;
      case 'destroy':
        calls.destroy(op.vm, op.at);
        return;
      case 'load':
        calls.load(op.vm, op.cpu, op.at);
        return;
      case 'put':
        calls.put(op.cpu, op.at);
        return;
      case 'attach':
        this.attach(op.vm, op.device, op.at);
        return;
      case 'detach':
        this.detach(op.vm, op.device, op.at);
        return;
      case 'loss':
        return;
    }
  }

  private attach(vm: KernelPointer, device: Device, at: EventBase): void {
    const calls = this.calls;
    calls.metrics.attachesRequested += 1;
    const outcome = calls.pin(vm, at);
    if (outcome === undefined) return;
    if (!outcome.exhausted) {
      this.attached.set(attachKey(vm, device), { vmid: outcome.ret, pinned: true });
      writeSte(calls, device, 'nested', outcome.ret, vm, at);
      return;
    }
    calls.pinFailed(at);
    if (this.onExhaustion === 'refuse') {
      // The pin-exhausted finding (its -EINVAL message) says the attach fails.
      calls.metrics.attachesRefused += 1;
      return;
    }
    calls.metrics.devicesOnVmidZero += 1;
    this.attached.set(attachKey(vm, device), { vmid: 0, pinned: false });
    writeSte(calls, device, 'nested', 0, vm, at);
  }

  private detach(vm: KernelPointer, device: Device, at: EventBase): void {
    const attached = this.attached.get(attachKey(vm, device));
    if (attached === undefined) return;
    this.attached.delete(attachKey(vm, device));
    detachDevice(this.calls, device, attached.vmid, at);
    if (attached.pinned) this.calls.unpin(vm, at);
  }
}

export const rfcV2Policy: Policy = {
  name: 'rfc-v2',
  summary: "the STE shares KVM's VMID, pinned at attach (kvm_arm_pinned_vmid_get()); on exhaustion the pin returns 0 and the device runs on S2VMID 0; unpinned at detach; BTM on",
  host: { variant: 'rfc-v2', vmids: 'kvm', btm: true },
  driver: (calls: PolicyCalls) => new PinOnAttachDriver(calls, 'vmid-zero'),
};

export const pinOrFailPolicy: Policy = {
  name: 'pin-or-fail',
  summary: 'as rfc-v2, but an attach whose pin finds the pool exhausted fails (the failure mode the review asked for; not checked against any posted source)',
  host: { variant: 'rfc-v3', vmids: 'kvm', btm: true },
  driver: (calls: PolicyCalls) => new PinOnAttachDriver(calls, 'refuse'),
};
