/**
 * The replay's VMs as a copy-on-write view: a shadow replay reads the real VMs, and copies a
 * VM the first time it changes it, so trying another order of the same calls never touches the
 * state the checks see.
 */
import type { EventBase, KernelPointer } from '../../events/common.js';
import { newKvmVmid } from '../../model/vmidAllocator.js';
import type { VmLookup } from '../models/allocatorSide.js';
import { VmLifetime } from '../models/vmRegistry.js';
import type { VmState } from '../../steps/state.js';

export class ShadowVms implements VmLookup {
  private readonly own = new Map<KernelPointer, VmState>();

  constructor(
    /** The real VMs by pointer (live or not), or nothing before the real replay has any. */
    private readonly base: ReadonlyMap<KernelPointer, VmState> | undefined,
    /** A VM used after its lifetime ended and before a new one began: evidence of a misorder. */
    private readonly usedAfterDestroy: (pointer: KernelPointer, at: EventBase) => void,
  ) {}

  live(pointer: KernelPointer): VmState | undefined {
    const vm = this.latest(pointer);
    if (vm === undefined || vm.destroyed) return undefined;
    return this.own.get(pointer) ?? this.copy(vm);
  }

  at(pointer: KernelPointer, at: EventBase): VmState {
    const vm = this.latest(pointer);
    if (vm !== undefined && !vm.destroyed) return this.own.get(pointer) ?? this.copy(vm);
    if (vm !== undefined) this.usedAfterDestroy(pointer, at);
    return this.create(pointer);
  }

  create(pointer: KernelPointer): VmState {
    const previous = this.latest(pointer);
    if (previous !== undefined && !previous.destroyed) (this.own.get(pointer) ?? this.copy(previous)).destroyed = true;
    const lifetime = (previous?.lifetime ?? 0) + 1;
    const vm = new VmLifetime(pointer, lifetime, newKvmVmid());
    this.own.set(pointer, vm);
    return vm;
  }

  private latest(pointer: KernelPointer): VmState | undefined {
    return this.own.get(pointer) ?? this.base?.get(pointer);
  }

  private copy(vm: VmState): VmState {
    const copy = VmLifetime.copyOf(vm);
    this.own.set(vm.pointer, copy);
    return copy;
  }
}
