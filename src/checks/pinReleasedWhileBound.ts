import { consequenceStep, cpuStep, onCpu, smmuStep, steParty, vmParty } from './findingParts.js';
import { defineCheck } from './types.js';

/**
 * Hazard 6a (detach ordering): the last pin reference is dropped while an STE still carries
 * the VM's VMID. From then on a rollover may give the VM another index and KVM may hand the
 * old one to another VM, while the device still uses it.
 */
export const pinReleasedWhileBound = defineCheck({
  meta: {
    id: 'pin-released-while-bound',
    description: 'a pinned VMID released while an SMMU STE still uses it',
    severity: 'error',
    messages: {
      released: '{vm}: pin on VMID {vmid} released while SMMU {smmu} SID {sid} still carries it',
    },
  },
  create(ctx) {
    return {
      unpin(step) {
        if (!step.outcome.released) return;
        const at = step.event;
        for (const smmu of ctx.state.smmus.values()) {
          for (const binding of smmu.bindingsOfVm(step.vm.key)) {
            if (binding.s2vmid !== step.outcome.vmid) continue;
            ctx.report(at, {
              messageId: 'released',
              data: { vm: step.vm.label, vmid: step.outcome.vmid, smmu: smmu.name, sid: binding.sid },
              witnesses: [
                { role: `STE shares VMID ${binding.s2vmid}`, event: binding.installedBy },
                { role: 'pin released', event: at },
              ],
              explanation: [
                `Let SID ${binding.sid} on SMMU ${smmu.name} use ${step.vm.label}'s pinned VMID ${binding.s2vmid} (line ${binding.installedBy.span.line}).`,
                `Then at line ${at.span.line} kvm_arm_pinned_vmid_put() drops the last reference and clears the pinned bit.`,
                'However the STE still uses the VMID: after the next rollover KVM may move the VM to another VMID and give this one to another VM.',
              ],
              needed: `rewrite or clear SID ${binding.sid}'s STE (and invalidate VMID ${binding.s2vmid}) before unpinning`,
              parties: [vmParty(step.vm, [binding.s2vmid], 'pin released'), steParty(smmu.name, binding.sid, [binding.s2vmid], 'still installed')],
              scenario: [
                smmuStep(smmu.name, binding.installedBy, `STE SID ${binding.sid}: S2VMID ${binding.s2vmid}, the VM's pinned VMID`),
                cpuStep(at, 'kvm_arm_pinned_vmid_put() drops the last pin'),
                consequenceStep(onCpu(at.cpu), `a rollover may move the VM off VMID ${binding.s2vmid} and give it to another VM`),
              ],
              remedy: { actions: [`rewrite or clear STE SID ${binding.sid}`, `CMD_TLBI_S12_VMALL vmid=${binding.s2vmid}`, 'CMD_SYNC'], smmu: smmu.name, beforeLine: at.span.line },
            });
          }
        }
      },
    };
  },
});
