/**
 * `vsmmu`: one VMID per vSMMU instance, from the SMMU's own IDA, the direction Jason Gunthorpe
 * gave on the series ("the vmid must come from the viommu", 2024-11-29) and the vIOMMU work of
 * v6.13+ takes: a VM's vSMMU on an SMMU gets a VMID at its first device and keeps it until the
 * VM goes, when `arm_vsmmu_destroy()` invalidates it. KVM's VMIDs stay KVM's (mainline); BTM
 * off, so the guest's TLBIs reach the SMMU only as vSMMU commands.
 */
import type { Policy, PolicyCalls } from '../policyRun.js';
import { OwnVmidDriver } from './mainline.js';

export const vsmmuPolicy: Policy = {
  name: 'vsmmu',
  summary: "one VMID per vSMMU (per VM and SMMU) from the SMMU's IDA, held until the VM goes and then invalidated; KVM mainline; BTM off",
  host: { variant: 'mainline', vmids: 'own', btm: false },
  driver: (calls: PolicyCalls) => new OwnVmidDriver(calls, true, 'nested'),
};
