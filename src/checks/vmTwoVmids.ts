import type { RunningVm } from '../steps/state.js';
import { consequenceStep, cpuParty, cpuStep, onCpu, vmParty } from './findingParts.js';
import { defineCheck, type CheckContext, type StepOf } from './types.js';

/**
 * Hazard 8: two CPUs run vCPUs of one VM under different VMID indexes at once, so a TLB
 * invalidation by the VM's VMID misses one of them. The RFC v2 allocator produces this when a
 * pinned VM left with a stale id by a rollover is unpinned while still loaded; mainline never.
 */
export const vmTwoVmids = defineCheck({
  meta: {
    id: 'vm-two-vmids',
    description: 'one VM runs under two VMID indexes on two CPUs at the same time',
    severity: 'error',
    messages: {
      split: '{vm} runs with VMID {newVmid} on CPU {cpu} while CPU {otherCpu} still runs it with VMID {otherVmid}',
    },
  },
  create(ctx) {
    return {
      load(step) {
        const running = ctx.state.running;
        for (let otherCpu = 0; otherCpu < running.length; otherCpu++) {
          const other = running[otherCpu];
          if (other === undefined || otherCpu === step.cpu || other.vm !== step.vm || other.vmid === step.outcome.vmid) continue;
          reportSplit(ctx, step, otherCpu, other);
        }
      },
    };
  },
});

/** Another CPU runs the VM with another VMID. */
function reportSplit(ctx: CheckContext<'split'>, step: StepOf<'load'>, otherCpu: number, running: RunningVm): void {
  const at = step.event;
  ctx.report(at, {
    messageId: 'split',
    data: { vm: step.vm.label, newVmid: step.outcome.vmid, cpu: step.cpu, otherCpu, otherVmid: running.vmid },
    witnesses: [
      { role: `CPU ${otherCpu} runs it with VMID ${running.vmid}`, event: running.loadedBy },
      { role: `CPU ${step.cpu} runs it with VMID ${step.outcome.vmid}`, event: at },
    ],
    explanation: [
      `Let CPU ${otherCpu} enter ${step.vm.label} with VMID ${running.vmid} at line ${running.loadedBy.span.line}, and not put it since.`,
      `Then at line ${at.span.line} CPU ${step.cpu} enters the same VM with VMID ${step.outcome.vmid}.`,
      `However a TLB invalidation by the VM's VMID (${step.outcome.vmid}, e.g. a stage-2 unmap) misses the entries CPU ${otherCpu} holds under ${running.vmid}.`,
    ],
    parties: [vmParty(step.vm, [running.vmid, step.outcome.vmid]), cpuParty(otherCpu, [running.vmid], 'still runs the VM'), cpuParty(step.cpu, [step.outcome.vmid], 'enters the VM')],
    scenario: [
      cpuStep(running.loadedBy, `enters the VM with VMID ${running.vmid}`),
      cpuStep(at, `enters the VM with VMID ${step.outcome.vmid}`),
      consequenceStep(onCpu(otherCpu), `a TLBI by VMID ${step.outcome.vmid} misses its entries under ${running.vmid}`),
    ],
  });
}
