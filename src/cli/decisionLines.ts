/**
 * The `replay` command's JSON Lines: one line per allocator call the model decided, with the
 * fields of ../shared/oracle/README.md, made from the replay's steps as they happen.
 */
import type { ReplayStep, StepObserver } from '../steps/step.js';

/** One allocator decision, as `vmid-replay replay` prints it (fields as in the oracle). */
export type Decision =
  | { readonly line: number; readonly op: 'create' | 'destroy'; readonly vm: string }
  | { readonly line: number; readonly op: 'put'; readonly cpu: number }
  | {
      readonly line: number;
      readonly op: 'load';
      readonly vm: string;
      readonly cpu: number;
      readonly vmid: number;
      readonly gen: number;
      readonly flushes: number;
      readonly slow: boolean;
      readonly vm_id_after: string;
    }
  | { readonly line: number; readonly op: 'pin'; readonly vm: string; readonly ret: number; readonly flushes: number; readonly vm_id_after: string; readonly nr_pinned: number }
  | { readonly line: number; readonly op: 'unpin'; readonly vm: string; readonly nr_pinned: number };

/** The decision a step records, if it is an allocator call (or a VM's creation or end). */
export function decisionOf(step: ReplayStep): Decision | undefined {
  switch (step.kind) {
    case 'vm-create':
      return { line: step.event.span.line, op: 'create', vm: step.event.vm };
    case 'vm-destroy':
      return { line: step.event.span.line, op: 'destroy', vm: step.event.vm };
    case 'load': {
      const { outcome } = step;
      return { line: step.event.span.line, op: 'load', vm: step.vm.pointer, cpu: step.cpu, vmid: outcome.vmid, gen: outcome.gen, flushes: outcome.flushes, slow: outcome.slow, vm_id_after: String(outcome.idAfter) };
    }
    case 'put':
      return { line: step.event.span.line, op: 'put', cpu: step.cpu };
    case 'pin': {
      const { outcome } = step;
      return { line: step.event.span.line, op: 'pin', vm: step.vm.pointer, ret: outcome.ret, flushes: outcome.flushes, vm_id_after: String(outcome.idAfter), nr_pinned: outcome.nrPinned };
    }
    case 'unpin':
      return { line: step.event.span.line, op: 'unpin', vm: step.vm.pointer, nr_pinned: step.outcome.nrPinned };
    default:
      return undefined;
  }
}

/** A step observer that hands each decision, as a JSON line, to `write`. */
export function decisionLines(write: (line: string) => void): StepObserver {
  return (step) => {
    const decision = decisionOf(step);
    if (decision !== undefined) write(`${JSON.stringify(decision)}\n`);
  };
}
