import { counted } from '../plural.js';
import { consequenceStep, cpuStep, kvmParty, missingStep, onCpu, pinHolders, vmParty } from './findingParts.js';
import { defineCheck } from './types.js';

/**
 * Hazard 6b: a VM destroyed while pinned. The allocator is not told, so `nr_pinned_vmids`
 * never drops and the pinned bit stays set: the pool shrinks for good. A pin still held when
 * the trace ends is listed as a notice (the VM may simply still be running).
 */
export const pinLeaked = defineCheck({
  meta: {
    id: 'pin-leaked',
    description: 'a VM destroyed (or the trace ended) while its VMID was pinned',
    severity: 'error',
    messages: {
      destroyed: '{vm} destroyed with its VMID {vmid} still pinned (refcount {refcount}): the pinned pool loses it for good ({nrPinned} of {maxPinned} now held)',
      traceEnd: '{held} when the trace ends ({nrPinned} of {maxPinned} pinned): {vms}',
    },
  },
  create(ctx) {
    return {
      'vm-destroy'(step) {
        if (step.vm.kvmVmid.pinned <= 0) return;
        const allocator = ctx.state.allocator;
        const at = step.event;
        const vmid = allocator.indexOf(step.vm.kvmVmid.id);
        ctx.report(at, {
          messageId: 'destroyed',
          data: { vm: step.vm.label, vmid, refcount: step.vm.kvmVmid.pinned, nrPinned: allocator.nrPinnedVmids, maxPinned: allocator.maxPinnedVmids },
          witnesses: [...(step.vm.pinnedBy === undefined ? [] : [{ role: 'pinned', event: step.vm.pinnedBy }]), { role: 'destroyed while pinned', event: at }],
          explanation: [
            `Let ${step.vm.label} pin VMID ${vmid}${step.vm.pinnedBy === undefined ? '' : ` at line ${step.vm.pinnedBy.span.line}`}.`,
            `Then at line ${at.span.line} the VM is destroyed with the pin refcount at ${step.vm.kvmVmid.pinned}.`,
            'However kvm_arm_pinned_vmid_put() never ran: pinned_vmid_map keeps the bit and nr_pinned_vmids never drops, so every later pin has one VMID fewer.',
          ],
          needed: 'kvm_arm_pinned_vmid_put() when the device is detached, before the VM goes away',
          parties: [vmParty(step.vm, [vmid], `destroyed, pin refcount ${step.vm.kvmVmid.pinned}`), kvmParty(`${allocator.nrPinnedVmids} of ${allocator.maxPinnedVmids} pinnable VMIDs pinned`)],
          scenario: [
            ...(step.vm.pinnedBy === undefined ? [] : [cpuStep(step.vm.pinnedBy, `kvm_arm_pinned_vmid_get() pins VMID ${vmid}`)]),
            missingStep(onCpu(at.cpu), 'no kvm_arm_pinned_vmid_put()'),
            cpuStep(at, 'the VM is destroyed'),
            consequenceStep(onCpu(at.cpu), `VMID ${vmid} stays pinned for good`),
          ],
          remedy: { actions: ['kvm_arm_pinned_vmid_put()'], beforeLine: at.span.line },
        });
      },
      'trace-end'(step) {
        if (step.at === undefined) return;
        const allocator = ctx.state.allocator;
        // One notice for all pins still held: the VMs may simply still be running.
        const held = pinHolders(ctx.state);
        if (held.length === 0) return;
        const described = held.map((vm) => `${vm.label} (VMID ${allocator.indexOf(vm.kvmVmid.id)})`);
        const holding = held.length === 1 ? 'still holds a pinned VMID' : 'still hold pinned VMIDs';
        ctx.report(step.at, {
          messageId: 'traceEnd',
          severity: 'notice',
          data: { count: held.length, held: `${counted(held.length, 'VM')} ${holding}`, vms: described.join(', '), nrPinned: allocator.nrPinnedVmids, maxPinned: allocator.maxPinnedVmids },
          // One role for all: the message names each VM, and the report folds the lines under one quote.
          witnesses: held.flatMap((vm) => (vm.pinnedBy === undefined ? [] : [{ role: 'pinned', event: vm.pinnedBy }])),
          explanation: [
            `${counted(held.length, 'live VM')} ${holding} and no unpin follows before the trace ends: ${described.join(', ')}.`,
            `nr_pinned_vmids is ${allocator.nrPinnedVmids} of ${allocator.maxPinnedVmids}. If these VMs are destroyed without kvm_arm_pinned_vmid_put(), the pins leak.`,
          ],
          parties: [...held.map((vm) => vmParty(vm, [allocator.indexOf(vm.kvmVmid.id)], 'pinned')), kvmParty(`${allocator.nrPinnedVmids} of ${allocator.maxPinnedVmids} pinnable VMIDs pinned`)],
          // Pins one after another, and nothing after them: no interleaving to show.
          scenario: [],
        });
      },
    };
  },
});
