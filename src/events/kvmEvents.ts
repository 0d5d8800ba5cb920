import type { EventBase, KernelPointer } from './common.js';

/** `kvm_init_stage2_mmu()`: a `struct kvm_vmid` starts its life with id 0. */
export interface VmCreateEvent extends EventBase {
  readonly kind: 'vm-create';
  readonly vm: KernelPointer;
}

/** `kvm_free_stage2_pgd()` / `kvm_arch_destroy_vm()`: end of the VM; the allocator is not told. */
export interface VmDestroyEvent extends EventBase {
  readonly kind: 'vm-destroy';
  readonly vm: KernelPointer;
  readonly observedId?: number;
}

/**
 * What a probe inside or after `kvm_arm_vmid_update()` read of the allocator's state, when a
 * probe map says so (the real captures read per-CPU variables and the bitmap). Every field is
 * optional; the replay compares what is there with the model at the same point.
 */
export interface AllocatorObservation {
  /** This CPU's `active_vmids` as set by the call (`update_slow`'s `newid`). */
  readonly activeId?: number;
  /** `vmid_generation` when the probe fired. */
  readonly generation?: number;
  /** Every CPU's `active_vmids` / `reserved_vmids`, CPU 0 first. */
  readonly activeAll?: readonly number[];
  readonly reservedAll?: readonly number[];
  /** Right after `flush_context()`: the new generation and the first 64-bit words of `vmid_map`. */
  readonly flushGeneration?: number;
  readonly mapWords?: readonly bigint[];
  /** `new_vmid()`'s `cur_idx` after a search. */
  readonly curIdx?: number;
  /** In `new_vmid()`'s keep branch: 1 when the old id was a CPU's reserved VMID, 0 when its bit was free. */
  readonly reservedHit?: number;
}

/**
 * `kvm_arm_vmid_update(kvm_vmid)` on the line's CPU: a vCPU is about to run with this VM's
 * stage 2. `entry` carries the id before the call; `decision` is a probe inside the locked
 * region (the best point to order racing CPUs at); `return` is any point after the call (its
 * return, or the next call in the run loop), with the id after it. A call is replayed at its
 * first decision or return, later ones only add observations.
 */
export interface VmidUpdateEvent extends EventBase {
  readonly kind: 'vmid-update';
  readonly phase: 'entry' | 'decision' | 'return';
  /** Always set on entries; a return probe before 6.9 cannot read it (paired with its entry). */
  readonly vm: KernelPointer | undefined;
  /** `kvm_vmid->id`: before the call at `entry`, after it otherwise. */
  readonly observedId?: number;
  readonly observed?: AllocatorObservation;
}

/** `kvm_arm_vmid_clear_active()` on vCPU put. */
export interface VmidClearActiveEvent extends EventBase {
  readonly kind: 'vmid-clear-active';
}

/**
 * `kvm_arm_pinned_vmid_get()` (RFC). The return carries `ret`: the VMID index, with 0 for
 * an exhausted pool in RFC v2 and a negative errno in RFC v3.
 */
export interface PinGetEvent extends EventBase {
  readonly kind: 'pin-get';
  readonly phase: 'entry' | 'return';
  /** Always set on entries; may be missing on a return (paired with its entry). */
  readonly vm: KernelPointer | undefined;
  readonly observedRet?: number;
}

/** `kvm_arm_pinned_vmid_put()` (RFC). */
export interface PinPutEvent extends EventBase {
  readonly kind: 'pin-put';
  readonly vm: KernelPointer;
}

/** A rollover seen directly (a probe after `flush_context()`), with the new generation. */
export interface VmidRolloverEvent extends EventBase {
  readonly kind: 'vmid-rollover';
  /** The new `vmid_generation` (a multiple of `1 << bits`), when the probe read it. */
  readonly observedGeneration?: number;
}

export type KvmVmidEvent =
  | VmCreateEvent
  | VmDestroyEvent
  | VmidUpdateEvent
  | VmidClearActiveEvent
  | PinGetEvent
  | PinPutEvent
  | VmidRolloverEvent;
