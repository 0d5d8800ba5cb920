import { usesStage2 } from '../events/ste.js';
import type { SmmuModel, SteBinding } from '../model/smmu.js';
import { consequenceStep, cpuStep, onSmmu, smmuStep, steParty, vmParty } from './findingParts.js';
import { defineCheck } from './types.js';

/**
 * Hazard 3: an STE shares a KVM VM's VMID, and the VM now runs with another one (a rollover
 * gave it a new index, or the STE was written with a stale one). Its guest's broadcast TLBIs
 * carry the new VMID and miss the SMMU entries tagged with the STE's.
 */
export const vmidChangedUnderBoundSte = defineCheck({
  meta: {
    id: 'vmid-changed-under-bound-ste',
    description: 'a VM sharing its KVM VMID with an SMMU STE runs under a different VMID than the STE carries',
    severity: 'error',
    messages: {
      changed: '{vm} now runs with VMID {newVmid} (generation {gen}) but SMMU {smmu} SID {sid} still carries S2VMID {steVmid}{pinState}',
      installedStale: 'SMMU {smmu} SID {sid}: STE written with S2VMID {steVmid} for {vm}, whose KVM VMID is {kvmVmid}',
    },
  },
  create(ctx) {
    // One finding per STE write and wrong VMID, not one per later load of the same vCPU.
    const reported = new WeakMap<SteBinding, Set<number>>();
    /** Whether the STE carries another VMID than the VM's `vmid` (and not the v2 fallback 0), not yet reported. */
    const isDue = (binding: SteBinding, vmid: number): boolean => binding.s2vmid !== vmid && binding.s2vmid !== 0 && reported.get(binding)?.has(vmid) !== true;
    const markReported = (binding: SteBinding, vmid: number): void => {
      const vmids = reported.get(binding);
      if (vmids === undefined) reported.set(binding, new Set([vmid]));
      else vmids.add(vmid);
    };
    /** Whether an STE sharing the VM's VMID carries another one not yet reported: a scan that allocates nothing, run on every load. */
    const anyDue = (smmu: SmmuModel, vmKey: string, vmid: number): boolean => {
      const sids = smmu.sidsSharingVm(vmKey);
      if (sids === undefined) return false;
      for (const sid of sids) {
        if (isDue(smmu.stes.get(sid) as SteBinding, vmid)) return true;
      }
      return false;
    };
    return {
      load(step) {
        for (const smmu of ctx.state.smmus.values()) {
          if (!anyDue(smmu, step.vm.key, step.outcome.vmid)) continue;
          // Reported in the order the SIDs were first written.
          for (const binding of smmu.bindingsOfVm(step.vm.key)) {
            if (!isDue(binding, step.outcome.vmid)) continue;
            markReported(binding, step.outcome.vmid);
            const at = step.event;
            const pinned = step.vm.kvmVmid.pinned > 0;
            const reallocated = step.outcome.flushes > 0 || step.outcome.path !== undefined;
            ctx.report(at, {
              messageId: 'changed',
              data: {
                vm: step.vm.label,
                newVmid: step.outcome.vmid,
                gen: step.outcome.gen,
                smmu: smmu.name,
                sid: binding.sid,
                steVmid: binding.s2vmid,
                pinState: pinned ? ' (the VM is pinned)' : ' (the VM is not pinned)',
              },
              witnesses: [
                { role: `STE shares VMID ${binding.s2vmid}`, event: binding.installedBy },
                { role: `VM loads with VMID ${step.outcome.vmid}`, event: at },
              ],
              explanation: [
                `Let SID ${binding.sid} on SMMU ${smmu.name} share ${step.vm.label}'s VMID ${binding.s2vmid} (line ${binding.installedBy.span.line}).`,
                reallocated
                  ? `Then at line ${at.span.line} new_vmid() gives the VM index ${step.outcome.vmid} in generation ${step.outcome.gen}.`
                  : `Then at line ${at.span.line} the VM runs with VMID ${step.outcome.vmid}.`,
                `However the STE still carries ${binding.s2vmid}: the guest's TLBIs by VMID ${step.outcome.vmid} miss the SMMU's entries tagged ${binding.s2vmid}, which stay stale until an explicit CMD_TLBI_S12_VMALL.`,
              ],
              needed: pinned ? undefined : `pin the VMID (kvm_arm_pinned_vmid_get()) before sharing it with the SMMU at line ${binding.installedBy.span.line}`,
              parties: [vmParty(step.vm, [binding.s2vmid, step.outcome.vmid], pinned ? 'pinned' : 'not pinned'), steParty(smmu.name, binding.sid, [binding.s2vmid])],
              scenario: [
                smmuStep(smmu.name, binding.installedBy, `STE SID ${binding.sid}: S2VMID ${binding.s2vmid}, the VM's VMID`),
                cpuStep(at, reallocated ? `new_vmid() gives the VM VMID ${step.outcome.vmid} (generation ${step.outcome.gen})` : `the VM runs with VMID ${step.outcome.vmid}`),
                consequenceStep(onSmmu(smmu.name), `guest TLBIs by VMID ${step.outcome.vmid} miss the entries tagged ${binding.s2vmid}`),
              ],
              ...(pinned ? {} : { remedy: { actions: ['kvm_arm_pinned_vmid_get()'], beforeLine: binding.installedBy.span.line } }),
            });
          }
        }
      },
      'ste-write'(step) {
        if (step.vm === undefined || !usesStage2(step.binding.config) || step.binding.s2vmid === 0) return;
        const kvmId = step.vm.kvmVmid.id;
        if (kvmId === 0) return;
        const kvmVmid = ctx.state.allocator.indexOf(kvmId);
        if (kvmVmid === step.binding.s2vmid) return;
        const at = step.event;
        // The VM's next load under the same VMID is this mismatch again, not a change.
        markReported(step.binding, kvmVmid);
        ctx.report(at, {
          messageId: 'installedStale',
          data: { smmu: step.smmu.name, sid: step.binding.sid, steVmid: step.binding.s2vmid, vm: step.vm.label, kvmVmid },
          witnesses: [{ role: 'STE written', event: at }],
          explanation: [
            `Let ${step.vm.label} hold KVM VMID ${kvmVmid} (id ${kvmId}).`,
            `Then at line ${at.span.line} SID ${step.binding.sid} is given S2VMID ${step.binding.s2vmid} on its behalf.`,
            'However the guest invalidates with its KVM VMID, so these entries are never invalidated by it.',
          ],
          parties: [vmParty(step.vm, [kvmVmid]), steParty(step.smmu.name, step.binding.sid, [step.binding.s2vmid])],
          scenario: [
            smmuStep(step.smmu.name, at, `STE SID ${step.binding.sid}: S2VMID ${step.binding.s2vmid} for the VM`),
            consequenceStep(onSmmu(step.smmu.name), `guest TLBIs by VMID ${kvmVmid} miss the entries tagged ${step.binding.s2vmid}`),
          ],
        });
      },
    };
  },
});
