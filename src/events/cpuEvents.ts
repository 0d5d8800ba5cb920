import type { EventBase, KernelPointer } from './common.js';

/** Broadcast TLB maintenance from a CPU that a BTM-enabled SMMU also obeys. */
export type CpuTlbiOp = 'VMALLS12E1IS' | 'IPAS2E1IS' | 'ALLE1IS';

/**
 * `__kvm_tlb_flush_vmid()` (TLBI VMALLS12E1IS), `__kvm_tlb_flush_vmid_ipa()` (TLBI IPAS2E1IS)
 * or `__kvm_flush_vm_context()` (TLBI ALLE1IS). Traceable with VHE only: nVHE runs them at EL2.
 */
export interface CpuTlbiEvent extends EventBase {
  readonly kind: 'cpu-tlbi';
  readonly op: CpuTlbiOp;
  /** VMID index for the by-VMID operations. */
  readonly vmid?: number;
  readonly vm?: KernelPointer;
  readonly ipa?: bigint;
}

export type CpuEvent = CpuTlbiEvent;
