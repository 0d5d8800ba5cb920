/**
 * What the replay tells the checks: one step per applied event, with the model's answer and
 * what it replaced. Checks never see raw records.
 */
import type { PinGetEvent, PinPutEvent, VmCreateEvent, VmDestroyEvent, VmidClearActiveEvent, VmidUpdateEvent } from '../events/kvmEvents.js';
import type { SteWriteEvent, SmmuVmidFreeEvent } from '../events/smmuEvents.js';
import type { EventBase } from '../events/common.js';
import type { CachedOwner, SmmuModel, SteBinding } from '../model/smmu.js';
import type { PinOutcome, UnpinOutcome, UpdateOutcome } from '../model/vmidAllocator.js';
import type { RunningVm, VmState } from './state.js';

export type DivergenceKind =
  | 'id-before'
  | 'id-after'
  | 'pin-ret'
  | 'rollover'
  | 'destroy-id'
  | 'active'
  | 'generation'
  | 'per-cpu-active'
  | 'per-cpu-reserved'
  | 'bitmap'
  | 'cur-idx'
  | 'keep-branch';

export type ReplayStep =
  | {
      readonly kind: 'load';
      /** The event the call was replayed at (its return when the trace has one). */
      readonly event: VmidUpdateEvent;
      readonly vm: VmState;
      readonly cpu: number;
      readonly idBefore: number;
      readonly outcome: UpdateOutcome;
      /** What ran on the other CPUs at that moment. */
      readonly previouslyRunning: RunningVm | undefined;
    }
  | { readonly kind: 'put'; readonly event: VmidClearActiveEvent; readonly cpu: number; readonly wasRunning: RunningVm | undefined }
  | { readonly kind: 'pin'; readonly event: PinGetEvent; readonly vm: VmState; readonly outcome: PinOutcome }
  | { readonly kind: 'unpin'; readonly event: PinPutEvent; readonly vm: VmState; readonly outcome: UnpinOutcome }
  | { readonly kind: 'vm-create'; readonly event: VmCreateEvent; readonly vm: VmState }
  | { readonly kind: 'vm-destroy'; readonly event: VmDestroyEvent; readonly vm: VmState }
  | {
      readonly kind: 'ste-write';
      readonly event: SteWriteEvent;
      readonly smmu: SmmuModel;
      readonly binding: SteBinding;
      readonly previous: SteBinding | undefined;
      /** Other owners the SMMU may hold entries for under the new VMID, before this write. */
      readonly otherCachedOwners: readonly CachedOwner[];
      readonly vm: VmState | undefined;
    }
  | {
      readonly kind: 'invalidation';
      readonly at: EventBase;
      readonly smmu: SmmuModel;
      readonly vmids: readonly number[] | 'all';
      /** `CMD_TLBI_S12_VMALL vmid=5`, `TLBI ALLE1IS (rollover)`, ... */
      readonly how: string;
    }
  | { readonly kind: 'smmu-vmid-free'; readonly event: SmmuVmidFreeEvent; readonly smmu: SmmuModel; readonly vmid: number }
  | {
      readonly kind: 'divergence';
      readonly at: EventBase;
      readonly divergence: DivergenceKind;
      readonly expected: string;
      readonly observed: string;
      readonly vm?: VmState;
    }
  | { readonly kind: 'trace-end'; readonly at: EventBase | undefined };

/** Whoever else follows the replay step by step (the `replay` command's JSON Lines, a timeline). */
export type StepObserver = (step: ReplayStep) => void;
