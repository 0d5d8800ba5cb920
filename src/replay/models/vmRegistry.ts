/**
 * VMs by pointer. A `struct kvm_vmid` pointer is reused once its VM is freed, so a VM is the
 * pointer plus one lifetime of it, from its creation (or first sight) to its destruction.
 */
import type { Diagnostics } from '../../diagnostics.js';
import type { EventBase, KernelPointer } from '../../events/common.js';
import { newKvmVmid } from '../../model/vmidAllocator.js';
import type { VmState } from '../../steps/state.js';

export class VmRegistry {
  readonly byPointer = new Map<KernelPointer, VmState>();
  private readonly lifetimes = new Map<KernelPointer, number>();

  constructor(private readonly diagnostics: Diagnostics) {}

  /** The live VM at `pointer`, if any. */
  live(pointer: KernelPointer): VmState | undefined {
    const vm = this.byPointer.get(pointer);
    return vm === undefined || vm.destroyed ? undefined : vm;
  }

  /** A new lifetime at `pointer`: the previous VM there, if still marked alive, ends. */
  create(pointer: KernelPointer, at: EventBase): VmState {
    const previous = this.byPointer.get(pointer);
    if (previous !== undefined) previous.destroyed = true;
    return this.newLifetime(pointer, at, true);
  }

  /** The VM alive at `pointer`; a pointer never created in the trace was created before it. */
  at(pointer: KernelPointer, at: EventBase): VmState {
    const existing = this.live(pointer);
    if (existing !== undefined) return existing;
    this.diagnostics.add('unknown-vm', { file: at.span.file, line: at.span.line, detail: pointer });
    return this.newLifetime(pointer, at, false);
  }

  private newLifetime(pointer: KernelPointer, at: EventBase, created: boolean): VmState {
    const lifetime = (this.lifetimes.get(pointer) ?? 0) + 1;
    this.lifetimes.set(pointer, lifetime);
    const vm: VmState = {
      key: `vm:${pointer}#${lifetime}`,
      pointer,
      lifetime,
      label: lifetime === 1 ? `VM ${pointer}` : `VM ${pointer} (#${lifetime} at this address)`,
      kvmVmid: newKvmVmid(),
      ...(created ? { createdBy: at } : {}),
      destroyed: false,
    };
    this.byPointer.set(pointer, vm);
    return vm;
  }
}
