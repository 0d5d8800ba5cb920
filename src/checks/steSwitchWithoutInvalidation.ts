import type { EventBase } from '../events/common.js';
import { usesStage2 } from '../events/ste.js';
import type { SteBinding } from '../model/smmu.js';
import { consequenceStep, missingStep, onSmmu, ownerParty, smmuStep, steParty, type Party } from './findingParts.js';
import { defineCheck } from './types.js';

interface Obligation {
  readonly smmu: string;
  readonly vmid: number;
  readonly from: SteBinding;
  /** The VMID the STE was rewritten to (the STE may have changed again by the time it is reported). */
  readonly to: number;
  readonly rewrite: EventBase;
}

/**
 * Hazard 5 (Jean-Philippe Brucker, 2021-03-04): after an STE moves from VMID A to VMID B,
 * the old VMID must be invalidated once the STE is rewritten. The obligation is broken when
 * VMID A is freed back to the SMMU, or the trace ends, with no invalidation of A in between
 * and no other STE of the same owner still using A. (A reuse by another owner is reported by
 * `vmid-reuse-without-invalidation` instead, not twice.)
 */
export const steSwitchWithoutInvalidation = defineCheck({
  meta: {
    id: 'ste-switch-without-invalidation',
    description: 'an STE moved to another VMID and the old VMID was never invalidated after the rewrite',
    severity: 'error',
    messages: {
      freed: 'SMMU {smmu} SID {sid}: STE moved from VMID {oldVmid} to {newVmid} at line {rewriteLine}, and VMID {oldVmid} was freed without an invalidation',
      end: 'SMMU {smmu} SID {sid}: STE moved from VMID {oldVmid} to {newVmid} at line {rewriteLine}, and VMID {oldVmid} was never invalidated before the trace ended',
    },
  },
  create(ctx) {
    const open = new Map<string, Obligation>();
    const keyOf = (smmu: string, vmid: number) => `${smmu}/${vmid}`;
    const report = (obligation: Obligation, at: EventBase | undefined, messageId: 'freed' | 'end') => {
      const newVmid = obligation.to;
      const where = at ?? obligation.rewrite;
      const { smmu, vmid, from } = obligation;
      const freed = messageId === 'freed' && at !== undefined;
      const parties: Party[] = [steParty(smmu, from.sid, [vmid, newVmid])];
      if (from.owner !== undefined) parties.push(ownerParty(from.owner, smmu, [vmid], `its entries tagged ${vmid} stay cached`));
      ctx.report(where, {
        messageId,
        severity: messageId === 'end' ? 'warning' : 'error',
        data: { smmu: obligation.smmu, sid: obligation.from.sid, oldVmid: obligation.vmid, newVmid, rewriteLine: obligation.rewrite.span.line },
        witnesses: [
          { role: `STE uses VMID ${obligation.vmid}`, event: obligation.from.installedBy },
          { role: 'STE rewritten', event: obligation.rewrite },
          ...(messageId === 'freed' && at !== undefined ? [{ role: `VMID ${obligation.vmid} freed`, event: at }] : []),
        ],
        explanation: [
          `Let SID ${obligation.from.sid} use VMID ${obligation.vmid} from line ${obligation.from.installedBy.span.line}.`,
          `Then at line ${obligation.rewrite.span.line} its STE is rewritten to another VMID; entries tagged ${obligation.vmid} stay in the SMMU's TLB.`,
          messageId === 'freed'
            ? `However VMID ${obligation.vmid} is freed at line ${where.span.line} with no invalidation since the rewrite: its next owner inherits them.`
            : `However no invalidation of VMID ${obligation.vmid} follows up to the end of the trace.`,
        ],
        needed: `CMD_TLBI_S12_VMALL vmid=${obligation.vmid} + CMD_SYNC after line ${obligation.rewrite.span.line}`,
        parties,
        scenario: [
          smmuStep(smmu, from.installedBy, `STE SID ${from.sid}: S2VMID ${vmid}`),
          smmuStep(smmu, obligation.rewrite, `STE SID ${from.sid}: S2VMID ${newVmid}`),
          missingStep(onSmmu(smmu), `no CMD_TLBI_S12_VMALL vmid=${vmid}`),
          ...(freed ? [smmuStep(smmu, where, `VMID ${vmid} freed`), consequenceStep(onSmmu(smmu), `the next owner of VMID ${vmid} inherits the entries`)] : [consequenceStep(onSmmu(smmu), `entries tagged ${vmid} stay cached`)]),
        ],
        remedy: { actions: [`CMD_TLBI_S12_VMALL vmid=${vmid}`, 'CMD_SYNC'], smmu, afterLine: obligation.rewrite.span.line, ...(freed ? { beforeLine: where.span.line } : {}) },
      });
    };
    return {
      'ste-write'(step) {
        // Only a stage-2 STE puts the VMID back in use; an abort/bypass/S1 STE's S2VMID field is ignored.
        if (!usesStage2(step.binding.config)) return;
        if (open.size > 0) open.delete(keyOf(step.smmu.name, step.binding.s2vmid));
        const previous = step.previous;
        if (previous === undefined || !usesStage2(previous.config)) return;
        if (previous.s2vmid === step.binding.s2vmid || previous.s2vmid === 0) return;
        const stillUsed = step.smmu.liveBindings(previous.s2vmid).some((binding) => binding.owner?.key === previous.owner?.key);
        if (stillUsed) return;
        open.set(keyOf(step.smmu.name, previous.s2vmid), { smmu: step.smmu.name, vmid: previous.s2vmid, from: previous, to: step.binding.s2vmid, rewrite: step.event });
      },
      invalidation(step) {
        if (open.size === 0) return;
        if (step.vmids === 'all') {
          for (const key of [...open.keys()]) if (open.get(key)?.smmu === step.smmu.name) open.delete(key);
        } else {
          for (const vmid of step.vmids) open.delete(keyOf(step.smmu.name, vmid));
        }
      },
      'smmu-vmid-free'(step) {
        if (open.size === 0) return;
        const key = keyOf(step.smmu.name, step.vmid);
        const obligation = open.get(key);
        if (obligation === undefined) return;
        open.delete(key);
        report(obligation, step.event, 'freed');
      },
      'trace-end'(step) {
        for (const obligation of open.values()) report(obligation, step.at, 'end');
        open.clear();
      },
    };
  },
});
