/**
 * Which VMs get a device, and when (`--assign`). Most captures record no device at all, so the
 * what-if decides: every VM, a seeded fraction, named VMs, or the attaches the trace records;
 * attached when the VM is created or at its first vCPU load; one or several devices each. The
 * planner turns the workload into the workload with its attaches and detaches in place, each
 * charged to a trace line (docs/what-if.md), and with `--scale K` runs K copies of every VM.
 */
import type { EventBase, KernelPointer } from '../events/common.js';
import type { Device, WorkloadOp } from './workload.js';

export type AssignMode = { readonly kind: 'all' } | { readonly kind: 'ratio'; readonly ratio: number } | { readonly kind: 'vms'; readonly pointers: ReadonlySet<string> } | { readonly kind: 'trace' };

export interface AssignSpec {
  readonly mode: AssignMode;
  /** Attach at the VM's first vCPU load instead of at its creation. */
  readonly firstRun: boolean;
  /** Devices per VM, each a pin reference. */
  readonly devices: number;
  /** For `ratio=`: which VMs, reproducibly. */
  readonly seed: number;
}

/** `all`, `ratio=0.3`, `vms=0xffff...,0xffff...`, `trace`, with `first-run` and `devices=N`, comma-separated. */
export function parseAssign(text: string, seed = 1): AssignSpec {
  let mode: AssignMode | undefined;
  let firstRun = false;
  let devices = 1;
  const setMode = (next: AssignMode): void => {
    if (mode !== undefined) throw new RangeError(`one of all, ratio=R, vms=PTR,..., trace (got a second in "${text}")`);
    mode = next;
  };
  const parts = text.split(',').map((part) => part.trim());
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part === 'all' || part === 'trace') setMode({ kind: part });
    else if (part === 'first-run') firstRun = true;
    else if (part.startsWith('ratio=')) {
      const ratio = Number(part.slice('ratio='.length));
      if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1 || part.length === 'ratio='.length) throw new RangeError(`ratio= a fraction from 0 to 1 (got "${part}")`);
      setMode({ kind: 'ratio', ratio });
    } else if (part.startsWith('devices=')) {
      devices = Number(part.slice('devices='.length));
      if (!Number.isInteger(devices) || devices < 1 || devices > 64) throw new RangeError(`devices= a count from 1 to 64 (got "${part}")`);
    } else if (part.startsWith('vms=')) {
      // The pointers run to the end: they are comma-separated too.
      const pointers = [part.slice('vms='.length), ...parts.slice(i + 1)].filter((pointer) => pointer.length > 0);
      if (pointers.length === 0 || pointers.some((pointer) => !/^0x[0-9a-f]+$/i.test(pointer))) throw new RangeError(`vms= kernel pointers such as 0xffff000010001000 (got "${part}")`);
      setMode({ kind: 'vms', pointers: new Set(pointers.map((pointer) => `0x${BigInt(pointer).toString(16)}`)) });
      break;
    } else throw new RangeError(`all, ratio=R, vms=PTR,..., trace, first-run or devices=N (got "${part}")`);
  }
  return { mode: mode ?? { kind: 'all' }, firstRun, devices, seed };
}

/** A workload step with the devices in place; a creation says how many devices the VM will get (0 when not known ahead). */
export type PlannedOp = Exclude<WorkloadOp, { op: 'create' }> | { readonly op: 'create'; readonly vm: KernelPointer; readonly at: EventBase; readonly devices: number };

/**
 * FNV-1a of the VM's identity and the seed, through murmur3's 32-bit finaliser, as a fraction:
 * the same VMs whatever else changes. The finaliser matters: kernel pointers differ in a few
 * middle digits, and FNV-1a alone leaves its high bits so alike that `ratio=0.05` picked 2 VMs
 * of 545.
 */
function fraction(pointer: string, lifetime: number, seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (const char of `${pointer}#${lifetime}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 2 ** 32;
}

interface LiveVm {
  readonly lifetime: number;
  /** The devices it gets (none: not chosen). */
  readonly wants: number;
  readonly attached: Device[];
  /** Created in the trace (else first seen at a load). */
  readonly created: boolean;
}

/** The most copies `--scale` may ask for. */
export const maxScale = 64;

/** The SMMU the what-if's own devices sit on. */
export const assignedSmmu = 'smmu0';
/** StreamIDs the what-if gives its devices, from here up. */
const firstSid = 0x100;

export class AssignmentPlanner {
  private readonly live = new Map<KernelPointer, LiveVm>();
  private readonly lifetimes = new Map<KernelPointer, number>();
  private nextSid = firstSid;
  /** Devices each VM holds now. */
  private readonly held = new Map<KernelPointer, number>();
  /** VMs (copies included) holding a device now, and at most (with where). */
  holding = 0;
  peakHolding = 0;
  peakAt: EventBase | undefined;

  constructor(
    private readonly spec: AssignSpec,
    /** K copies of every VM, side by side (`--scale K`). */
    private readonly scale: number,
    private readonly emit: (op: PlannedOp) => void,
  ) {
    if (!Number.isInteger(scale) || scale < 1 || scale > maxScale) throw new RangeError(`--scale from 1 to ${maxScale} (got ${scale})`);
  }

  readonly push = (op: WorkloadOp): void => {
    switch (op.op) {
      case 'create':
        this.begin(op.vm, op.at, true);
        return;
      case 'destroy': {
        const vm = this.live.get(op.vm);
        if (vm !== undefined) this.end(op.vm, vm, op.at);
        this.forEachCopy(op.vm, (copy) => this.emit({ op: 'destroy', vm: copy, at: op.at }));
        return;
      }
      case 'load': {
        const vm = this.live.get(op.vm) ?? this.begin(op.vm, op.at, false);
        if (this.spec.firstRun && vm.attached.length === 0 && vm.wants > 0) this.attach(op.vm, vm, op.at);
        // Copies time-share the CPU: each runs a while, is put, and the next one runs.
        for (let copy = 1; copy <= this.scale; copy++) {
          if (copy > 1) this.emit({ op: 'put', cpu: op.cpu, at: op.at });
          this.emit({ op: 'load', vm: copyOf(op.vm, copy), cpu: op.cpu, at: op.at });
        }
        return;
      }
      case 'put':
      case 'loss':
        this.emit(op);
        return;
      case 'attach':
      case 'detach':
        if (this.spec.mode.kind !== 'trace') return;
        // devices=N: each attach the trace records stands for N devices (the others on SIDs of their own).
        for (let n = 0; n < this.spec.devices; n++) this.forEachCopy(op.vm, (copy, index) => this.emit({ op: op.op, vm: copy, device: tracedCopy(op.device, n, index), at: op.at }));
        this.countHolding(op.vm, op.op === 'attach' ? this.spec.devices : -this.spec.devices, op.at);
        return;
    }
  };

  private begin(pointer: KernelPointer, at: EventBase, created: boolean): LiveVm {
    const previous = this.live.get(pointer);
    if (previous !== undefined) this.end(pointer, previous, at);
    const lifetime = (this.lifetimes.get(pointer) ?? 0) + 1;
    this.lifetimes.set(pointer, lifetime);
    const vm: LiveVm = { lifetime, wants: this.chosen(pointer, lifetime) ? this.spec.devices : 0, attached: [], created };
    this.live.set(pointer, vm);
    // A VM first seen at a load existed before the trace: it is created there, for the policies.
    this.forEachCopy(pointer, (copy) => this.emit({ op: 'create', vm: copy, at, devices: vm.wants }));
    if (!this.spec.firstRun && vm.wants > 0) this.attach(pointer, vm, at);
    return vm;
  }

  private chosen(pointer: KernelPointer, lifetime: number): boolean {
    const mode = this.spec.mode;
    switch (mode.kind) {
      case 'all':
        return true;
      case 'ratio':
        return fraction(pointer, lifetime, this.spec.seed) < mode.ratio;
      case 'vms':
        return mode.pointers.has(pointer);
      case 'trace':
        return false;
    }
  }

  private attach(pointer: KernelPointer, vm: LiveVm, at: EventBase): void {
    for (let n = 0; n < vm.wants; n++) {
      // One SID per copy, in a block: the copies' devices are as distinct as the VMs'.
      const device = { smmu: assignedSmmu, sid: this.nextSid };
      this.nextSid += this.scale;
      vm.attached.push(device);
      this.forEachCopy(pointer, (copy, index) => this.emit({ op: 'attach', vm: copy, device: ownCopy(device, index), at }));
    }
    this.countHolding(pointer, vm.wants, at);
  }

  private end(pointer: KernelPointer, vm: LiveVm, at: EventBase): void {
    this.live.delete(pointer);
    if (vm.attached.length === 0) return;
    for (const device of vm.attached) this.forEachCopy(pointer, (copy, index) => this.emit({ op: 'detach', vm: copy, device: ownCopy(device, index), at }));
    this.countHolding(pointer, -vm.attached.length, at);
  }

  /** `pointer` got (or lost) `delta` devices: the count of VMs holding one, copies included. */
  private countHolding(pointer: KernelPointer, delta: number, at: EventBase): void {
    const before = this.held.get(pointer) ?? 0;
    const after = Math.max(0, before + delta);
    if (after === 0) this.held.delete(pointer);
    else this.held.set(pointer, after);
    if ((before > 0) === (after > 0)) return;
    this.holding += after > 0 ? this.scale : -this.scale;
    if (this.holding > this.peakHolding) {
      this.peakHolding = this.holding;
      this.peakAt = at;
    }
  }

  private forEachCopy(pointer: KernelPointer, each: (copy: KernelPointer, index: number) => void): void {
    for (let copy = 1; copy <= this.scale; copy++) each(copyOf(pointer, copy), copy);
  }
}

/** The `copy`th of `--scale` copies of a VM: the first is the VM itself. */
function copyOf(pointer: KernelPointer, copy: number): KernelPointer {
  return copy === 1 ? pointer : `${pointer}~${copy}`;
}

/** The `copy`th copy of a device the planner gave (each device has a block of `--scale` SIDs). */
function ownCopy(device: Device, copy: number): Device {
  return copy === 1 ? device : { smmu: device.smmu, sid: device.sid + copy - 1 };
}

/**
 * SMMUv3 StreamIDs have at most 32 bits (SMMU_IDR1.SIDSIZE): the devices the what-if adds to
 * a traced one (`devices=N`, `--scale` copies) live above them, where no traced device can be,
 * at `sid + 2^32 * (extra * maxScale + copy - 1)`: distinct for every extra and copy, and the
 * same SID for a copy whatever the `--scale`.
 */
function tracedCopy(device: Device, extra: number, copy: number): Device {
  const index = extra * maxScale + copy - 1;
  return index === 0 ? device : { smmu: device.smmu, sid: device.sid + index * 2 ** 32 };
}
