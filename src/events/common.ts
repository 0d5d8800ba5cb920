import type { LineSource, SourceSpan } from '../ingest/records.js';

/** What every event carries: where it came from and when it happened. */
export interface EventBase {
  readonly span: SourceSpan;
  /** The record of the raw trace line, kept so a finding can quote its witnesses (`source.text`). */
  readonly source: LineSource;
  /** CPU column of the line (the CPU the call ran on). */
  readonly cpu: number;
  readonly tsUs: number;
  readonly tsNs: number;
}

/**
 * A kernel pointer as printed by the trace (`0xffff00081d3c0a58`), normalised to lower-case
 * hex. For VMs this is the `struct kvm_vmid` pointer (`&kvm->arch.mmu.vmid`, at offset 0 of
 * `struct kvm_s2_mmu`); freed pointers are reused, so identity is pointer plus lifetime.
 */
export type KernelPointer = string;

export function assertUnreachable(value: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
