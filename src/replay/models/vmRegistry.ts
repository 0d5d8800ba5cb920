/**
 * VMs by pointer. A `struct kvm_vmid` pointer is reused once its VM is freed, so a VM is the
 * pointer plus one lifetime of it, from its creation (or first sight) to its destruction.
 */
import type { Diagnostics } from '../../diagnostics.js';
import type { EventBase, KernelPointer } from '../../events/common.js';
import { newKvmVmid, type KvmVmid } from '../../model/vmidAllocator.js';
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
  create(pointer: KernelPointer): VmState {
    const previous = this.byPointer.get(pointer);
    if (previous !== undefined) previous.destroyed = true;
    return this.newLifetime(pointer);
  }

  /** The VM alive at `pointer`; a pointer never created in the trace was created before it. */
  at(pointer: KernelPointer, at: EventBase): VmState {
    const existing = this.live(pointer);
    if (existing !== undefined) return existing;
    this.diagnostics.add('unknown-vm', { file: at.span.file, line: at.span.line, detail: pointer });
    return this.newLifetime(pointer);
  }

  private newLifetime(pointer: KernelPointer): VmState {
    const lifetime = (this.lifetimes.get(pointer) ?? 0) + 1;
    this.lifetimes.set(pointer, lifetime);
    const vm = new VmLifetime(pointer, lifetime, newKvmVmid());
    this.byPointer.set(pointer, vm);
    return vm;
  }
}

/**
 * One VM's state. A capture has tens of thousands of lifetimes and most end without a finding,
 * so the key and label strings are made when something asks for them, and nothing holds the
 * event that created the VM (with its record and line text).
 */
export class VmLifetime implements VmState {
  lastFailedPin?: EventBase;
  pinnedBy?: EventBase;
  previousId?: { readonly id: number; readonly cpu: number };

  constructor(
    readonly pointer: KernelPointer,
    readonly lifetime: number,
    readonly kvmVmid: KvmVmid,
    public destroyed = false,
  ) {}

  get key(): string {
    return `vm:${this.pointer}#${this.lifetime}`;
  }

  get label(): string {
    return this.lifetime === 1 ? `VM ${this.pointer}` : `VM ${this.pointer} (#${this.lifetime} at this address)`;
  }

  /** A copy of `vm` whose changes leave it as it is (a shadow replay's). */
  static copyOf(vm: VmState): VmLifetime {
    const copy = new VmLifetime(vm.pointer, vm.lifetime, { ...vm.kvmVmid }, vm.destroyed);
    if (vm.lastFailedPin !== undefined) copy.lastFailedPin = vm.lastFailedPin;
    if (vm.pinnedBy !== undefined) copy.pinnedBy = vm.pinnedBy;
    if (vm.previousId !== undefined) copy.previousId = vm.previousId;
    return copy;
  }
}
