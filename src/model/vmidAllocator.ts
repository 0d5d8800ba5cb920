/**
 * The KVM/arm64 VMID allocator, function by function after `arch/arm64/kvm/vmid.c` as of
 * torvalds/linux 100b4f092f87 (mainline since v5.18, Shameer Kolothum's allocator modelled on
 * arm64's ASID allocator; `kvm_arm_vmid_update()` returns void again since fa808ed4e199), with
 * the pinned-VMID patch of the RFC "iommu/arm-smmu-v3: Use pinned KVM VMID for stage 2" (v2,
 * 2024-02-08) as a configuration: `pinned_vmid_map`, `nr_pinned_vmids`, `max_pinned_vmids`,
 * `kvm_arm_pinned_vmid_get()/put()`. Method names, branch order and comments follow the C.
 *
 * One instance is one host's allocator state: what the kernel keeps in statics and per-CPU
 * variables, and nothing else; others read it, only the kernel's functions change it. VMIDs are
 * JavaScript numbers: a full id is `generation | index` with the generation a multiple of
 * `1 << bits`, far below 2^53 for any trace that could exist.
 */

import type { AllocatorConfig } from './config.js';

/** `struct kvm_vmid`: `atomic64_t id` and, with the RFC, `refcount_t pinned`. */
export interface KvmVmid {
  id: number;
  pinned: number;
}

export function newKvmVmid(): KvmVmid {
  return { id: 0, pinned: 0 };
}

/** How `new_vmid()` chose the index. */
export type NewVmidPath = 'reserved' | 'pinned' | 'reuse' | 'search';

export interface UpdateOutcome {
  /** This CPU's `active_vmids` after the call: what the vCPU runs with. */
  readonly activeId: number;
  /** Low `bits` of `activeId`: the hardware VMID (VTTBR_EL2.VMID). */
  readonly vmid: number;
  /** `activeId >> bits`: 1 for the first generation. */
  readonly gen: number;
  /** Rollovers (`__kvm_flush_vm_context()` calls) during this call. */
  readonly flushes: number;
  /** The locked slow path ran. */
  readonly slow: boolean;
  /** `kvm_vmid->id` after the call (can lag `activeId` for a pinned VM in RFC v2). */
  readonly idAfter: number;
  /** Set when `new_vmid()` ran. */
  readonly path?: NewVmidPath;
}

export interface PinOutcome {
  /** What `kvm_arm_pinned_vmid_get()` returned: the index, 0 (v2) or -EINVAL (v3) when exhausted. */
  readonly ret: number;
  readonly exhausted: boolean;
  readonly flushes: number;
  readonly idAfter: number;
  readonly nrPinned: number;
}

export interface UnpinOutcome {
  readonly nrPinned: number;
  /** The refcount dropped to zero and the pinned bit was cleared. */
  readonly released: boolean;
  /** The index the pin held (from `kvm_vmid->id` at the put). */
  readonly vmid: number;
}

const EINVAL = 22;

export class VmidAllocator {
  readonly config: AllocatorConfig;
  /** `NUM_USER_VMIDS`. */
  readonly numUserVmids: number;
  /** `VMID_FIRST_VERSION`, also `VMID_ACTIVE_INVALID`. */
  readonly firstVersion: number;
  /** RFC: `max_pinned_vmids = NUM_USER_VMIDS - num_possible_cpus() - 2`. */
  readonly maxPinnedVmids: number;

  /** `vmid_generation`. */
  private vmidGeneration: number;
  /** `vmid_map`, one byte per index. */
  private readonly vmidMap: Uint8Array;
  /** RFC: `pinned_vmid_map`; null in mainline (the kernel's NULL map disables pinning). */
  private readonly pinnedVmidMap: Uint8Array | null;
  /** RFC: `nr_pinned_vmids`. */
  private nrPinned = 0;
  /** Per-CPU `active_vmids` and `reserved_vmids`, both zero at boot. */
  private readonly active: number[];
  private readonly reserved: number[];
  /** `new_vmid()`'s `static u32 cur_idx = 1`. */
  private curIdxValue = 1;
  /** Generation bumps so far (each one a `flush_context()`). */
  private flushes = 0;

  constructor(config: AllocatorConfig) {
    this.config = config;
    this.numUserVmids = 2 ** config.vmidBits;
    this.firstVersion = this.numUserVmids;
    this.maxPinnedVmids = this.numUserVmids - config.cpus - 2;
    this.vmidGeneration = this.firstVersion;
    this.vmidMap = new Uint8Array(this.numUserVmids);
    this.pinnedVmidMap = config.variant === 'mainline' ? null : new Uint8Array(this.numUserVmids);
    this.active = new Array<number>(config.cpus).fill(0);
    this.reserved = new Array<number>(config.cpus).fill(0);
  }

  /** `vmid_generation`. */
  get generation(): number {
    return this.vmidGeneration;
  }

  /** Per-CPU `active_vmids`, CPU 0 first. */
  get activeVmids(): readonly number[] {
    return this.active;
  }

  /** Per-CPU `reserved_vmids`, CPU 0 first. */
  get reservedVmids(): readonly number[] {
    return this.reserved;
  }

  /** RFC `nr_pinned_vmids` (0 in mainline). */
  get nrPinnedVmids(): number {
    return this.nrPinned;
  }

  /** Rollovers so far: generation bumps, each with its `flush_context()`. */
  get rollovers(): number {
    return this.flushes;
  }

  /** `new_vmid()`'s search start: the last index handed out. */
  get curIdx(): number {
    return this.curIdxValue;
  }

  /** A copy of `vmid_map`, one byte per index. */
  vmidMapCopy(): Uint8Array {
    return this.vmidMap.slice();
  }

  /** The indexes set in `pinned_vmid_map` (none in mainline). */
  pinnedIndexes(): number[] {
    const out: number[] = [];
    this.pinnedVmidMap?.forEach((bit, idx) => {
      if (bit === 1) out.push(idx);
    });
    return out;
  }

  /**
   * An independent copy of this host's allocator state, for replaying a stretch of the trace in
   * another order without touching this one (the replay's clock-skew search).
   */
  clone(): VmidAllocator {
    const copy = new VmidAllocator(this.config);
    copy.vmidGeneration = this.vmidGeneration;
    copy.vmidMap.set(this.vmidMap);
    if (this.pinnedVmidMap !== null) copy.pinnedVmidMap?.set(this.pinnedVmidMap);
    copy.nrPinned = this.nrPinned;
    for (let cpu = 0; cpu < this.config.cpus; cpu++) {
      copy.active[cpu] = this.active[cpu] ?? 0;
      copy.reserved[cpu] = this.reserved[cpu] ?? 0;
    }
    copy.curIdxValue = this.curIdxValue;
    copy.flushes = this.flushes;
    return copy;
  }

  /** The first `count` 64-bit words of a bitmap, as `bitmap_*` lays them out (bit 0 = index 0). */
  static bitmapWords(map: Uint8Array, count: number): bigint[] {
    const words: bigint[] = [];
    for (let w = 0; w < count; w++) {
      let word = 0n;
      for (let bit = 0; bit < 64; bit++) if (map[w * 64 + bit] === 1) word |= 1n << BigInt(bit);
      words.push(word);
    }
    return words;
  }

  /** `vmid2idx()`: the index bits of an id. */
  indexOf(id: number): number {
    return id % this.numUserVmids;
  }

  /** The generation number of an id, 1-based (`id >> bits`). */
  generationOf(id: number): number {
    return Math.floor(id / this.numUserVmids);
  }

  /** `vmid_gen_match()`: the id belongs to the current generation. */
  private genMatch(id: number): boolean {
    return Math.floor(id / this.numUserVmids) === Math.floor(this.vmidGeneration / this.numUserVmids);
  }

  /** `find_next_zero_bit(vmid_map, NUM_USER_VMIDS, start)`. */
  private findNextZero(start: number): number {
    for (let idx = start; idx < this.numUserVmids; idx++) if (this.vmidMap[idx] === 0) return idx;
    return this.numUserVmids;
  }

  /** `flush_context()`: restart the map (from the pinned map in the RFC) and reserve what each CPU runs. */
  private flushContext(): void {
    if (this.pinnedVmidMap !== null) this.vmidMap.set(this.pinnedVmidMap);
    else this.vmidMap.fill(0);
    for (let cpu = 0; cpu < this.config.cpus; cpu++) {
      let vmid = this.active[cpu] ?? 0;
      this.active[cpu] = 0;
      // Preserve reserved VMID
      if (vmid === 0) vmid = this.reserved[cpu] ?? 0;
      this.vmidMap[this.indexOf(vmid)] = 1;
      this.reserved[cpu] = vmid;
    }
    // kvm_call_hyp(__kvm_flush_vm_context): TLBI ALLE1IS, counted by the caller via `rollovers`.
  }

  /** `check_update_reserved_vmid()`: move every CPU's matching reservation to the new generation. */
  private checkUpdateReservedVmid(vmid: number, newVmid: number): boolean {
    let hit = false;
    for (let cpu = 0; cpu < this.config.cpus; cpu++) {
      if (this.reserved[cpu] === vmid) {
        hit = true;
        this.reserved[cpu] = newVmid;
      }
    }
    return hit;
  }

  /** `new_vmid()`; returns the id and which branch chose it. Called with the lock held. */
  private newVmid(kvmVmid: KvmVmid): { id: number; path: NewVmidPath } {
    const vmid = kvmVmid.id;
    let generation = this.vmidGeneration;
    if (vmid !== 0) {
      const newVmid = generation + this.indexOf(vmid);
      if (this.checkUpdateReservedVmid(vmid, newVmid)) {
        kvmVmid.id = newVmid;
        return { id: newVmid, path: 'reserved' };
      }
      // RFC: a pinned VM keeps its index; the new id is returned but *not stored* in
      // kvm_vmid->id, so the VM keeps an old-generation id and takes the slow path again.
      if (this.pinnedVmidMap !== null && kvmVmid.pinned > 0) return { id: newVmid, path: 'pinned' };
      const idx = this.indexOf(vmid);
      if (this.vmidMap[idx] === 0) {
        this.vmidMap[idx] = 1;
        kvmVmid.id = newVmid;
        return { id: newVmid, path: 'reuse' };
      }
    }
    let idx = this.findNextZero(this.curIdxValue);
    if (idx === this.numUserVmids) {
      // We're out of VMIDs, so increment the global generation count. (The search does not
      // wrap to the indexes below cur_idx first.)
      this.vmidGeneration += this.firstVersion;
      generation = this.vmidGeneration;
      this.flushes += 1;
      this.flushContext();
      idx = this.findNextZero(1);
    }
    this.vmidMap[idx] = 1;
    this.curIdxValue = idx;
    const id = generation + idx;
    kvmVmid.id = id;
    return { id, path: 'search' };
  }

  /** `kvm_arm_vmid_clear_active()`: the vCPU was put; keep the fast path, reserve nothing. */
  clearActive(cpu: number): void {
    this.active[cpu] = this.firstVersion; // VMID_ACTIVE_INVALID
  }

  /**
   * `kvm_arm_vmid_update()` on `cpu`. `idReadAtEntry` is the id the call read before taking
   * the lock, when it differs from the current one: a racing CPU updated the VM in between,
   * so this call fails the fast-path test and takes the lock, where it re-reads the id.
   */
  update(kvmVmid: KvmVmid, cpu: number, idReadAtEntry: number = kvmVmid.id): UpdateOutcome {
    const rolloversBefore = this.flushes;
    const oldActive = this.active[cpu] ?? 0;
    // Lock-free fast path: a CPU zeroed by a rollover (active 0) must take the lock.
    if (oldActive !== 0 && this.genMatch(idReadAtEntry) && idReadAtEntry === kvmVmid.id) {
      this.active[cpu] = kvmVmid.id;
      return this.updateOutcome(kvmVmid, cpu, rolloversBefore, false, undefined);
    }
    let vmid = kvmVmid.id;
    let path: NewVmidPath | undefined;
    if (!this.genMatch(vmid)) {
      const chosen = this.newVmid(kvmVmid);
      vmid = chosen.id;
      path = chosen.path;
    }
    this.active[cpu] = vmid;
    return this.updateOutcome(kvmVmid, cpu, rolloversBefore, true, path);
  }

  private updateOutcome(kvmVmid: KvmVmid, cpu: number, rolloversBefore: number, slow: boolean, path: NewVmidPath | undefined): UpdateOutcome {
    const activeId = this.active[cpu] ?? 0;
    return {
      activeId,
      vmid: this.indexOf(activeId),
      gen: this.generationOf(activeId),
      flushes: this.flushes - rolloversBefore,
      slow,
      idAfter: kvmVmid.id,
      path,
    };
  }

  /** RFC `kvm_arm_pinned_vmid_get()`. */
  pinGet(kvmVmid: KvmVmid): PinOutcome {
    const rolloversBefore = this.flushes;
    const outcome = (ret: number, exhausted: boolean): PinOutcome => ({
      ret,
      exhausted,
      flushes: this.flushes - rolloversBefore,
      idAfter: kvmVmid.id,
      nrPinned: this.nrPinned,
    });
    if (this.pinnedVmidMap === null) return outcome(0, true);
    let vmid = kvmVmid.id;
    if (kvmVmid.pinned > 0) {
      kvmVmid.pinned += 1; // refcount_inc_not_zero()
      return outcome(this.indexOf(vmid), false);
    }
    if (this.nrPinned >= this.maxPinnedVmids) {
      return outcome(this.config.variant === 'rfc-v3' ? -EINVAL : 0, true);
    }
    // A VM that went through rollovers since it last ran gets a current id first.
    if (!this.genMatch(vmid)) vmid = this.newVmid(kvmVmid).id;
    this.nrPinned += 1;
    this.pinnedVmidMap[this.indexOf(vmid)] = 1;
    kvmVmid.pinned = 1;
    return outcome(this.indexOf(vmid), false);
  }

  /** RFC `kvm_arm_pinned_vmid_put()`. */
  pinPut(kvmVmid: KvmVmid): UnpinOutcome {
    const vmid = this.indexOf(kvmVmid.id);
    if (this.pinnedVmidMap === null || kvmVmid.pinned === 0) {
      return { nrPinned: this.nrPinned, released: false, vmid };
    }
    kvmVmid.pinned -= 1;
    if (kvmVmid.pinned === 0) {
      this.pinnedVmidMap[vmid] = 0;
      this.nrPinned -= 1;
      return { nrPinned: this.nrPinned, released: true, vmid };
    }
    return { nrPinned: this.nrPinned, released: false, vmid };
  }
}
