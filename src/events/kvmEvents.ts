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
 * `kvm_arm_vmid_update(kvm_vmid)` on the line's CPU: a vCPU is about to run with this VM's
 * stage 2. `entry` carries the id before the call, `return` the id after it (the point where
 * the allocator's decision is visible, used to order racing CPUs).
 */
export interface VmidUpdateEvent extends EventBase {
  readonly kind: 'vmid-update';
  readonly phase: 'entry' | 'return';
  /** Always set on entries; a return probe before 6.9 cannot read it (paired with its entry). */
  readonly vm: KernelPointer | undefined;
  readonly observedId?: number;
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
