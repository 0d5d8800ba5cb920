/**
 * One SMMUv3 instance as far as VMIDs go (`drivers/iommu/arm/arm-smmu-v3/`): its stream
 * table (StreamID to STE), its own VMID namespace (`ida_alloc_range(&smmu->vmid_map, 1, ...)`
 * in `arm_smmu_domain_finalise_s2()`), and, for each VMID, which owners the SMMU may still
 * hold cached stage-2 (and nested stage-1) translations for.
 *
 * Cache model: an STE that walks a stage 2 tagged VMID V lets the SMMU fill its TLB with
 * entries tagged V for the STE's owner at any time while it is installed. Entries survive the
 * STE being rewritten or cleared; only an invalidation covering V removes them
 * (`CMD_TLBI_S12_VMALL` V, `CMD_TLBI_NSNH_ALL`, or with BTM a CPU broadcast `TLBI VMALLS12E1IS`
 * V / `TLBI ALLE1IS`). After an invalidation, owners whose STEs are still installed may refill
 * at once, so they stay listed.
 */

import type { SteConfig } from '../events/smmuEvents.js';
import { usesStage2 } from '../events/ste.js';
import type { EventBase } from '../events/common.js';

/** Who a VMID's translations belong to. */
export interface VmidOwner {
  /** Stable key: `vm:<pointer>#<lifetime>` or `smmu:<smmu>/vmid<V>#<allocation>`. */
  readonly key: string;
  readonly kind: 'kvm-vm' | 'smmu-domain';
  /** For reports: `VM 0xffff...a58` or `SMMU smmu0 domain VMID 5`. */
  readonly label: string;
  /** The VM's `struct kvm_vmid` pointer, for a `kvm-vm` owner. */
  readonly pointer?: string;
}

export interface SteBinding {
  readonly sid: number;
  readonly config: SteConfig;
  readonly s2vmid: number;
  /** Owner of the translations for stage-2 configs; undefined otherwise. */
  readonly owner?: VmidOwner;
  /** Key of the KVM VM the STE shares its VMID with (`vm=` on the line). */
  readonly vmKey?: string;
  readonly installedBy: EventBase;
}

export interface CachedOwner {
  readonly owner: VmidOwner;
  /** The STE install that first let the SMMU cache these entries. */
  readonly since: EventBase;
  /** The latest line at which an STE of this owner stopped using the VMID, if it did. */
  lastUseEnded?: EventBase;
}

export interface SmmuSettings {
  readonly vmidBits: number;
  readonly btm: boolean;
}

function indexSid<K>(index: Map<K, Set<number>>, key: K, sid: number, add: boolean): void {
  let sids = index.get(key);
  if (add) {
    if (sids === undefined) index.set(key, (sids = new Set()));
    sids.add(sid);
  } else if (sids !== undefined) {
    sids.delete(sid);
    if (sids.size === 0) index.delete(key);
  }
}

export class SmmuModel {
  readonly name: string;
  settings: SmmuSettings;
  readonly stes = new Map<number, SteBinding>();
  /** VMIDs allocated from the SMMU's own IDA, with an allocation counter for owner keys. */
  readonly ownVmids = new Map<number, { allocation: number; by: EventBase }>();
  private allocations = 0;
  private readonly cached = new Map<number, Map<string, CachedOwner>>();
  /** Per SID, when it was first written: the order queries answer in. */
  private readonly firstWritten = new Map<number, number>();
  /** SIDs of installed stage-2 STEs by S2VMID, and by the KVM VM they share a VMID with. */
  private readonly stage2SidsByVmid = new Map<number, Set<number>>();
  private readonly stage2SidsByVm = new Map<string, Set<number>>();

  constructor(name: string, settings: SmmuSettings) {
    this.name = name;
    this.settings = settings;
  }

  /** The owner an STE's VMID stands for: the KVM VM when shared, else the SMMU's own domain. */
  ownerFor(s2vmid: number, vm: { key: string; label: string; pointer: string } | undefined): VmidOwner {
    if (vm !== undefined) return { key: vm.key, kind: 'kvm-vm', label: vm.label, pointer: vm.pointer };
    const own = this.ownVmids.get(s2vmid);
    const allocation = own === undefined ? 0 : own.allocation;
    const origin = own === undefined ? '' : ` (allocated at line ${own.by.span.line})`;
    return { key: `smmu:${this.name}/vmid${s2vmid}#${allocation}`, kind: 'smmu-domain', label: `SMMU ${this.name} domain on VMID ${s2vmid}${origin}` };
  }

  /** Owners with cached entries for `vmid` other than `ownerKey`. */
  otherCachedOwners(vmid: number, ownerKey: string): CachedOwner[] {
    const entries = this.cached.get(vmid);
    if (entries === undefined) return [];
    return [...entries.values()].filter((entry) => entry.owner.key !== ownerKey);
  }

  cachedOwners(vmid: number): CachedOwner[] {
    return [...(this.cached.get(vmid)?.values() ?? [])];
  }

  /** Installed STEs walking a stage 2 with `vmid`, in the order their SIDs were first written. */
  liveBindings(vmid: number): SteBinding[] {
    return this.bindingsOf(this.stage2SidsByVmid.get(vmid));
  }

  /** SIDs of the installed STEs that share the VMID of KVM VM `vmKey`, in no order (for a scan that allocates nothing). */
  sidsSharingVm(vmKey: string): ReadonlySet<number> | undefined {
    return this.stage2SidsByVm.get(vmKey);
  }

  /** Installed STEs that share the VMID of KVM VM `vmKey`, in the order their SIDs were first written. */
  bindingsOfVm(vmKey: string): SteBinding[] {
    return this.bindingsOf(this.sidsSharingVm(vmKey));
  }

  private bindingsOf(sids: ReadonlySet<number> | undefined): SteBinding[] {
    if (sids === undefined || sids.size === 0) return [];
    const out: SteBinding[] = [];
    for (const sid of sids) out.push(this.stes.get(sid) as SteBinding);
    // The order a scan of `stes` gives, which findings are reported in.
    if (out.length > 1) out.sort((a, b) => (this.firstWritten.get(a.sid) as number) - (this.firstWritten.get(b.sid) as number));
    return out;
  }

  /** Adds or removes a stage-2 binding in the indexes that answer the two queries above without a scan. */
  private index(binding: SteBinding, add: boolean): void {
    if (!usesStage2(binding.config)) return;
    indexSid(this.stage2SidsByVmid, binding.s2vmid, binding.sid, add);
    if (binding.vmKey !== undefined) indexSid(this.stage2SidsByVm, binding.vmKey, binding.sid, add);
  }

  /** Writes an STE; returns the binding it replaced. */
  writeSte(binding: SteBinding): SteBinding | undefined {
    const previous = this.stes.get(binding.sid);
    if (previous === undefined) this.firstWritten.set(binding.sid, this.firstWritten.size);
    else this.index(previous, false);
    this.stes.set(binding.sid, binding);
    this.index(binding, true);
    if (previous !== undefined && previous.owner !== undefined && usesStage2(previous.config)) {
      const stillUsed = this.liveBindings(previous.s2vmid).some((other) => other.owner?.key === previous.owner?.key);
      const entry = this.cached.get(previous.s2vmid)?.get(previous.owner.key);
      if (!stillUsed && entry !== undefined) entry.lastUseEnded = binding.installedBy;
    }
    if (usesStage2(binding.config) && binding.owner !== undefined) {
      let entries = this.cached.get(binding.s2vmid);
      if (entries === undefined) {
        entries = new Map();
        this.cached.set(binding.s2vmid, entries);
      }
      const existing = entries.get(binding.owner.key);
      if (existing === undefined) entries.set(binding.owner.key, { owner: binding.owner, since: binding.installedBy });
      else existing.lastUseEnded = undefined;
    }
    return previous;
  }

  /** Drops cached entries for `vmid` (or every VMID); owners still installed stay cached. */
  invalidate(vmid: number | 'all'): number[] {
    const vmids = vmid === 'all' ? [...this.cached.keys()] : [vmid];
    for (const target of vmids) {
      const entries = this.cached.get(target);
      if (entries === undefined) continue;
      const liveOwners = new Set(this.liveBindings(target).map((binding) => binding.owner?.key));
      for (const key of [...entries.keys()]) if (!liveOwners.has(key)) entries.delete(key);
      if (entries.size === 0) this.cached.delete(target);
    }
    return vmids;
  }

  allocateVmid(vmid: number, by: EventBase): void {
    this.allocations += 1;
    this.ownVmids.set(vmid, { allocation: this.allocations, by });
  }

  freeVmid(vmid: number): void {
    this.ownVmids.delete(vmid);
  }
}
