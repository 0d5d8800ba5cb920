import { usesStage2 } from '../events/ste.js';
import { consequenceStep, missingStep, onSmmu, ownerParty, smmuStep, steParty, type ScenarioStep } from './findingParts.js';
import { defineCheck } from './types.js';

/**
 * Hazard 4: a VMID the SMMU may still cache for owner A goes live for owner B with no
 * covering invalidation in between (or while A still uses it: the two alias).
 */
export const vmidReuseWithoutInvalidation = defineCheck({
  meta: {
    id: 'vmid-reuse-without-invalidation',
    description: 'an SMMU VMID that may still hold one owner\'s cached translations goes live for another owner without an invalidation',
    severity: 'error',
    messages: {
      stale: 'SMMU {smmu} SID {sid}: VMID {vmid} goes live for {newOwner} while entries of {oldOwner} (cached since line {sinceLine}) were never invalidated',
      aliased: 'SMMU {smmu} SID {sid}: VMID {vmid} goes live for {newOwner} while {oldOwner} still uses it (line {sinceLine}): the two share TLB entries',
    },
  },
  create(ctx) {
    return {
      'ste-write'(step) {
        if (!usesStage2(step.binding.config) || step.binding.owner === undefined || step.otherCachedOwners.length === 0) return;
        const newOwner = step.binding.owner;
        const at = step.event;
        for (const stale of step.otherCachedOwners) {
          const stillLive = step.smmu.liveBindings(step.binding.s2vmid).some((binding) => binding !== step.binding && binding.owner?.key === stale.owner.key);
          const ended = stale.lastUseEnded;
          const witnesses = [{ role: `${stale.owner.label} may cache VMID ${step.binding.s2vmid}`, event: stale.since }];
          if (ended !== undefined && !stillLive) witnesses.push({ role: `${stale.owner.label} stops using it`, event: ended });
          witnesses.push({ role: `${newOwner.label} starts using it`, event: at });
          const smmu = step.smmu.name;
          const vmid = step.binding.s2vmid;
          const scenario: ScenarioStep[] = [smmuStep(smmu, stale.since, `the old owner's STE: S2VMID ${vmid}; its entries may be cached`)];
          if (!stillLive) {
            if (ended !== undefined) scenario.push(smmuStep(smmu, ended, `the old owner's STE leaves VMID ${vmid}`));
            scenario.push(missingStep(onSmmu(smmu), `no CMD_TLBI_S12_VMALL vmid=${vmid}`));
          }
          scenario.push(smmuStep(smmu, at, `STE SID ${step.binding.sid}: S2VMID ${vmid} for the new owner`), consequenceStep(onSmmu(smmu), `SID ${step.binding.sid} can hit the old owner's entries`));
          ctx.report(at, {
            messageId: stillLive ? 'aliased' : 'stale',
            data: {
              smmu: step.smmu.name,
              sid: step.binding.sid,
              vmid: step.binding.s2vmid,
              newOwner: newOwner.label,
              oldOwner: stale.owner.label,
              sinceLine: stale.since.span.line,
            },
            witnesses,
            explanation: [
              `Let ${stale.owner.label} use S2VMID ${step.binding.s2vmid} on SMMU ${step.smmu.name} from line ${stale.since.span.line}: the SMMU may cache its translations tagged ${step.binding.s2vmid}.`,
              stillLive
                ? `Then at line ${at.span.line} ${newOwner.label} starts using the same VMID while ${stale.owner.label} still does.`
                : `Then ${stale.owner.label} stops using it${ended === undefined ? '' : ` at line ${ended.span.line}`}, and at line ${at.span.line} ${newOwner.label} starts using it.`,
              `However no CMD_TLBI_S12_VMALL vmid=${step.binding.s2vmid} or CMD_TLBI_NSNH_ALL came in between${step.smmu.settings.btm ? ', nor a broadcast TLBI of that VMID' : ' (and broadcast TLBIs do not reach this SMMU: BTM off)'}: SID ${step.binding.sid} can hit ${stale.owner.label}'s stale translations.`,
            ],
            needed: stillLive
              ? `give ${newOwner.label} a VMID no other owner uses on SMMU ${step.smmu.name}`
              : `CMD_TLBI_S12_VMALL vmid=${step.binding.s2vmid} + CMD_SYNC after line ${(ended ?? stale.since).span.line} and before line ${at.span.line}`,
            parties: [
              ownerParty(stale.owner, smmu, [vmid], stillLive ? 'old owner, still using it' : 'old owner'),
              ownerParty(newOwner, smmu, [vmid], 'new owner'),
              steParty(smmu, step.binding.sid, [vmid], "the new owner's STE"),
            ],
            scenario,
            ...(stillLive ? {} : { remedy: { actions: [`CMD_TLBI_S12_VMALL vmid=${vmid}`, 'CMD_SYNC'], smmu, afterLine: (ended ?? stale.since).span.line, beforeLine: at.span.line } }),
          });
        }
      },
    };
  },
});
