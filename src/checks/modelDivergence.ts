import { counted } from '../plural.js';
import { cpuStep, vmParty } from './findingParts.js';
import { defineCheck } from './types.js';

/**
 * Where the trace records what the allocator did (ids, pin results, rollovers), the model
 * under the same configuration must agree. Only the first divergence of each kind is reported,
 * with its line: once the model and the kernel disagree, later disagreements of that kind are
 * mostly its consequences. The report's `counts.divergences` still counts every one by kind.
 */
export const modelDivergence = defineCheck({
  meta: {
    id: 'model-divergence',
    description: 'the trace records an allocator result the model, configured as the capture was, does not reproduce',
    severity: 'error',
    messages: {
      'id-before': '{vm}: the trace has id {observed} before the update, the model {expected}',
      'id-after': '{vm}: the trace has id {observed} after the update, the model {expected}',
      'pin-ret': '{vm}: kvm_arm_pinned_vmid_get() returned {observed} in the trace, {expected} in the model',
      rollover: 'the trace shows generation {observed} at a rollover, the model {expected}',
      'destroy-id': '{vm}: destroyed with id {observed} in the trace, {expected} in the model',
      active: '{vm}: the trace has {observed}, the model {expected}',
      generation: 'the trace has {observed}, the model {expected}',
      'per-cpu-active': 'per-CPU active VMIDs: the trace has {observed}, the model {expected}',
      'per-cpu-reserved': 'per-CPU reserved VMIDs: the trace has {observed}, the model {expected}',
      bitmap: 'vmid_map after a rollover: the trace has {observed}, the model {expected}',
      'cur-idx': 'new_vmid() search start: the trace has {observed}, the model {expected}',
      'keep-branch': '{vm}: the trace shows {observed}, the model took {expected}',
    },
  },
  create(ctx) {
    const seen = new Set<string>();
    return {
      divergence(step) {
        if (seen.has(step.divergence)) return;
        seen.add(step.divergence);
        ctx.report(step.at, {
          messageId: step.divergence,
          data: { vm: step.vm?.label ?? '', observed: step.observed, expected: step.expected },
          witnesses: [{ role: 'first divergence of this kind', event: step.at }],
          explanation: [
            `The model, configured as ${ctx.state.allocator.config.variant} with ${ctx.state.allocator.config.vmidBits}-bit VMIDs and ${counted(ctx.state.allocator.config.cpus, 'CPU')}, computes ${step.expected} here; the trace recorded ${step.observed}.`,
            'Either the configuration differs from the captured kernel (variant, VMID width, CPU count), events were lost or reordered before this line, or the kernel does something the model does not.',
          ],
          parties: step.vm === undefined ? [] : [vmParty(step.vm, [])],
          scenario: [cpuStep(step.at, `the trace records ${step.observed}, the model computes ${step.expected}`)],
        });
      },
    };
  },
});
