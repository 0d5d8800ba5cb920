/**
 * Fault episodes: each injected hazard is a short scripted scene, written between two
 * background steps, that does exactly one thing wrong and undoes everything else before it
 * ends (its VMs are destroyed, its STEs cleared and invalidated, its pins dropped unless the
 * leak is the fault). So the background stays correct, one episode cannot hide or double
 * another's finding, and the episode knows the line the analyzer must report it at: the
 * line its own host operation returned.
 */
import type { PinVariant } from '../events/traceEvents.js';
import { divergenceKindsFor, faultCatalog, type FaultKind } from './faults.js';
import type { SimHost, SimSmmu, SimVm } from './host.js';
import type { GenerateOptions } from './options.js';
import type { Prng } from './prng.js';

export interface ExpectedFinding {
  readonly check: string;
  /** null when a lost-event burst swallowed the line (the hazard is then inconclusive anyway). */
  readonly line: number | null;
}

export interface InjectedHazard {
  readonly fault: FaultKind;
  readonly expected: readonly ExpectedFinding[];
  /** The episode's first and last line. */
  readonly firstLine: number;
  readonly lastLine: number;
  readonly detail: string;
}

interface EpisodeResult {
  readonly lines: readonly (number | undefined)[];
  readonly detail: string;
}

function internal(message: string): Error {
  return new Error(`internal: generator episode ${message}`);
}

export class FaultInjector {
  private divergencesUsed = 0;
  private readonly widthSmmusUsed = new Set<string>();

  constructor(
    private readonly host: SimHost,
    private readonly prng: Prng,
    private readonly options: GenerateOptions,
  ) {}

  /** Whether another injection of `kind` would still be reported (some checks report once). */
  hasCapacity(kind: FaultKind): boolean {
    switch (kind) {
      case 'wrong-recorded-id': {
        const next = divergenceKindsFor(this.options.variant)[this.divergencesUsed];
        return next !== undefined && (next !== 'pin-ret' || this.pinRoom());
      }
      case 'width-mismatch':
        return this.widthSmmus().length > 0 && this.pinRoom();
      case 'leak-pin':
      case 'early-unpin':
      case 'stale-unpin-two-vmids':
        return this.pinRoom();
      case 'missing-s12-vmall':
        return this.domainSmmus(1).length > 0;
      case 'ste-switch-no-inval':
        return this.domainSmmus(2).length > 0;
      case 'ste-vmid-zero':
      case 'pin-exhausted':
      case 'unpinned-share':
        return true;
    }
  }

  /** Why `hasCapacity(kind)` says no, for the sidecar and stderr. */
  blockedReason(kind: FaultKind): string {
    if (kind === 'width-mismatch' && this.widthSmmus().length === 0) return 'every SMMU of another VMID width has had its (one) finding';
    if (kind === 'missing-s12-vmall' || kind === 'ste-switch-no-inval') return 'no SMMU has a free VMID left in its IDA';
    if (kind === 'wrong-recorded-id' && divergenceKindsFor(this.options.variant)[this.divergencesUsed] === undefined) return 'every divergence kind has had its (one) finding';
    return 'no room in the pinned VMID pool (leaked pins fill it for good)';
  }

  /** Room for one more pin (leaked pins shrink the pool for good); a refused pin would be another hazard. */
  private pinRoom(): boolean {
    const { allocator } = this.host;
    return this.options.variant === 'mainline' || allocator.nrPinnedVmids < allocator.maxPinnedVmids;
  }

  /**
   * Writes the episode; undefined when it had to give up before doing anything wrong (what it
   * wrote is then correct on its own: VMs that ran and were destroyed).
   */
  inject(kind: FaultKind): InjectedHazard | undefined {
    const firstLine = this.host.sink.lines + 1;
    const result = this.run(kind);
    if (result === undefined) return undefined;
    const checks = faultCatalog[kind].checks(this.options.variant);
    if (checks.length !== result.lines.length) throw internal(`${kind} produced ${result.lines.length} lines for ${checks.length} checks`);
    const expected = checks.map((check, i) => ({ check, line: result.lines[i] ?? null }));
    return { fault: kind, expected, firstLine, lastLine: this.host.sink.lines, detail: result.detail };
  }

  private run(kind: FaultKind): EpisodeResult | undefined {
    switch (kind) {
      case 'missing-s12-vmall':
        return this.missingS12Vmall();
      case 'ste-vmid-zero':
        return this.steVmidZero();
      case 'pin-exhausted':
        return this.pinExhausted(this.options.variant);
      case 'unpinned-share':
        return this.unpinnedShare();
      case 'leak-pin':
        return this.leakPin();
      case 'early-unpin':
        return this.earlyUnpin();
      case 'stale-unpin-two-vmids':
        return this.staleUnpinTwoVmids();
      case 'width-mismatch':
        return this.widthMismatch();
      case 'ste-switch-no-inval':
        return this.steSwitchNoInval();
      case 'wrong-recorded-id':
        return this.wrongRecordedId();
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  /** A VM made for the episode only: the background never schedules it. */
  private episodeVm(vcpus = 1): SimVm {
    return this.host.createVm(vcpus, 0, 0);
  }

  /** Runs vCPU 0 once on an idle CPU so the VM has a KVM VMID; returns the CPU and the index. */
  private runOnce(vm: SimVm): { cpu: number; vmid: number } {
    const cpu = this.host.idleCpu();
    const { outcome } = this.host.load(vm, 0, cpu);
    this.host.put(cpu);
    return { cpu, vmid: outcome.vmid };
  }

  /** SMMUs whose VMID width is KVM's, the ones on which sharing a KVM VMID is otherwise right; `kvm` ones first. */
  private sameWidthSmmus(): SimSmmu[] {
    const same = this.host.smmus.filter((smmu) => smmu.spec.vmidBits === this.options.vmidBits);
    const kvm = same.filter((smmu) => smmu.spec.role === 'kvm');
    return kvm.length > 0 ? kvm : same;
  }

  /** SMMUs whose IDA has `count` VMIDs left for an episode's domains. */
  private domainSmmus(count: number): SimSmmu[] {
    return this.host.smmus.filter((smmu) => smmu.hasFreeOwnVmids(count));
  }

  private widthSmmus(): SimSmmu[] {
    return this.host.smmus.filter((smmu) => smmu.spec.vmidBits !== this.options.vmidBits && !this.widthSmmusUsed.has(smmu.name));
  }

  /**
   * A fresh VM with a KVM VMID (pinned when `pin`) that no SMMU domain of `smmu` uses. The
   * allocator picks the index, so a colliding VM is thrown away and the next one gets another;
   * undefined if none came free (only seen with tiny VMID widths, where SMMU domains hold most).
   */
  private vmWithFreeVmid(smmu: SimSmmu, pin: boolean, vcpus = 1): { vm: SimVm; vmid: number; cpu: number } | undefined {
    for (let attempt = 0; attempt <= 2 * this.host.allocator.numUserVmids; attempt++) {
      const vm = this.episodeVm(vcpus);
      const { cpu, vmid } = this.runOnce(vm);
      const pinned = pin ? this.host.pin(vm).outcome.ret : vmid;
      if (pinned !== vmid) throw internal(`pin of a current-generation VM returned ${pinned}, not its index ${vmid}`);
      if (!smmu.collides(vmid)) return { vm, vmid, cpu };
      if (pin) this.host.unpin(vm);
      this.host.destroyVm(vm);
    }
    return undefined;
  }

  /**
   * Throw-away VMs run once each on `cpu` until the allocator rolls over and, when `index` is
   * given, until one of them takes that index: about one VM per VMID index.
   */
  private forceRollover(cpu: number, index?: number): void {
    const { allocator } = this.host;
    const start = allocator.rollovers;
    for (let filler = 0; filler <= 3 * allocator.numUserVmids; filler++) {
      const vm = this.episodeVm();
      const { outcome } = this.host.load(vm, 0, cpu);
      this.host.put(cpu);
      this.host.destroyVm(vm);
      if (allocator.rollovers > start && (index === undefined || outcome.vmid === index)) return;
    }
    throw internal('could not force a rollover');
  }

  // ---- the episodes -------------------------------------------------------------------

  private missingS12Vmall(): EpisodeResult {
    const smmu = this.prng.pick(this.domainSmmus(1));
    const first = this.host.createDomain(smmu, 1).domain;
    const freeLine = this.host.destroyDomain(first, false);
    const { domain, steLines } = this.host.createDomain(smmu, 1);
    if (domain.vmid !== first.vmid) throw internal(`IDA gave ${domain.vmid} after freeing ${first.vmid}`);
    this.host.destroyDomain(domain);
    return {
      lines: [steLines[0]],
      detail: `SMMU ${smmu.name}: a domain frees VMID ${first.vmid} (line ${freeLine ?? '?'}) without CMD_TLBI_S12_VMALL; the next domain gets VMID ${first.vmid} and its STE goes live`,
    };
  }

  private steVmidZero(): EpisodeResult {
    const smmu = this.prng.pick(this.host.smmus);
    const sid = smmu.allocSid();
    const line = this.host.ste(smmu, sid, 's2', 0, undefined, undefined);
    this.host.commands(smmu, [`CFGI_STE sid=${sid}`, 'CMD_SYNC'], undefined);
    this.host.ste(smmu, sid, 'abort', 0, undefined, undefined);
    this.host.commands(smmu, [`CFGI_STE sid=${sid}`, 'TLBI_S12_VMALL vmid=0', 'CMD_SYNC'], undefined);
    smmu.releaseSid(sid);
    return { lines: [line], detail: `SMMU ${smmu.name} SID ${sid}: stage-2 STE written with S2VMID 0, then cleared` };
  }

  private pinExhausted(variant: PinVariant): EpisodeResult {
    const { host } = this;
    const fillers: SimVm[] = [];
    while (host.allocator.nrPinnedVmids < host.allocator.maxPinnedVmids) {
      const vm = this.episodeVm();
      if (host.pin(vm).outcome.exhausted) throw internal('a filler pin was refused');
      fillers.push(vm);
    }
    const vm = this.episodeVm();
    const { outcome, line } = host.pin(vm);
    if (!outcome.exhausted) throw internal('the pin after filling the pool was not refused');
    const lines = [line];
    if (variant === 'rfc-v2') {
      // RFC v2 returns 0 and the caller goes on with it: an STE with S2VMID 0.
      const smmu = this.prng.pick(this.sameWidthSmmus());
      const sid = smmu.allocSid();
      lines.push(host.ste(smmu, sid, 'nested', 0, vm, vm));
      host.commands(smmu, [`CFGI_STE sid=${sid}`, 'CMD_SYNC'], vm);
      host.ste(smmu, sid, 'abort', 0, undefined, vm);
      host.commands(smmu, [`CFGI_STE sid=${sid}`, 'TLBI_S12_VMALL vmid=0', 'CMD_SYNC'], vm);
      smmu.releaseSid(sid);
    }
    for (const filler of fillers) {
      host.unpin(filler);
      host.destroyVm(filler);
    }
    host.destroyVm(vm);
    return { lines, detail: `${fillers.length} VMs pin until ${host.allocator.maxPinnedVmids} VMIDs are pinned; the pin of ${vm.mmu} is refused (ret ${outcome.ret})` };
  }

  private unpinnedShare(): EpisodeResult | undefined {
    const smmu = this.prng.pick(this.sameWidthSmmus());
    const found = this.vmWithFreeVmid(smmu, false);
    if (found === undefined) return undefined;
    const { vm, vmid, cpu } = found;
    const { device } = this.host.shareKvmVmid(vm, smmu, vmid);
    // The VM is not running when the rollover comes (so no CPU reserves its index), and a
    // throw-away VM takes the index afterwards: the VM's next load must find another one.
    this.forceRollover(cpu, vmid);
    const { outcome, decisionLine } = this.host.load(vm, 0, cpu);
    if (outcome.vmid === vmid) throw internal('the unpinned VM kept its VMID across the forced rollover');
    this.host.put(cpu);
    this.host.unshareKvmVmid(vm, device);
    this.host.destroyVm(vm);
    return { lines: [decisionLine], detail: `VM ${vm.mmu} shares VMID ${vmid} with SMMU ${smmu.name} SID ${device.sid} unpinned; after a rollover it runs with VMID ${outcome.vmid}` };
  }

  private leakPin(): EpisodeResult {
    const { host } = this;
    const vm = this.episodeVm();
    const { vmid } = this.runOnce(vm);
    host.pin(vm);
    const smmus = host.smmus.filter((smmu) => smmu.spec.role === 'kvm' && !smmu.collides(vmid));
    if (smmus.length > 0) {
      // The device is detached properly; only kvm_arm_pinned_vmid_put() is forgotten.
      const { device } = host.shareKvmVmid(vm, this.prng.pick(smmus), vmid);
      host.unshareKvmVmid(vm, device);
    }
    const line = host.destroyVm(vm);
    return { lines: [line], detail: `VM ${vm.mmu} destroyed with VMID ${vmid} still pinned` };
  }

  private earlyUnpin(): EpisodeResult | undefined {
    const { host } = this;
    const smmu = this.prng.pick(this.sameWidthSmmus());
    const found = this.vmWithFreeVmid(smmu, true);
    if (found === undefined) return undefined;
    const { vm, vmid } = found;
    const { device } = host.shareKvmVmid(vm, smmu, vmid);
    const line = host.unpin(vm);
    host.unshareKvmVmid(vm, device);
    host.destroyVm(vm);
    return { lines: [line], detail: `VM ${vm.mmu}: pin on VMID ${vmid} released before SMMU ${smmu.name} SID ${device.sid} is cleared` };
  }

  private staleUnpinTwoVmids(): EpisodeResult {
    const { host } = this;
    const smmus = host.smmus.filter((smmu) => smmu.spec.role === 'kvm');
    const smmu = smmus.length > 0 ? this.prng.pick(smmus) : undefined;
    // With no SMMU free for it the hazard is the same without a device (the pin is what matters).
    const shared = smmu === undefined ? undefined : this.vmWithFreeVmid(smmu, true, 2);
    const { vm, vmid, cpu } = shared ?? { ...this.pinnedVm(), cpu: -1 };
    const device = shared === undefined || smmu === undefined ? undefined : host.shareKvmVmid(vm, smmu, vmid).device;
    // A rollover while the VM runs nowhere leaves its stored id in the old generation (RFC v2:
    // the pinned branch of new_vmid() returns the new id without storing it).
    const first = cpu >= 0 ? cpu : host.idleCpu();
    this.forceRollover(first);
    const onFirst = host.load(vm, 0, first).outcome;
    if (onFirst.vmid !== vmid) throw internal('a pinned VM changed VMID');
    if (device !== undefined) host.unshareKvmVmid(vm, device, [first]);
    host.unpin(vm, [first]);
    const second = host.idleCpu([first]);
    const { outcome, decisionLine } = host.load(vm, 1, second);
    if (outcome.vmid === vmid) throw internal('the unpinned stale VM kept its VMID on the second CPU');
    // The hazard is the two CPUs running the VM at once: the first goes on running it a while.
    host.sink.pause();
    host.put(first);
    host.put(second);
    host.destroyVm(vm);
    return { lines: [decisionLine], detail: `VM ${vm.mmu}: unpinned with a stale id while CPU ${first} runs it with VMID ${vmid}; CPU ${second} then loads it with VMID ${outcome.vmid}` };
  }

  /** A pinned two-vCPU VM for episodes that need no SMMU. */
  private pinnedVm(): { vm: SimVm; vmid: number } {
    const vm = this.episodeVm(2);
    const { vmid } = this.runOnce(vm);
    this.host.pin(vm);
    return { vm, vmid };
  }

  private widthMismatch(): EpisodeResult | undefined {
    const smmu = this.widthSmmus()[0];
    if (smmu === undefined) throw internal('width-mismatch has no SMMU left');
    const pin = this.options.variant !== 'mainline';
    const found = this.vmWithFreeVmid(smmu, pin);
    if (found === undefined) return undefined;
    this.widthSmmusUsed.add(smmu.name);
    const { vm, vmid } = found;
    const { device, steLine } = this.host.shareKvmVmid(vm, smmu, vmid);
    this.host.unshareKvmVmid(vm, device);
    if (pin) this.host.unpin(vm);
    this.host.destroyVm(vm);
    return { lines: [steLine], detail: `VM ${vm.mmu} shares ${this.options.vmidBits}-bit KVM VMID ${vmid} with ${smmu.spec.vmidBits}-bit SMMU ${smmu.name}` };
  }

  private steSwitchNoInval(): EpisodeResult {
    const { host } = this;
    const smmu = this.prng.pick(this.domainSmmus(2));
    const first = host.createDomain(smmu, 1).domain;
    const sid = first.sids[0] as number;
    // The device moves to a new domain; the old VMID is freed with no invalidation after the rewrite.
    const vmid = host.allocOwnVmid(smmu, undefined);
    host.ste(smmu, sid, 's2', vmid, undefined, undefined);
    host.commands(smmu, [`CFGI_STE sid=${sid}`, 'CMD_SYNC'], undefined);
    const line = host.freeOwnVmid(smmu, first.vmid, undefined);
    // A late invalidation, so the old VMID's next owner does not inherit its entries (that
    // would be a second hazard, vmid-reuse-without-invalidation).
    host.commands(smmu, [`TLBI_S12_VMALL vmid=${first.vmid}`, 'CMD_SYNC'], undefined);
    host.destroyDomain({ smmu, vmid, sids: [sid] });
    return { lines: [line], detail: `SMMU ${smmu.name} SID ${sid}: STE moved from VMID ${first.vmid} to ${vmid}; VMID ${first.vmid} freed without an invalidation` };
  }

  private wrongRecordedId(): EpisodeResult {
    const { host } = this;
    const kind = divergenceKindsFor(this.options.variant)[this.divergencesUsed];
    if (kind === undefined) throw internal('wrong-recorded-id has no divergence kind left');
    this.divergencesUsed += 1;
    const vm = this.episodeVm();
    let line: number | undefined;
    if (kind === 'id-after') {
      const cpu = host.idleCpu();
      line = host.load(vm, 0, cpu, { idAfter: true }).returnLine;
      host.put(cpu);
    } else {
      this.runOnce(vm);
      if (kind === 'id-before') {
        const cpu = host.idleCpu();
        line = host.load(vm, 0, cpu, { idBefore: true }).entryLine;
        host.put(cpu);
      } else if (kind === 'pin-ret') {
        line = host.pin(vm, true).line;
        host.unpin(vm);
      }
    }
    const destroyLine = host.destroyVm(vm, kind === 'destroy-id');
    if (kind === 'destroy-id') line = destroyLine;
    return { lines: [line], detail: `VM ${vm.mmu}: the ${kind} value recorded is not the kernel's` };
  }
}
