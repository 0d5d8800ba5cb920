import { usesStage2 } from '../events/ste.js';
import { kvmParty, smmuParty, smmuStep, vmParty } from './findingParts.js';
import { defineCheck } from './types.js';

/** Hazard 7: KVM and an SMMU sharing VMIDs with different VMID widths. */
export const vmidWidthMismatch = defineCheck({
  meta: {
    id: 'vmid-width-mismatch',
    description: 'an SMMU shares KVM VMIDs while its VMID width differs from the CPUs\'',
    severity: 'warning',
    messages: {
      narrower: 'SMMU {smmu} has {smmuBits}-bit VMIDs but KVM allocates {kvmBits}-bit ones while sharing VMID {vmid} of {vm}: KVM VMIDs above {smmuMax} cannot be represented',
      differs: 'SMMU {smmu} has {smmuBits}-bit VMIDs and KVM {kvmBits}-bit ones while sharing VMID {vmid} of {vm}',
    },
  },
  create(ctx) {
    const reported = new Set<string>();
    return {
      'ste-write'(step) {
        if (step.vm === undefined || !usesStage2(step.binding.config)) return;
        const smmuBits = step.smmu.settings.vmidBits;
        const kvmBits = ctx.state.allocator.config.vmidBits;
        if (smmuBits === kvmBits || reported.has(step.smmu.name)) return;
        reported.add(step.smmu.name);
        const at = step.event;
        const narrower = smmuBits < kvmBits;
        ctx.report(at, {
          messageId: narrower ? 'narrower' : 'differs',
          severity: narrower ? 'error' : 'warning',
          data: { smmu: step.smmu.name, smmuBits, kvmBits, smmuMax: 2 ** smmuBits - 1, vmid: step.binding.s2vmid, vm: step.vm.label },
          witnesses: [{ role: 'first shared STE', event: at }],
          explanation: [
            `KVM allocates ${kvmBits}-bit VMIDs; SMMU ${step.smmu.name} compares ${smmuBits} bits.`,
            'Broadcast TLBIs and STE tags only agree when both sides use the same width (Jean-Philippe Brucker: require VMID16 on both, or check the widths match).',
          ],
          needed: 'refuse to share VMIDs (or enable BTM) unless the widths match',
          parties: [kvmParty(`${kvmBits}-bit VMIDs`), smmuParty(step.smmu.name, `${smmuBits}-bit VMIDs`), vmParty(step.vm, [step.binding.s2vmid], 'shares its VMID')],
          scenario: [smmuStep(step.smmu.name, at, `STE SID ${step.binding.sid}: S2VMID ${step.binding.s2vmid}, shared with the VM`)],
        });
      },
    };
  },
});
