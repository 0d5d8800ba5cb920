import type { EventBase } from '../events/common.js';
import { usesStage2 } from '../events/ste.js';
import { consequenceStep, cpuStep, onSmmu, smmuStep, steParty, vmParty, type Party, type ScenarioStep } from './findingParts.js';
import { defineCheck, type WitnessDraft } from './types.js';

/** Hazard 2: an STE walks a stage 2 tagged VMID 0 (the RFC v2 fallback after a failed pin). */
export const steVmidZero = defineCheck({
  meta: {
    id: 'ste-vmid-zero',
    description: 'an STE programmed with stage-2 VMID 0, shared with bypass/S1-only STEs and unreachable by the guest\'s TLBIs',
    severity: 'error',
    messages: {
      afterFailedPin: 'SMMU {smmu} SID {sid}: STE {config} with S2VMID 0 for {vm}, whose pin failed at line {pinLine}',
      plain: 'SMMU {smmu} SID {sid}: STE {config} with S2VMID 0{forVm}',
    },
  },
  create(ctx) {
    // The refused pin each VM is left with: a later successful pin means VMID 0 is not its fallback.
    const failedPins = new Map<string, EventBase>();
    return {
      pin(step) {
        if (step.outcome.exhausted) failedPins.set(step.vm.key, step.event);
        else failedPins.delete(step.vm.key);
      },
      'ste-write'(step) {
        if (!usesStage2(step.binding.config) || step.binding.s2vmid !== 0) return;
        const at = step.event;
        const failedPin = step.vm === undefined ? undefined : failedPins.get(step.vm.key);
        const refusedWith = ctx.state.allocator.config.variant === 'rfc-v3' ? '-EINVAL' : '0';
        const witnesses: WitnessDraft[] = failedPin === undefined ? [] : [{ role: 'pin refused', event: failedPin }];
        witnesses.push({ role: 'STE written with S2VMID 0', event: at });
        const base = { smmu: step.smmu.name, sid: step.binding.sid, config: step.binding.config };
        const parties: Party[] = [steParty(step.smmu.name, step.binding.sid, [0], `${step.binding.config} STE`)];
        if (step.vm !== undefined) parties.unshift(vmParty(step.vm, [], failedPin === undefined ? undefined : 'pin refused'));
        const scenario: ScenarioStep[] = failedPin === undefined ? [] : [cpuStep(failedPin, `kvm_arm_pinned_vmid_get() returns ${refusedWith}`)];
        scenario.push(
          smmuStep(step.smmu.name, at, `STE SID ${step.binding.sid}: ${step.binding.config}, S2VMID 0`),
          consequenceStep(onSmmu(step.smmu.name), "its entries alias every other S2VMID 0 STE's, and the guest's TLBIs miss them"),
        );
        ctx.report(at, {
          messageId: failedPin === undefined ? 'plain' : 'afterFailedPin',
          data: failedPin === undefined
            ? { ...base, forVm: step.vm === undefined ? '' : ` for ${step.vm.label}` }
            : { ...base, vm: step.vm?.label ?? '', pinLine: failedPin.span.line },
          witnesses,
          explanation: [
            ...(failedPin === undefined ? [] : [`Let the pin of ${step.vm?.label} fail at line ${failedPin.span.line} (kvm_arm_pinned_vmid_get() returned ${refusedWith}).`]),
            `Then at line ${at.span.line} SID ${step.binding.sid} gets a ${step.binding.config} STE with S2VMID 0.`,
            'However VMID 0 is what STEs without a stage 2 use, and every such fallback shares it: their TLB entries alias, and the guest\'s own TLBIs, tagged with its real VMID, never reach them.',
          ],
          needed: 'refuse the attach (RFC v3 returns -EINVAL) or pin the VMID up front',
          parties,
          scenario,
        });
      },
    };
  },
});
