/**
 * The parts of a finding a lockdep report has beside its title: the parties (lockdep's two
 * locks; here VMs, STEs, SMMU domains, CPUs), the scenario (lockdep's CPU0/CPU1 table: who did
 * what, in which order) and what was needed. Data, not prose, so that every renderer lays
 * them out its own way (a text table, a Markdown table, CSV columns, a timeline).
 */
interface PartyBase {
  /** How every renderer names it: `VM 0xffff000010002000`, `SMMU smmu0 SID 768`, `CPU 2`. */
  readonly name: string;
  /** The VMIDs it holds or carries in this finding, in the order it held them. */
  readonly vmids: readonly number[];
  /** What else its part in the finding is, in a few words: `not pinned`, `pin refused`. */
  readonly note?: string;
}

/** A VM (a `struct kvm_vmid` pointer and one lifetime of it). */
export interface VmParty extends PartyBase {
  readonly kind: 'vm';
  readonly vm: string;
}

/** A stream table entry: the device's StreamID on one SMMU. */
export interface SteParty extends PartyBase {
  readonly kind: 'ste';
  readonly smmu: string;
  readonly sid: number;
}

/** An SMMU stage-2 domain on a VMID from the SMMU's own allocator, not shared with KVM. */
export interface SmmuDomainParty extends PartyBase {
  readonly kind: 'smmu-domain';
  readonly smmu: string;
}

/** An SMMU as a whole (its VMID width, its BTM setting). */
export interface SmmuParty extends PartyBase {
  readonly kind: 'smmu';
  readonly smmu: string;
}

export interface CpuParty extends PartyBase {
  readonly kind: 'cpu';
  readonly cpu: number;
}

/** KVM's VMID allocator as a whole (its width, its pinned pool). */
export interface KvmParty extends PartyBase {
  readonly kind: 'kvm';
}

export type Party = VmParty | SteParty | SmmuDomainParty | SmmuParty | CpuParty | KvmParty;

/** Who acts in a scenario row: a CPU (allocator calls, vCPU loads, broadcasts) or an SMMU (its STEs, commands and TLB). */
export type Actor = { readonly kind: 'cpu'; readonly cpu: number } | { readonly kind: 'smmu'; readonly smmu: string };

/**
 * One row of the scenario. `event`: a line of the trace; `missing`: what was needed at that
 * point and the trace does not show; `consequence`: what follows by the hardware's rules.
 */
export type ScenarioStep =
  | { readonly kind: 'event'; readonly actor: Actor; readonly action: string; readonly line: number }
  | { readonly kind: 'missing' | 'consequence'; readonly actor: Actor; readonly action: string };

/**
 * What was needed as data (the finding's `needed` says it in words): SMMU commands or kernel
 * calls in order, on which SMMU, and between which lines of the trace.
 */
export interface Remedy {
  readonly actions: readonly string[];
  /** The SMMU whose command queue takes them; absent for kernel calls. */
  readonly smmu?: string;
  readonly afterLine?: number;
  readonly beforeLine?: number;
}
