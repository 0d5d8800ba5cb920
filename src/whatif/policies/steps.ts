/**
 * The SMMU driver's steps every policy takes the same way (`drivers/iommu/arm/arm-smmu-v3/`):
 * an STE written and made visible (`CFGI_STE`, `CMD_SYNC`), and a device detached: its STE
 * aborted, made visible, and the VMID it used invalidated (`CMD_TLBI_S12_VMALL`) before that
 * VMID can serve anyone else.
 */
import type { EventBase, KernelPointer } from '../../events/common.js';
import type { SteConfig } from '../../events/smmuEvents.js';
import type { PolicyCalls } from '../policyRun.js';
import type { Device } from '../workload.js';

/** `arm_smmu_write_ste()` then `CFGI_STE` and a sync. */
export function writeSte(calls: PolicyCalls, device: Device, config: SteConfig, s2vmid: number, vm: KernelPointer | undefined, at: EventBase): void {
  calls.ste(device, config, s2vmid, vm, at);
  calls.commands(device.smmu, [{ op: 'CFGI_STE', sid: device.sid }, { op: 'CMD_SYNC' }], at);
}

/** The STE to abort, then `CMD_TLBI_S12_VMALL` of the VMID it used: one invalidation the policy needs. */
export function detachDevice(calls: PolicyCalls, device: Device, vmid: number, at: EventBase): void {
  calls.ste(device, 'abort', 0, undefined, at);
  calls.commands(device.smmu, [{ op: 'CFGI_STE', sid: device.sid }, { op: 'TLBI_S12_VMALL', vmid }, { op: 'CMD_SYNC' }], at);
  calls.metrics.invalidationsNeeded += 1;
}

/** One device of one VM, as the drivers key what they attached: the same device on another VM is another attach. */
export function attachKey(vm: KernelPointer, device: Device): string {
  return `${vm}@${device.smmu}/${device.sid}`;
}
