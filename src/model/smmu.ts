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
import type { EventRef } from './eventRef.js';

/** Who a VMID's translations belong to. */
export interface VmidOwner {
  /** Stable key: `vm:<pointer>#<lifetime>` or `smmu:<smmu>/vmid<V>#<allocation>`. */
  readonly key: string;
  readonly kind: 'kvm-vm' | 'smmu-domain';
  /** For reports: `VM 0xffff...a58` or `SMMU smmu0 domain VMID 5`. */
  readonly label: string;
}

export interface SteBinding {
  readonly sid: number;
  readonly config: SteConfig;
  readonly s2vmid: number;
  /** Owner of the translations for stage-2 configs; undefined otherwise. */
  readonly owner?: VmidOwner;
  /** Key of the KVM VM the STE shares its VMID with (`vm=` on the line). */
  readonly vmKey?: string;
  readonly installedBy: EventRef;
}

export interface CachedOwner {
  readonly owner: VmidOwner;
  /** The STE install that first let the SMMU cache these entries. */
  readonly since: EventRef;
  /** The latest line at which an STE of this owner stopped using the VMID, if it did. */
  lastUseEnded?: EventRef;
}

export interface SmmuSettings {
  readonly vmidBits: number;
  readonly btm: boolean;
}

export class SmmuModel {
  readonly name: string;
  settings: SmmuSettings;
  readonly stes = new Map<number, SteBinding>();
  /** VMIDs allocated from the SMMU's own IDA, with an allocation counter for owner keys. */
  readonly ownVmids = new Map<number, { allocation: number; by: EventRef }>();
  private allocations = 0;
  private readonly cached = new Map<number, Map<string, CachedOwner>>();

  constructor(name: string, settings: SmmuSettings) {
    this.name = name;
    this.settings = settings;
  }

  /** The owner an STE's VMID stands for: the KVM VM when shared, else the SMMU's own domain. */
  ownerFor(s2vmid: number, vm: { key: string; label: string } | undefined): VmidOwner {
    if (vm !== undefined) return { key: vm.key, kind: 'kvm-vm', label: vm.label };
    const own = this.ownVmids.get(s2vmid);
    const allocation = own === undefined ? 0 : own.allocation;
    const origin = own === undefined ? '' : ` (allocated at line ${own.by.line})`;
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

  /** Installed STEs walking a stage 2 with `vmid`. */
  liveBindings(vmid: number): SteBinding[] {
    const out: SteBinding[] = [];
    for (const binding of this.stes.values()) if (usesStage2(binding.config) && binding.s2vmid === vmid) out.push(binding);
    return out;
  }

  /** Installed STEs that share the VMID of KVM VM `vmKey`. */
  bindingsOfVm(vmKey: string): SteBinding[] {
    const out: SteBinding[] = [];
    for (const binding of this.stes.values()) if (binding.vmKey === vmKey && usesStage2(binding.config)) out.push(binding);
    return out;
  }

  /** Writes an STE; returns the binding it replaced. */
  writeSte(binding: SteBinding): SteBinding | undefined {
    const previous = this.stes.get(binding.sid);
    this.stes.set(binding.sid, binding);
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

  allocateVmid(vmid: number, by: EventRef): void {
    this.allocations += 1;
    this.ownVmids.set(vmid, { allocation: this.allocations, by });
  }

  freeVmid(vmid: number): void {
    this.ownVmids.delete(vmid);
  }
}
