/**
 * `mainline`: KVM's VMIDs by `arch/arm64/kvm/vmid.c`; each SMMU allocates stage-2 VMIDs of its
 * own from its IDA (`arm_smmu_domain_finalise_s2()`: `ida_alloc_range(&smmu->vmid_map, 1,
 * (1 << smmu->vmid_bits) - 1)`), one per VM's stage-2 domain on that SMMU, with BTM off (mainline
 * sets `CR2.PTM`). The domain's VMID goes back to the IDA when its last device detaches, after a
 * `CMD_TLBI_S12_VMALL` (`arm_smmu_domain_free()`). Nothing is pinned: KVM's rollovers never
 * touch the SMMU's VMIDs.
 */
import type { KernelPointer } from '../../events/common.js';
import type { PlannedOp } from '../assign.js';
import type { Policy, PolicyCalls, PolicyDriver } from '../policyRun.js';
import { cpuStep, missingStep, onSmmu, smmuParty, vmParty } from '../../checks/findingParts.js';
import { writeSte } from './steps.js';
import type { Device } from '../workload.js';

/** A VM's stage-2 domain on one SMMU: its VMID and the devices in it. */
interface Domain {
  readonly vmid: number;
  readonly devices: Set<number>;
}

/** Domains of the SMMU's own VMIDs, one per VM and SMMU; `keepUntilDestroy` makes it a vSMMU's. */
export class OwnVmidDriver implements PolicyDriver {
  private readonly domains = new Map<string, Domain>();

  constructor(
    private readonly calls: PolicyCalls,
    /** A vSMMU's VMID lives as long as its VM; a domain's, as long as it has devices. */
    private readonly keepUntilDestroy: boolean,
    /** `s2` for a stage-2 domain, `nested` for a vSMMU's devices. */
    private readonly config: 's2' | 'nested',
  ) {}

  op(op: PlannedOp): void {
    const calls = this.calls;
    switch (op.op) {
      case 'create':
        calls.create(op.vm, op.at);
        return;
      case 'destroy':
        if (this.keepUntilDestroy) for (const [key, domain] of this.domains) if (key.startsWith(`${op.vm}@`)) this.free(key, domain, op.at);
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

  private key(vm: KernelPointer, smmu: string): string {
    return `${vm}@${smmu}`;
  }

  private attach(vm: KernelPointer, device: Device, at: PlannedOp['at']): void {
    const calls = this.calls;
    calls.metrics.attachesRequested += 1;
    const key = this.key(vm, device.smmu);
    let domain = this.domains.get(key);
    if (domain === undefined) {
      const vmid = calls.smmuVmidAlloc(device.smmu, at);
      if (vmid === undefined) {
        calls.metrics.attachesRefused += 1;
        calls.report(at, {
          messageId: 'smmuVmidsExhausted',
          data: { smmu: device.smmu, vm: calls.label(vm), bits: calls.smmuVmidBits, held: [...this.domains.keys()].filter((held) => held.endsWith(`@${device.smmu}`)).length },
          witnesses: [{ role: 'attach requested', event: at }],
          explanation: [`Let SMMU ${device.smmu} hand out stage-2 VMIDs from its own IDA, one per VM's domain.`, `Then at line ${at.span.line} every VMID of the IDA is held by another domain, and ida_alloc_range() fails.`],
          needed: 'a free VMID in the SMMU\'s IDA (fewer VMs with devices at once, or VMID16)',
          parties: [vmParty({ label: calls.label(vm), pointer: vm }, [], 'attach refused'), smmuParty(device.smmu, `${calls.smmuVmidBits}-bit VMIDs, every one held`)],
          scenario: [cpuStep(at, `attach SID ${device.sid} to ${calls.label(vm)}`), missingStep(onSmmu(device.smmu), 'ida_alloc_range() fails: no stage-2 domain')],
        });
        return;
      }
      domain = { vmid, devices: new Set() };
      this.domains.set(key, domain);
    }
    domain.devices.add(device.sid);
    writeSte(calls, device, this.config, domain.vmid, undefined, at);
  }

  private detach(vm: KernelPointer, device: Device, at: PlannedOp['at']): void {
    const key = this.key(vm, device.smmu);
    const domain = this.domains.get(key);
    if (domain === undefined || !domain.devices.delete(device.sid)) return;
    this.calls.ste(device, 'abort', 0, undefined, at);
    this.calls.commands(device.smmu, [{ op: 'CFGI_STE', sid: device.sid }, { op: 'CMD_SYNC' }], at);
    if (domain.devices.size === 0 && !this.keepUntilDestroy) this.free(key, domain, at);
  }

  /** `arm_smmu_domain_free()`: `CMD_TLBI_S12_VMALL` of the VMID, then back to the IDA. */
  private free(key: string, domain: Domain, at: PlannedOp['at']): void {
    const smmu = key.slice(key.indexOf('@') + 1);
    this.calls.commands(smmu, [{ op: 'TLBI_S12_VMALL', vmid: domain.vmid }, { op: 'CMD_SYNC' }], at);
    this.calls.metrics.invalidationsNeeded += 1;
    this.calls.smmuVmidFree(smmu, domain.vmid, at);
    this.domains.delete(key);
  }
}

export const mainlinePolicy: Policy = {
  name: 'mainline',
  summary: "KVM VMIDs by vmid.c; each SMMU's own VMIDs from its IDA, one per VM's stage-2 domain, freed after CMD_TLBI_S12_VMALL; BTM off",
  host: { variant: 'mainline', vmids: 'own', btm: false },
  driver: (calls: PolicyCalls) => new OwnVmidDriver(calls, false, 's2'),
};
