import type { EventBase, KernelPointer } from './common.js';
import type { SmmuCommand } from './smmuCommand.js';

/** STE `Config` field (STRTAB_STE_0_CFG), or `abort` for an invalid (V=0) entry. */
export type SteConfig = 'abort' | 'bypass' | 's1' | 's2' | 'nested';

/** A stream table entry written (`arm_smmu_write_ste()`): the device's translation from now. */
export interface SteWriteEvent extends EventBase {
  readonly kind: 'smmu-ste';
  /** SMMU instance: its pointer or a name such as `smmu0`. */
  readonly smmu: string;
  readonly sid: number;
  readonly config: SteConfig;
  /** STRTAB_STE_2_S2VMID; meaningful for `s2` and `nested`. */
  readonly s2vmid: number;
  /** The KVM VM whose VMID the STE shares, when known (a vSMMU/iommufd bound to KVM). */
  readonly vm?: KernelPointer;
}

/** `ida_alloc_range()` in `arm_smmu_domain_finalise_s2()`: a VMID from the SMMU's own space. */
export interface SmmuVmidAllocEvent extends EventBase {
  readonly kind: 'smmu-vmid-alloc';
  readonly smmu: string;
  readonly vmid: number;
}

/** `ida_free()` of an SMMU-allocated VMID (domain or vSMMU freed). */
export interface SmmuVmidFreeEvent extends EventBase {
  readonly kind: 'smmu-vmid-free';
  readonly smmu: string;
  readonly vmid: number;
}

/** Commands issued to an SMMU's command queue (`arm_smmu_cmdq_issue_cmdlist()`), in order. */
export interface SmmuCommandsEvent extends EventBase {
  readonly kind: 'smmu-cmd';
  readonly smmu: string;
  readonly commands: readonly SmmuCommand[];
  /** The list was longer than the captured array: commands after these are unknown. */
  readonly truncated: boolean;
}

/** Per-SMMU facts: its VMID width (IDR0.VMID16) and whether it obeys broadcast TLBIs. */
export interface SmmuConfigEvent extends EventBase {
  readonly kind: 'smmu-config';
  readonly smmu: string;
  readonly vmidBits?: number;
  readonly btm?: boolean;
}

export type SmmuEvent = SteWriteEvent | SmmuVmidAllocEvent | SmmuVmidFreeEvent | SmmuCommandsEvent | SmmuConfigEvent;
