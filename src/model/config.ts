import type { PinVariant } from '../events/traceEvents.js';

/** The allocator's configuration: what `kvm_arm_vmid_alloc_init()` would have found. */
export interface AllocatorConfig {
  /** `kvm_arm_vmid_bits` (8 or 16 on real hardware; 2..16 accepted to exercise rollovers). */
  readonly vmidBits: number;
  /** `num_possible_cpus()`. */
  readonly cpus: number;
  /** Which source the allocator follows: mainline, or with the RFC v2 / v3 pinning patches. */
  readonly variant: PinVariant;
}

/** Why a configuration cannot run the allocator, or undefined when it can. */
export function allocatorConfigProblem(config: AllocatorConfig): string | undefined {
  if (!Number.isInteger(config.vmidBits) || config.vmidBits < 2 || config.vmidBits > 16) {
    return `VMID width must be 2..16 bits, got ${config.vmidBits}`;
  }
  if (!Number.isInteger(config.cpus) || config.cpus < 1) return `CPU count must be a positive integer, got ${config.cpus}`;
  // kvm_arm_vmid_alloc_init(): WARN_ON(NUM_USER_VMIDS - 1 <= num_possible_cpus()); below that a
  // rollover can reserve every index and new_vmid()'s second search would find none.
  if (2 ** config.vmidBits - 1 <= config.cpus) {
    return `${config.vmidBits}-bit VMIDs leave ${2 ** config.vmidBits - 1} indexes, not more than the ${config.cpus} CPUs the kernel requires`;
  }
  if (config.variant !== 'mainline' && 2 ** config.vmidBits - config.cpus - 2 < 1) {
    return `${config.vmidBits}-bit VMIDs with ${config.cpus} CPUs leave no room for pinned VMIDs`;
  }
  return undefined;
}
