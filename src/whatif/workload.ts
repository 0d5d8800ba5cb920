/**
 * What a trace says independently of the allocator: the workload. VM lifetimes, each vCPU load
 * and put per CPU with its time and line, and the device attaches the trace itself records (an
 * STE that shares a VM's VMID, `vm=`). What the allocator answered (ids, pin results,
 * generations) is not part of it: a policy's model answers for itself.
 *
 * The workload is read from the replay's sequenced items, so it has the replay's order: calls
 * at their decision points, and the order the allocator's own observations show when CPU clocks
 * disagree (src/replay/skew/).
 */
import type { EventBase, KernelPointer } from '../events/common.js';
import { usesStage2 } from '../events/ste.js';
import type { SequencedItem } from '../replay/sequence/callSequencer.js';

/** A device: one StreamID of one SMMU. */
export interface Device {
  readonly smmu: string;
  readonly sid: number;
}

/** One step of the workload; `at` is the trace line it is charged to. */
export type WorkloadOp =
  | { readonly op: 'create'; readonly vm: KernelPointer; readonly at: EventBase }
  | { readonly op: 'destroy'; readonly vm: KernelPointer; readonly at: EventBase }
  /** A vCPU of `vm` is about to run on `cpu` (`kvm_arm_vmid_update()`). */
  | { readonly op: 'load'; readonly vm: KernelPointer; readonly cpu: number; readonly at: EventBase }
  /** The vCPU on `cpu` is put (`kvm_arm_vmid_clear_active()`). */
  | { readonly op: 'put'; readonly cpu: number; readonly at: EventBase }
  | { readonly op: 'attach'; readonly vm: KernelPointer; readonly device: Device; readonly at: EventBase }
  | { readonly op: 'detach'; readonly vm: KernelPointer; readonly device: Device; readonly at: EventBase }
  /** Events were lost here: what any policy computes from here on is unsure. */
  | { readonly op: 'loss'; readonly at: EventBase };

/** Turns the replay's sequenced items into workload steps, in the same order. */
export class WorkloadExtractor {
  /** Per SMMU and SID, the VM whose VMID the STE there shares (the trace's own attaches). */
  private readonly boundTo = new Map<string, KernelPointer>();

  constructor(private readonly emit: (op: WorkloadOp) => void) {}

  readonly push = (item: SequencedItem): void => {
    if (item.type === 'observation') return;
    if (item.type === 'call') {
      if (item.decision.kind !== 'vmid-update') return;
      const vm = item.decision.vm ?? item.entry?.vm;
      // A return that names no VM, with no entry to take it from, says nothing of the workload.
      if (vm !== undefined) this.emit({ op: 'load', vm, cpu: item.decision.cpu, at: item.decision });
      return;
    }
    const event = item.event;
    switch (event.kind) {
      case 'vm-create':
        this.emit({ op: 'create', vm: event.vm, at: event });
        return;
      case 'vm-destroy':
        this.emit({ op: 'destroy', vm: event.vm, at: event });
        return;
      case 'vmid-clear-active':
        this.emit({ op: 'put', cpu: event.cpu, at: event });
        return;
      case 'lost-events':
        this.emit({ op: 'loss', at: event });
        return;
      case 'smmu-ste': {
        const key = `${event.smmu}/${event.sid}`;
        const device = { smmu: event.smmu, sid: event.sid };
        const before = this.boundTo.get(key);
        const after = event.vm !== undefined && usesStage2(event.config) ? event.vm : undefined;
        if (before === after) return;
        if (before !== undefined) {
          this.boundTo.delete(key);
          this.emit({ op: 'detach', vm: before, device, at: event });
        }
        if (after !== undefined) {
          this.boundTo.set(key, after);
          this.emit({ op: 'attach', vm: after, device, at: event });
        }
        return;
      }
      default:
        return;
    }
  };
}
