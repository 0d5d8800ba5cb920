/**
 * The SMMU side of the replay: STE writes, the SMMUs' own VMIDs, command-queue invalidations
 * and CPU broadcasts, applied to one `SmmuModel` per instance, each turned into a step.
 */
import type { Diagnostics } from '../../diagnostics.js';
import type { EventBase, KernelPointer } from '../../events/common.js';
import type { CpuTlbiEvent } from '../../events/cpuEvents.js';
import { assertUnreachable } from '../../events/common.js';
import type { SmmuCommandsEvent, SmmuVmidAllocEvent, SmmuVmidFreeEvent, SteWriteEvent } from '../../events/smmuEvents.js';
import { describeCommand, type SmmuCommand } from '../../events/smmuCommand.js';
import { usesStage2 } from '../../events/ste.js';
import { SmmuModel } from '../../model/smmu.js';
import { counted } from '../../plural.js';
import type { VmidAllocator } from '../../model/vmidAllocator.js';
import type { ConfigResolver } from '../config.js';
import type { VmState } from '../../steps/state.js';
import type { ReplayStep } from '../../steps/step.js';

export type SmmuSideEvent = SteWriteEvent | SmmuVmidAllocEvent | SmmuVmidFreeEvent | SmmuCommandsEvent | CpuTlbiEvent;

export interface SmmuReplayDeps {
  readonly resolver: ConfigResolver;
  readonly diagnostics: Diagnostics;
  step(step: ReplayStep): void;
  markDataLoss(at: EventBase): void;
  ensureAllocator(at: EventBase): VmidAllocator;
  vmAt(pointer: KernelPointer, at: EventBase): VmState;
}

export class SmmuReplay {
  readonly smmus = new Map<string, SmmuModel>();

  constructor(private readonly deps: SmmuReplayDeps) {}

  private smmu(name: string, at: EventBase): SmmuModel {
    let smmu = this.smmus.get(name);
    if (smmu === undefined) {
      const allocator = this.deps.ensureAllocator(at);
      smmu = new SmmuModel(name, this.deps.resolver.smmuSettings(name, allocator.config.vmidBits, at.span));
      this.smmus.set(name, smmu);
    }
    return smmu;
  }

  apply(event: SmmuSideEvent): void {
    const at = event;
    switch (event.kind) {
      case 'smmu-ste': {
        const smmu = this.smmu(event.smmu, at);
        const vm = event.vm === undefined ? undefined : this.deps.vmAt(event.vm, at);
        const stage2 = usesStage2(event.config);
        const owner = stage2 ? smmu.ownerFor(event.s2vmid, vm) : undefined;
        const binding = {
          sid: event.sid,
          config: event.config,
          s2vmid: event.s2vmid,
          ...(owner === undefined ? {} : { owner }),
          ...(vm === undefined ? {} : { vmKey: vm.key }),
          installedBy: at,
        };
        const otherCachedOwners = stage2 && owner !== undefined ? smmu.otherCachedOwners(event.s2vmid, owner.key) : [];
        const previous = smmu.writeSte(binding);
        this.deps.step({ kind: 'ste-write', event, smmu, binding, previous, otherCachedOwners, vm });
        return;
      }
      case 'smmu-vmid-alloc':
        this.smmu(event.smmu, at).allocateVmid(event.vmid, at);
        return;
      case 'smmu-vmid-free': {
        const smmu = this.smmu(event.smmu, at);
        this.deps.step({ kind: 'smmu-vmid-free', event, smmu, vmid: event.vmid });
        smmu.freeVmid(event.vmid);
        return;
      }
      case 'smmu-cmd': {
        const smmu = this.smmu(event.smmu, at);
        for (const command of event.commands) this.applyCommand(smmu, command, at);
        if (event.truncated) {
          this.deps.diagnostics.add('cmdlist-truncated', { file: at.span.file, line: at.span.line, detail: `${counted(event.commands.length, 'command')} captured` });
          this.deps.markDataLoss(at);
        }
        return;
      }
      case 'cpu-tlbi': {
        this.deps.ensureAllocator(at);
        // A by-IPA invalidation only covers some addresses: it does not clean a VMID for reuse.
        if (event.op === 'IPAS2E1IS') return;
        for (const smmu of this.smmus.values()) {
          if (!smmu.settings.btm) continue;
          const vmids = event.op === 'ALLE1IS' || event.vmid === undefined ? 'all' : [event.vmid];
          smmu.invalidate(vmids === 'all' ? 'all' : (vmids[0] as number));
          this.deps.step({ kind: 'invalidation', at, smmu, vmids, how: `TLBI ${event.op}${event.vmid === undefined ? '' : ` vmid=${event.vmid}`} (broadcast under BTM)` });
        }
        return;
      }
      default:
        assertUnreachable(event, 'SMMU event kind');
    }
  }

  /** A KVM rollover's `TLBI ALLE1IS` reaches every SMMU that obeys broadcasts. */
  rolloverBroadcast(at: EventBase): void {
    for (const smmu of this.smmus.values()) {
      if (!smmu.settings.btm) continue;
      smmu.invalidate('all');
      this.deps.step({ kind: 'invalidation', at, smmu, vmids: 'all', how: 'TLBI ALLE1IS (KVM VMID rollover, broadcast under BTM)' });
    }
  }

  private applyCommand(smmu: SmmuModel, command: SmmuCommand, at: EventBase): void {
    switch (command.op) {
      case 'TLBI_S12_VMALL':
        smmu.invalidate(command.vmid);
        this.deps.step({ kind: 'invalidation', at, smmu, vmids: [command.vmid], how: describeCommand(command) });
        return;
      case 'TLBI_NSNH_ALL':
        smmu.invalidate('all');
        this.deps.step({ kind: 'invalidation', at, smmu, vmids: 'all', how: describeCommand(command) });
        return;
      default:
        // Stage-1-only and by-address invalidations (TLBI_NH_*, TLBI_S2_IPA) leave other
        // entries of the VMID in place; CFGI, ATC and SYNC do not touch the TLB.
        return;
    }
  }
}
