import { counted } from '../plural.js';
import { consequenceStep, cpuStep, kvmParty, onCpu, pinHolders, vmParty } from './findingParts.js';
import { defineCheck } from './types.js';

/**
 * The holders a finding names and quotes: enough to show who fills the pool, not all of a
 * 16-bit pool's 65530 (the explanation counts them all).
 */
const holdersNamed = 4;

/** Hazard 1: `kvm_arm_pinned_vmid_get()` found `nr_pinned_vmids >= max_pinned_vmids`. */
export const pinExhausted = defineCheck({
  meta: {
    id: 'pin-exhausted',
    description: 'a VMID pin the allocator could not satisfy: the pinned pool was full',
    severity: 'error',
    messages: {
      v2: '{vm}: pin failed, {nrPinned} of {maxPinned} pinnable VMIDs in use; kvm_arm_pinned_vmid_get() returned 0 and the caller falls back to VMID 0',
      v3: '{vm}: pin failed, {nrPinned} of {maxPinned} pinnable VMIDs in use; kvm_arm_pinned_vmid_get() returned -EINVAL',
    },
  },
  create(ctx) {
    return {
      pin(step) {
        if (!step.outcome.exhausted) return;
        const { config, maxPinnedVmids } = ctx.state.allocator;
        const v3 = config.variant === 'rfc-v3';
        const at = step.event;
        // Who holds the pool when the pin is refused: what a reviewer asks first.
        const holders = pinHolders(ctx.state);
        const named = holders.slice(0, holdersNamed);
        const unnamed = holders.length - named.length;
        ctx.report(at, {
          messageId: v3 ? 'v3' : 'v2',
          data: { vm: step.vm.label, nrPinned: step.outcome.nrPinned, maxPinned: maxPinnedVmids, ret: step.outcome.ret },
          witnesses: [...named.flatMap((vm) => (vm.pinnedBy === undefined ? [] : [{ role: 'pin held', event: vm.pinnedBy }])), { role: 'pin refused', event: at }],
          explanation: [
            `Let max_pinned_vmids = 2^${config.vmidBits} - ${counted(config.cpus, 'CPU')} - 2 = ${maxPinnedVmids}.`,
            ...(holders.length === 0 ? [] : [`Let ${counted(holders.length, 'live VM')} hold a pinned VMID (the parties name ${unnamed > 0 ? `the first ${named.length}` : holders.length === 1 ? 'it' : 'them'}).`]),
            `Then at line ${at.span.line} nr_pinned_vmids = ${step.outcome.nrPinned}, so the pin of ${step.vm.label} is refused (ret ${step.outcome.ret}).`,
            v3
              ? 'The caller gets an error: the device cannot be bound to this VM now.'
              : "However the caller does not fail: it programs S2VMID 0, which the guest's broadcast TLBIs (tagged with its real VMID) never reach.",
          ],
          parties: [
            vmParty(step.vm, [], 'pin refused'),
            ...named.map((vm) => vmParty(vm, [ctx.state.allocator.indexOf(vm.kvmVmid.id)], 'pinned')),
            kvmParty(`${step.outcome.nrPinned} of ${maxPinnedVmids} pinnable VMIDs pinned${unnamed > 0 ? `; ${unnamed} more holders not named` : ''}`),
          ],
          scenario: [
            ...named.flatMap((vm) => (vm.pinnedBy === undefined ? [] : [cpuStep(vm.pinnedBy, `${vm.label} pins VMID ${ctx.state.allocator.indexOf(vm.kvmVmid.id)}`)])),
            cpuStep(at, `kvm_arm_pinned_vmid_get() returns ${step.outcome.ret}: the pinned pool is full`),
            consequenceStep(onCpu(at.cpu), v3 ? 'the attach fails' : 'the caller programs S2VMID 0'),
          ],
        });
      },
    };
  },
});
