/**
 * The background: a host doing its job correctly. VMs come and go, their vCPUs are loaded and
 * put on CPUs (one CPU per vCPU at a time; two vCPUs of a VM may run at once), some VMs get
 * devices, and the host keeps DMA domains of its own on the SMMUs. Every SMMU step that the
 * checks expect is taken:
 *
 * - a device shares a KVM VMID only after `kvm_arm_pinned_vmid_get()` pinned it, on an SMMU
 *   whose VMID width is KVM's (`role kvm`); without pinning (mainline, or no such SMMU) the
 *   SMMU gives the device a domain on a VMID of its own;
 * - an STE write is followed by CMD_CFGI_STE and CMD_SYNC;
 * - detach: STE to abort, CMD_CFGI_STE, CMD_TLBI_S12_VMALL of the VMID, CMD_SYNC, and only
 *   then the unpin, or the VMID's return to the IDA;
 * - an SMMU's own VMIDs are disjoint from the KVM VMIDs installed on it: the IDA skips those,
 *   and a pinned VMID that an SMMU domain holds is not installed (the attach is refused);
 * - devices are attached and detached while the VM's vCPUs are put (the VMM pauses the VM).
 *   That also keeps RFC v2 from splitting a VM over two VMIDs: a pinned VM whose id a rollover
 *   left stale, unpinned while a vCPU is loaded, would get a second VMID at its next load;
 * - the workload never asks for more pins than `max_pinned_vmids`;
 * - at the end everything is torn down in that order, so no pin is held when the trace ends.
 */
import type { GenerateOptions, IntRange } from './options.js';
import type { Prng } from './prng.js';
import type { Device, OwnDomain, SimHost, SimVm } from './host.js';

/** Lines the teardown of one live object takes at most (used to stop early enough for `--size`). */
const linesPerDeviceDetach = 6;
const linesPerDomainSid = 2;

export class Workload {
  private readonly live: SimVm[] = [];
  private readonly hostDomains: OwnDomain[] = [];
  created = 0;
  retired = 0;

  constructor(
    private readonly host: SimHost,
    private readonly prng: Prng,
    private readonly options: GenerateOptions,
  ) {}

  get liveVms(): readonly SimVm[] {
    return this.live;
  }

  /** Without a size target: every VM has been created and has finished. */
  done(): boolean {
    return this.created >= this.options.vms && this.live.length === 0;
  }

  private randomIn(range: IntRange): number {
    return this.prng.int(range.min, range.max);
  }

  /** One scheduling decision, and now and then a VM's or a device's life event. */
  step(mayCreate: boolean): void {
    const { prng, options } = this;
    if (mayCreate && this.live.length < options.concurrent && (this.live.length === 0 || prng.chance(0.2))) this.createVm();
    const retiring = this.live.find((vm) => vm.loadsLeft <= 0);
    if (retiring !== undefined) this.teardown(retiring);
    if (prng.chance(0.08)) {
      const wanting = this.live.filter((vm) => vm.devices.length < vm.wantsDevices);
      if (wanting.length > 0) this.attachDevice(prng.pick(wanting));
    }
    if (prng.chance(0.01)) {
      const withDevices = this.live.filter((vm) => vm.devices.length > 0);
      if (withDevices.length > 0) {
        // Hot-unplug: the device goes, the VM runs on without it (and may get one again).
        const vm = prng.pick(withDevices);
        this.host.pauseVm(vm);
        this.detachDevice(vm, prng.pick(vm.devices));
      }
    }
    if (this.host.smmus.length > 0 && options.hostDomains > 0 && prng.chance(0.03)) this.churnHostDomain();
    this.schedule(prng.int(0, options.cpus - 1));
  }

  private createVm(): void {
    const { options } = this;
    const devices = this.host.smmus.length > 0 && this.prng.chance(options.deviceVms) ? this.randomIn(options.devices) : 0;
    this.live.push(this.host.createVm(this.randomIn(options.vcpus), this.randomIn(options.lifetime), devices));
    this.created += 1;
  }

  /** The CPU's vCPU runs on, is preempted (and maybe replaced), or an idle CPU takes a runnable vCPU. */
  private schedule(cpu: number): void {
    const running = this.host.cpus[cpu];
    if (running !== undefined && !this.prng.chance(this.options.churn)) {
      this.host.vcpuNoise(cpu);
      return;
    }
    if (running !== undefined) {
      this.host.put(cpu);
      if (this.prng.chance(0.5)) return;
    }
    const runnable = this.live.filter((vm) => vm.loadsLeft > 0 && vm.vcpuCpu.includes(-1));
    if (runnable.length === 0) {
      this.host.idleLook(cpu);
      return;
    }
    const vm = this.prng.pick(runnable);
    const vcpus = vm.vcpuCpu.flatMap((loadedOn, vcpu) => (loadedOn < 0 ? [vcpu] : []));
    this.host.startVcpu(vm, this.prng.pick(vcpus), cpu);
    vm.loadsLeft -= 1;
    this.host.vcpuNoise(cpu);
  }

  private attachDevice(vm: SimVm): void {
    const { host } = this;
    const kvmSmmus = host.smmus.filter((smmu) => smmu.spec.role === 'kvm');
    host.pauseVm(vm);
    if (kvmSmmus.length === 0) {
      // No SMMU shares KVM VMIDs: the SMMU gives the device a stage-2 domain on a VMID of its own.
      const smmus = host.smmus.filter((smmu) => smmu.hasFreeOwnVmids(1));
      if (smmus.length === 0) {
        vm.wantsDevices = vm.devices.length; // every SMMU VMID is taken: this VM does without
        return;
      }
      const smmu = this.prng.pick(smmus);
      const { domain } = host.createDomain(smmu, 1, vm);
      vm.devices.push({ smmu, sid: domain.sids[0] as number, vmid: domain.vmid, domain });
      return;
    }
    const smmu = this.prng.pick(kvmSmmus);
    const allocator = host.allocator;
    if (vm.kvmVmid.pinned === 0 && allocator.nrPinnedVmids >= allocator.maxPinnedVmids) {
      vm.wantsDevices = vm.devices.length; // the pool is full: this VM does without
      return;
    }
    const { outcome } = host.pin(vm);
    if (outcome.exhausted) throw new Error('internal: a background pin was refused');
    if (smmu.collides(outcome.ret)) {
      // An SMMU domain holds that VMID number here: installing it would alias the two. Refuse.
      host.unpin(vm);
      vm.wantsDevices = vm.devices.length;
      return;
    }
    host.shareKvmVmid(vm, smmu, outcome.ret);
  }

  /** The VM must be paused (no vCPU loaded). */
  private detachDevice(vm: SimVm, device: Device): void {
    if (device.domain !== undefined) {
      this.host.destroyDomain(device.domain, true, vm);
      vm.devices.splice(vm.devices.indexOf(device), 1);
      return;
    }
    this.host.unshareKvmVmid(vm, device);
    this.host.unpin(vm);
  }

  private teardown(vm: SimVm): void {
    this.host.pauseVm(vm);
    while (vm.devices.length > 0) this.detachDevice(vm, vm.devices[vm.devices.length - 1] as Device);
    this.host.destroyVm(vm);
    this.live.splice(this.live.indexOf(vm), 1);
    this.retired += 1;
  }

  private churnHostDomain(): void {
    const { host, prng } = this;
    const smmus = host.smmus.filter((smmu) => smmu.hasFreeOwnVmids(1));
    if (this.hostDomains.length < this.options.hostDomains && smmus.length > 0 && (this.hostDomains.length === 0 || prng.chance(0.5))) {
      this.hostDomains.push(host.createDomain(prng.pick(smmus), prng.int(1, 2)).domain);
    } else if (this.hostDomains.length > 0) {
      const domain = prng.pick(this.hostDomains);
      host.destroyDomain(domain);
      this.hostDomains.splice(this.hostDomains.indexOf(domain), 1);
    }
  }

  /** Everything down, in the safe order: no vCPU loaded, no device attached, no pin held, no domain left. */
  teardownAll(): void {
    while (this.live.length > 0) this.teardown(this.live[0] as SimVm);
    while (this.hostDomains.length > 0) this.host.destroyDomain(this.hostDomains.pop() as OwnDomain);
  }

  /** An upper bound on the lines `teardownAll()` would write now. */
  teardownLines(): number {
    let lines = 0;
    for (const vm of this.live) lines += vm.loadedCpus().length * this.host.linesPerPut + vm.devices.length * linesPerDeviceDetach + this.host.linesPerDestroy;
    for (const domain of this.hostDomains) lines += domain.sids.length * linesPerDomainSid + 3;
    return lines;
  }
}
