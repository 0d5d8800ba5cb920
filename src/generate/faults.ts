/**
 * The faults `generate --inject` can put into an otherwise correct workload, and the check
 * each one must trigger. A fault is one scripted episode (see `episodes.ts`): the generator
 * knows, when it writes the episode, the exact line where the analyzer has to report it.
 */
import type { PinVariant } from '../events/traceEvents.js';

export const faultKinds = [
  'missing-s12-vmall',
  'ste-vmid-zero',
  'pin-exhausted',
  'unpinned-share',
  'leak-pin',
  'early-unpin',
  'stale-unpin-two-vmids',
  'width-mismatch',
  'ste-switch-no-inval',
  'wrong-recorded-id',
] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultInfo {
  /** What the episode does wrong, for `--help`, the docs and the sidecar. */
  readonly summary: string;
  /** The check ids it must trigger, in trace order, under a given allocator variant. */
  readonly checks: (variant: PinVariant) => readonly string[];
  /** Needs the RFC pinning calls. */
  readonly needsPinning: boolean;
  /** Forces a KVM rollover with throw-away VMs: costs about 5 lines per VMID index. */
  readonly forcesRollover: boolean;
}

export const faultCatalog: Readonly<Record<FaultKind, FaultInfo>> = {
  'missing-s12-vmall': {
    summary: 'an SMMU domain is freed without CMD_TLBI_S12_VMALL of its VMID, and the IDA hands the VMID to the next domain',
    checks: () => ['vmid-reuse-without-invalidation'],
    needsPinning: false,
    forcesRollover: false,
  },
  'ste-vmid-zero': {
    summary: 'a stage-2 STE is written with S2VMID 0',
    checks: () => ['ste-vmid-zero'],
    needsPinning: false,
    forcesRollover: false,
  },
  'pin-exhausted': {
    summary: 'VMs pin until max_pinned_vmids is reached and one more pin is refused (RFC v2 then programs S2VMID 0)',
    checks: (variant) => (variant === 'rfc-v2' ? ['pin-exhausted', 'ste-vmid-zero'] : ['pin-exhausted']),
    needsPinning: true,
    forcesRollover: false,
  },
  'unpinned-share': {
    summary: "an STE shares a VM's KVM VMID without a pin; a rollover gives the VM another VMID",
    checks: () => ['vmid-changed-under-bound-ste'],
    needsPinning: false,
    forcesRollover: true,
  },
  'leak-pin': {
    summary: 'a pinned VM is destroyed without kvm_arm_pinned_vmid_put()',
    checks: () => ['pin-leaked'],
    needsPinning: true,
    forcesRollover: false,
  },
  'early-unpin': {
    summary: 'detach in the wrong order: the pin is released while the STE still carries the VMID',
    checks: () => ['pin-released-while-bound'],
    needsPinning: true,
    forcesRollover: false,
  },
  'stale-unpin-two-vmids': {
    summary: 'a pinned VM left with a stale id by a rollover is unpinned while a vCPU is loaded; its next vCPU gets another VMID',
    checks: () => ['vm-two-vmids'],
    needsPinning: true,
    forcesRollover: true,
  },
  'width-mismatch': {
    summary: 'a VM shares its KVM VMID with an SMMU whose VMID width differs from KVM\'s',
    checks: () => ['vmid-width-mismatch'],
    needsPinning: false,
    forcesRollover: false,
  },
  'ste-switch-no-inval': {
    summary: 'an STE moves to another SMMU VMID and the old VMID is freed without an invalidation after the rewrite',
    checks: () => ['ste-switch-without-invalidation'],
    needsPinning: false,
    forcesRollover: false,
  },
  'wrong-recorded-id': {
    summary: 'the trace records an id, pin result or destroy id other than the one the kernel computes',
    checks: () => ['model-divergence'],
    needsPinning: false,
    forcesRollover: false,
  },
};

export function isFaultKind(name: string): name is FaultKind {
  return (faultKinds as readonly string[]).includes(name);
}

/**
 * `model-divergence` reports only the first divergence of each kind, so `wrong-recorded-id`
 * walks through these, one per injection.
 */
export const divergenceKindsFor = (variant: PinVariant): readonly ('id-after' | 'id-before' | 'destroy-id' | 'pin-ret')[] =>
  variant === 'mainline' ? ['id-after', 'id-before', 'destroy-id'] : ['id-after', 'id-before', 'destroy-id', 'pin-ret'];
