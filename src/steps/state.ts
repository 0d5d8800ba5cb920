import type { KvmVmid } from '../model/vmidAllocator.js';
import type { VmidAllocator } from '../model/vmidAllocator.js';
import type { SmmuModel } from '../model/smmu.js';
import type { EventBase, KernelPointer } from '../events/common.js';

/** A VM: its `struct kvm_vmid` pointer plus one lifetime of it (pointers are reused). */
export interface VmState {
  /** `vm:0xffff...#2` for the second VM at that pointer. */
  readonly key: string;
  readonly pointer: KernelPointer;
  readonly lifetime: number;
  readonly label: string;
  readonly kvmVmid: KvmVmid;
  /** The latest pin attempt that the allocator could not satisfy. */
  lastFailedPin?: EventBase;
  /** The pin that took the refcount from 0 to 1. */
  pinnedBy?: EventBase;
  destroyed: boolean;
  /** The id before its latest change, and the CPU whose call changed it (entry races). */
  previousId?: { readonly id: number; readonly cpu: number };
}

/** What runs on a CPU between `kvm_arm_vmid_update()` and `kvm_arm_vmid_clear_active()`. */
export interface RunningVm {
  readonly vm: VmState;
  /** The hardware VMID the vCPU entered with (VTTBR_EL2.VMID). */
  readonly vmid: number;
  readonly loadedBy: EventBase;
}

/** Everything checks may read; only the replay writes it. */
export interface ReplayState {
  readonly allocator: VmidAllocator;
  readonly smmus: ReadonlyMap<string, SmmuModel>;
  readonly vmsByPointer: ReadonlyMap<KernelPointer, VmState>;
  readonly running: ReadonlyArray<RunningVm | undefined>;
}
