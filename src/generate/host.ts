/**
 * The simulated host: the KVM VMID allocator (the replay's own model, `VmidAllocator`, so every
 * id a line records is what `arch/arm64/kvm/vmid.c` computes), the CPUs and what runs on
 * them, the VMs, and the SMMUs' stream tables and VMID allocators. Each operation prints the
 * lines the documented probes print for it (docs/trace-format.md) and returns their line
 * numbers, which is how fault episodes know where the analyzer must report them.
 */
import { flushSnapshotAfter, type FlushSnapshot } from '../replay/models/flushSnapshot.js';
import { VmidAllocator, newKvmVmid, type KvmVmid, type PinOutcome, type UpdateOutcome } from '../model/vmidAllocator.js';
import type { SteConfig } from '../events/smmuEvents.js';
import { Capture61Probes } from './capture61.js';
import { kfn, type LineSource } from './lineFormat.js';
import type { GenerateOptions, SmmuSpec } from './options.js';
import type { Prng } from './prng.js';
import type { TraceSink } from './traceSink.js';

/** A device's stream table entry: sharing its VM's pinned KVM VMID, or in an SMMU domain. */
export interface Device {
  readonly smmu: SimSmmu;
  readonly sid: number;
  readonly vmid: number;
  readonly domain: OwnDomain | undefined;
}

/** An SMMU stage-2 domain on a VMID from the SMMU's own IDA. */
export interface OwnDomain {
  readonly smmu: SimSmmu;
  readonly vmid: number;
  readonly sids: number[];
}

export class SimVm {
  readonly kvmVmid: KvmVmid = newKvmVmid();
  /** Per vCPU, the CPU it is loaded on, or -1. */
  readonly vcpuCpu: number[];
  readonly devices: Device[] = [];

  constructor(
    readonly slot: number,
    /** `struct kvm *` and `&kvm->arch.mmu` (the `struct kvm_vmid *` every allocator probe prints). */
    readonly kvm: string,
    readonly mmu: string,
    readonly qemuPid: number,
    vcpus: number,
    public loadsLeft: number,
    public wantsDevices: number,
  ) {
    this.vcpuCpu = new Array<number>(vcpus).fill(-1);
  }

  loadedCpus(): number[] {
    return this.vcpuCpu.filter((cpu) => cpu >= 0);
  }
}

export class SimSmmu {
  /** VMIDs allocated from this SMMU's IDA. */
  readonly ownVmids = new Set<number>();
  /** KVM VMIDs installed in this SMMU's STEs, with how many STEs carry each. */
  readonly kvmShared = new Map<number, number>();
  private nextSid: number;
  private readonly freeSids: number[] = [];

  constructor(
    readonly spec: SmmuSpec,
    sidBase: number,
  ) {
    this.nextSid = sidBase;
  }

  get name(): string {
    return this.spec.name;
  }

  allocSid(): number {
    if (this.freeSids.length === 0) return this.nextSid++;
    this.freeSids.sort((a, b) => a - b);
    return this.freeSids.shift() as number;
  }

  releaseSid(sid: number): void {
    this.freeSids.push(sid);
  }

  /**
   * `ida_alloc_range(&smmu->vmid_map, 1, ...)`: the lowest free VMID. On an SMMU that also
   * carries KVM VMIDs the domain's VMIDs must be disjoint from them, so VMIDs KVM has
   * installed here are skipped as well.
   */
  lowestFreeOwnVmid(): number {
    for (let vmid = 1; vmid < 2 ** this.spec.vmidBits; vmid++) if (!this.ownVmids.has(vmid) && !this.kvmShared.has(vmid)) return vmid;
    throw new RangeError(`SMMU ${this.name} has no free VMID`);
  }

  /** Whether the IDA has `count` VMIDs left (tiny test widths run out). */
  hasFreeOwnVmids(count: number): boolean {
    let free = 0;
    for (let vmid = 1; vmid < 2 ** this.spec.vmidBits && free < count; vmid++) if (!this.ownVmids.has(vmid) && !this.kvmShared.has(vmid)) free++;
    return free >= count;
  }

  /** A KVM VMID cannot go into an STE here while a domain of this SMMU uses the same number. */
  collides(kvmVmid: number): boolean {
    return this.ownVmids.has(kvmVmid);
  }

  share(vmid: number, delta: 1 | -1): void {
    const count = (this.kvmShared.get(vmid) ?? 0) + delta;
    if (count > 0) this.kvmShared.set(vmid, count);
    else this.kvmShared.delete(vmid);
  }
}

export interface RunningVcpu {
  readonly vm: SimVm;
  readonly vcpu: number;
  /** The hardware VMID it entered with. */
  readonly vmid: number;
}

export interface LoadResult {
  readonly outcome: UpdateOutcome;
  readonly entryLine: number | undefined;
  readonly returnLine: number | undefined;
  /** The line the analyzer replays the call at: the rollover's in-lock probe when there is one, else the return. */
  readonly decisionLine: number | undefined;
}

/** Lines that record something other than what the kernel computed (`wrong-recorded-id`). */
export interface Misrecord {
  readonly idBefore?: boolean;
  readonly idAfter?: boolean;
}

const kworker = { task: 'kworker/u16:1', pid: 97 };
/** Freed `struct kvm` addresses kept for reuse, at most. */
const maxFreeSlots = 64;

/** A wrong id that can never be mistaken for a racing CPU's earlier one: the low bit flipped. */
export function misrecorded(value: number): number {
  return value % 2 === 0 ? value + 1 : value - 1;
}

export class SimHost {
  readonly allocator: VmidAllocator;
  readonly cpus: (RunningVcpu | undefined)[];
  readonly smmus: SimSmmu[];
  private slots = 0;
  private readonly freeSlots: number[] = [];
  private vmSerial = 0;
  /** The 6.1 captures' probes (`--probes capture-6.1`), printed instead of the documented events. */
  private readonly capture: Capture61Probes | undefined;

  constructor(
    readonly options: GenerateOptions,
    readonly sink: TraceSink,
    private readonly prng: Prng,
  ) {
    this.allocator = new VmidAllocator({ vmidBits: options.vmidBits, cpus: options.cpus, variant: options.variant });
    this.cpus = new Array<RunningVcpu | undefined>(options.cpus).fill(undefined);
    this.smmus = options.smmus.map((spec, i) => new SimSmmu(spec, 0x100 * (i + 1)));
    this.capture = options.probes === 'capture-6.1' ? new Capture61Probes(sink, prng, this.allocator) : undefined;
  }

  /** Lines a put writes, and a VM's destruction, at most (for `--size` to stop early enough). */
  get linesPerPut(): number {
    return this.capture === undefined ? 1 : 3;
  }

  get linesPerDestroy(): number {
    return this.capture === undefined ? 1 : 2;
  }

  private vcpuSource(vm: SimVm, vcpu: number, cpu: number): LineSource {
    return { task: `CPU ${vcpu}/KVM`, pid: vm.qemuPid + 1 + vcpu, tgid: vm.qemuPid, cpu, irqsOff: true };
  }

  private vmmSource(vm: SimVm, cpu: number): LineSource {
    return { task: 'qemu-system-aar', pid: vm.qemuPid, tgid: vm.qemuPid, cpu, irqsOff: true, hostThread: true };
  }

  /** VMM or driver work happens on a CPU with no vCPU loaded: a loaded vCPU would have been put first. */
  hostSource(vm: SimVm | undefined, avoid: readonly number[] = []): LineSource {
    const cpu = this.idleCpu(avoid);
    return vm === undefined ? { ...kworker, tgid: kworker.pid, cpu, irqsOff: true, hostThread: true } : this.vmmSource(vm, cpu);
  }

  /** An idle CPU not in `avoid`; when every one is busy, one of them puts its vCPU first. */
  idleCpu(avoid: readonly number[] = []): number {
    const allowed = this.cpus.map((_, cpu) => cpu).filter((cpu) => !avoid.includes(cpu));
    if (allowed.length === 0) throw new RangeError('no CPU left to run on');
    const idle = allowed.filter((cpu) => this.cpus[cpu] === undefined);
    if (idle.length > 0) return this.prng.pick(idle);
    const cpu = this.prng.pick(allowed);
    this.put(cpu);
    return cpu;
  }

  // ---- VMs and the allocator ---------------------------------------------------------

  /** `kvm_init_stage2_mmu()`: a VM's stage 2 starts its life (id 0). Freed `struct kvm`s are reused, as the slab does. */
  createVm(vcpus: number, loads: number, wantsDevices: number): SimVm {
    // Half the time a fresh address; always a freed one once many are waiting, so the list (and
    // the address range) stays bounded over a run of any length.
    const reuse = this.freeSlots.length >= maxFreeSlots || (this.freeSlots.length > 0 && this.prng.chance(0.5));
    const slot = reuse ? (this.freeSlots.shift() as number) : this.slots++;
    const kvm = 0xffff000010000000n + BigInt(slot) * 0x4000n;
    this.vmSerial += 1;
    const vm = new SimVm(slot, `0x${kvm.toString(16)}`, `0x${(kvm + 0x9c8n).toString(16)}`, 2000 + ((this.vmSerial * 16) % 90000), vcpus, loads, wantsDevices);
    if (this.capture !== undefined) this.capture.vmCreated(this.hostSource(vm), vm);
    else this.sink.event(this.hostSource(vm), 'vm_create', `${this.sink.formatter.location(kfn.initStage2)} kvm=${vm.kvm} mmu=${vm.mmu}`);
    return vm;
  }

  /** `kvm_free_stage2_pgd()`; the VM must have no vCPU loaded. */
  destroyVm(vm: SimVm, misrecord = false): number | undefined {
    if (vm.loadedCpus().length > 0) throw new Error('internal: destroying a VM with a loaded vCPU');
    const id = misrecord ? misrecorded(vm.kvmVmid.id) : vm.kvmVmid.id;
    const line =
      this.capture !== undefined
        ? this.capture.vmDestroyed(this.hostSource(vm), vm, id)
        : this.sink.event(this.hostSource(vm), 'vm_destroy', `${this.sink.formatter.location(kfn.freeStage2)} mmu=${vm.mmu} id=${id}`);
    this.freeSlots.push(vm.slot);
    return line;
  }

  /** `kvm_arch_vcpu_load()` -> `kvm_arm_vmid_update()`: entry and return probes on `cpu`. */
  load(vm: SimVm, vcpu: number, cpu: number, misrecord: Misrecord = {}): LoadResult {
    if (this.cpus[cpu] !== undefined || (vm.vcpuCpu[vcpu] ?? 0) >= 0) throw new Error('internal: load on a busy CPU or of a loaded vCPU');
    const source = this.vcpuSource(vm, vcpu, cpu);
    if (this.capture !== undefined) {
      this.startVcpu(vm, vcpu, cpu);
      return this.runLoopUpdate(this.capture, vm, vcpu, cpu);
    }
    const before = vm.kvmVmid.id;
    const outcome = this.allocator.update(vm.kvmVmid, cpu);
    const { formatter } = this.sink;
    const entryLine = this.sink.event(source, 'vmid_update', `${formatter.location(kfn.vmidUpdate)} kvm_vmid=${vm.mmu} id=${misrecord.idBefore === true ? misrecorded(before) : before}`);
    const probeLine = this.sink.skewed && outcome.flushes > 0 ? this.rolloverProbe(source, vm, flushSnapshotAfter(this.allocator, outcome.vmid)) : undefined;
    const after = misrecord.idAfter === true ? misrecorded(outcome.idAfter) : outcome.idAfter;
    const returnLine = this.sink.event(source, 'vmid_update_ret', `${formatter.returnLocation(kfn.vcpuLoad, kfn.vmidUpdate)} kvm_vmid=${vm.mmu} id=${after}`);
    this.cpus[cpu] = { vm, vcpu, vmid: outcome.vmid };
    vm.vcpuCpu[vcpu] = cpu;
    return { outcome, entryLine, returnLine, decisionLine: probeLine ?? returnLine };
  }

  /**
   * The workload's load of a vCPU that runs on: with the documented probes `load()`; with the
   * 6.1 captures' only `vcpu_load`, since 6.1 updates the VMID at each guest entry of the
   * KVM_RUN loop (`vcpuNoise()`, which the workload calls next), not at the load.
   */
  startVcpu(vm: SimVm, vcpu: number, cpu: number): void {
    if (this.capture === undefined) {
      this.load(vm, vcpu, cpu);
      return;
    }
    if (this.cpus[cpu] !== undefined || (vm.vcpuCpu[vcpu] ?? 0) >= 0) throw new Error('internal: load on a busy CPU or of a loaded vCPU');
    this.capture.vcpuLoaded(this.vcpuSource(vm, vcpu, cpu), vm, vcpu);
    vm.vcpuCpu[vcpu] = cpu;
    this.cpus[cpu] = { vm, vcpu, vmid: this.allocator.indexOf(vm.kvmVmid.id) };
  }

  /** One guest entry of 6.1's KVM_RUN loop: `kvm_arm_vmid_update()` runs before each. */
  private runLoopUpdate(capture: Capture61Probes, vm: SimVm, vcpu: number, cpu: number): LoadResult {
    const before = vm.kvmVmid.id;
    const outcome = this.allocator.update(vm.kvmVmid, cpu);
    const lines = capture.updated(this.vcpuSource(vm, vcpu, cpu), vm, vcpu, before, outcome);
    this.cpus[cpu] = { vm, vcpu, vmid: outcome.vmid };
    return { outcome, ...lines };
  }

  /**
   * The in-lock probe right after `flush_context()` that the full 6.1 captures have: the new
   * generation, every CPU's reservation and the start of `vmid_map`. A trace whose CPUs' clocks
   * disagree needs it: only there does the kernel record which CPUs were running what when it
   * flushed, so a put stamped on the wrong side of the rollover can be put right.
   */
  private rolloverProbe(source: LineSource, vm: SimVm, flush: FlushSnapshot): number | undefined {
    const words = VmidAllocator.bitmapWords(flush.map, Math.min(4, Math.ceil(this.allocator.numUserVmids / 64))).map((word) => `0x${word.toString(16)}`);
    const body = `${this.sink.formatter.location(kfn.afterFlushContext)} kvm_vmid=${vm.mmu} newgen=${flush.generation} res={${flush.reserved.join(',')}} map={${words.join(',')}}`;
    return this.sink.event(source, 'vmid_update_decision', body);
  }

  /** `kvm_arch_vcpu_put()` ends with `kvm_arm_vmid_clear_active()`. */
  put(cpu: number): number | undefined {
    const running = this.cpus[cpu];
    if (running === undefined) throw new Error('internal: put on an idle CPU');
    this.allocator.clearActive(cpu);
    const source = this.vcpuSource(running.vm, running.vcpu, cpu);
    const line = this.capture !== undefined ? this.capture.vcpuPut(source, running.vm, running.vcpu) : this.sink.event(source, 'vmid_clear_active', this.sink.formatter.location(kfn.clearActive));
    this.cpus[cpu] = undefined;
    running.vm.vcpuCpu[running.vcpu] = -1;
    return line;
  }

  /** The VMM stops every vCPU of the VM (before a hot-plug, a detach or the teardown). */
  pauseVm(vm: SimVm): void {
    for (const cpu of vm.loadedCpus()) this.put(cpu);
  }

  /** `kvm_arm_pinned_vmid_get()`, entry and return; `line` is the return's (the decision). */
  pin(vm: SimVm, misrecord = false, avoid: readonly number[] = []): { outcome: PinOutcome; line: number | undefined } {
    const source = this.hostSource(vm, avoid);
    const { formatter } = this.sink;
    this.sink.event(source, 'vmid_pin', `${formatter.location(kfn.pinGet)} kvm_vmid=${vm.mmu}`);
    const outcome = this.allocator.pinGet(vm.kvmVmid);
    const ret = misrecord ? misrecorded(outcome.ret) : outcome.ret;
    const line = this.sink.event(source, 'vmid_pin_ret', `${formatter.returnLocation(kfn.viommuAlloc, kfn.pinGet)} kvm_vmid=${vm.mmu} ret=${ret}`);
    return { outcome, line };
  }

  /** `kvm_arm_pinned_vmid_put()`. */
  unpin(vm: SimVm, avoid: readonly number[] = []): number | undefined {
    this.allocator.pinPut(vm.kvmVmid);
    return this.sink.event(this.hostSource(vm, avoid), 'vmid_unpin', `${this.sink.formatter.location(kfn.pinPut)} kvm_vmid=${vm.mmu}`);
  }

  // ---- SMMUs --------------------------------------------------------------------------

  /**
   * `arm_smmu_write_ste()`, decoded. `shared`: the VM whose KVM VMID the STE carries (`vm=`);
   * `actor`: whose VMM thread does it (undefined: a kernel worker, for the host's own domains).
   */
  ste(smmu: SimSmmu, sid: number, config: SteConfig, s2vmid: number, shared: SimVm | undefined, actor: SimVm | undefined, avoid: readonly number[] = []): number | undefined {
    const body = `smmu=${smmu.name} sid=${sid} cfg=${config} s2vmid=${s2vmid}${shared === undefined ? '' : ` vm=${shared.mmu}`}`;
    return this.sink.event(this.hostSource(actor, avoid), 'smmu_ste', body);
  }

  /** Commands issued to `smmu`'s queue from one CPU, one line each (`op=TLBI_S12_VMALL vmid=5`, ...). */
  commands(smmu: SimSmmu, commands: readonly string[], actor: SimVm | undefined, avoid: readonly number[] = []): void {
    const source = this.hostSource(actor, avoid);
    for (const command of commands) this.sink.event(source, 'smmu_cmd', `smmu=${smmu.name} op=${command}`);
  }

  /** A domain of the SMMU's own: a VMID from its IDA and a stage-2 STE per SID, each made visible with CFGI_STE. */
  createDomain(smmu: SimSmmu, sids: number, vm?: SimVm): { domain: OwnDomain; steLines: (number | undefined)[] } {
    const vmid = this.allocOwnVmid(smmu, vm);
    const domain: OwnDomain = { smmu, vmid, sids: [] };
    const steLines: (number | undefined)[] = [];
    for (let i = 0; i < sids; i++) {
      const sid = smmu.allocSid();
      domain.sids.push(sid);
      steLines.push(this.ste(smmu, sid, 's2', vmid, undefined, vm));
      this.commands(smmu, [`CFGI_STE sid=${sid}`], vm);
    }
    this.commands(smmu, ['CMD_SYNC'], vm);
    return { domain, steLines };
  }

  /**
   * Tears a domain down: every STE to abort (+ CFGI_STE), then CMD_TLBI_S12_VMALL of its VMID
   * and a sync, then the VMID goes back to the IDA (`arm_smmu_domain_free()`'s order).
   * `invalidate: false` is the `missing-s12-vmall` fault. Returns the free's line.
   */
  destroyDomain(domain: OwnDomain, invalidate = true, vm?: SimVm): number | undefined {
    const { smmu } = domain;
    for (const sid of domain.sids) {
      this.ste(smmu, sid, 'abort', 0, undefined, vm);
      this.commands(smmu, [`CFGI_STE sid=${sid}`], vm);
      smmu.releaseSid(sid);
    }
    this.commands(smmu, invalidate ? [`TLBI_S12_VMALL vmid=${domain.vmid}`, 'CMD_SYNC'] : ['CMD_SYNC'], vm);
    return this.freeOwnVmid(smmu, domain.vmid, vm);
  }

  /** `ida_alloc_range()` on the SMMU's VMID map (`arm_smmu_domain_finalise_s2()`). */
  allocOwnVmid(smmu: SimSmmu, actor: SimVm | undefined): number {
    const vmid = smmu.lowestFreeOwnVmid();
    smmu.ownVmids.add(vmid);
    this.sink.event(this.hostSource(actor), 'smmu_vmid_alloc', `smmu=${smmu.name} vmid=${vmid}`);
    return vmid;
  }

  /** `ida_free()`: the VMID goes back to the SMMU's IDA; returns the line. */
  freeOwnVmid(smmu: SimSmmu, vmid: number, actor: SimVm | undefined): number | undefined {
    smmu.ownVmids.delete(vmid);
    return this.sink.event(this.hostSource(actor), 'smmu_vmid_free', `smmu=${smmu.name} vmid=${vmid}`);
  }

  /** Binds a device to the VM's KVM VMID `vmid` (already pinned, unless a fault says otherwise). */
  shareKvmVmid(vm: SimVm, smmu: SimSmmu, vmid: number, avoid: readonly number[] = []): { device: Device; steLine: number | undefined } {
    const sid = smmu.allocSid();
    const steLine = this.ste(smmu, sid, 'nested', vmid, vm, vm, avoid);
    this.commands(smmu, [`CFGI_STE sid=${sid}`, 'CMD_SYNC'], vm, avoid);
    smmu.share(vmid, 1);
    const device: Device = { smmu, sid, vmid, domain: undefined };
    vm.devices.push(device);
    return { device, steLine };
  }

  /** Detaches a KVM-VMID device in the safe order: STE to abort, CFGI_STE, TLBI_S12_VMALL, sync (the unpin is the caller's). */
  unshareKvmVmid(vm: SimVm, device: Device, avoid: readonly number[] = []): void {
    const { smmu, sid, vmid } = device;
    this.ste(smmu, sid, 'abort', 0, undefined, vm, avoid);
    this.commands(smmu, [`CFGI_STE sid=${sid}`, `TLBI_S12_VMALL vmid=${vmid}`, 'CMD_SYNC'], vm, avoid);
    smmu.share(vmid, -1);
    smmu.releaseSid(sid);
    vm.devices.splice(vm.devices.indexOf(device), 1);
  }

  // ---- background noise ---------------------------------------------------------------

  /** A look at a CPU that has nothing to run: the 6.1 captures' scheduler lines there; nothing otherwise. */
  idleLook(cpu: number): void {
    if (this.capture !== undefined && this.cpus[cpu] === undefined) this.capture.idle(cpu);
  }

  /** What a running vCPU leaves in a trace besides the allocator: exits, and now and then a stage-2 unmap's TLBI. */
  vcpuNoise(cpu: number): void {
    const running = this.cpus[cpu];
    if (running === undefined) return;
    const { capture } = this;
    if (capture !== undefined) {
      for (let i = 0; i < this.options.noise; i++) this.runLoopUpdate(capture, running.vm, running.vcpu, cpu);
      return;
    }
    const source = { ...this.vcpuSource(running.vm, running.vcpu, cpu), irqsOff: false };
    for (let i = 0; i < this.options.noise; i++) {
      const pc = `0x${(0x40000000 + this.prng.int(0, 0xfffff) * 4).toString(16).padStart(16, '0')}`;
      this.sink.event({ ...source, irqsOff: true }, 'kvm_entry', `PC: ${pc}`);
      this.sink.event(source, 'kvm_exit', `TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: ${pc}`);
    }
    if (this.prng.chance(0.05)) {
      const ipa = 0x80000000 + this.prng.int(0, 0xffff) * 0x1000;
      this.sink.event(source, 'cpu_tlbi_ipa', `${this.sink.formatter.location(kfn.tlbFlushIpa)} mmu=${running.vm.mmu} vmid=${running.vmid} ipa=0x${ipa.toString(16)} level=3`);
    } else if (this.prng.chance(0.01)) {
      this.sink.event(source, 'cpu_tlbi_vmid', `${this.sink.formatter.location(kfn.tlbFlushVmid)} mmu=${running.vm.mmu} vmid=${running.vmid}`);
    }
  }

  /** A scheduler line for an idle CPU (used to pad a trace to its target size). */
  idleNoise(cpu: number): void {
    if (this.capture !== undefined) {
      this.capture.idle(cpu);
      return;
    }
    const source = { task: '<idle>', pid: 0, tgid: 0, cpu, irqsOff: true };
    this.sink.event(source, 'sched_switch', `prev_comm=swapper/${cpu} prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=swapper/${cpu} next_pid=0 next_prio=120`);
  }
}
