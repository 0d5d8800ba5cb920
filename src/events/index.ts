import type { KvmVmidEvent } from './kvmEvents.js';
import type { SmmuEvent } from './smmuEvents.js';
import type { CpuEvent } from './cpuEvents.js';
import type { TraceMetaEvent } from './traceEvents.js';

/** Every event the tool understands: a discriminated union on `kind`. */
export type TraceEvent = KvmVmidEvent | SmmuEvent | CpuEvent | TraceMetaEvent;
export type EventKind = TraceEvent['kind'];

export const eventKinds: readonly EventKind[] = [
  'vm-create',
  'vm-destroy',
  'vmid-update',
  'vmid-clear-active',
  'pin-get',
  'pin-put',
  'vmid-rollover',
  'smmu-ste',
  'smmu-vmid-alloc',
  'smmu-vmid-free',
  'smmu-cmd',
  'smmu-config',
  'cpu-tlbi',
  'system-config',
  'lost-events',
];

export type * from './kvmEvents.js';
export type * from './smmuEvents.js';
export type * from './cpuEvents.js';
export type * from './traceEvents.js';
export type { EventBase, KernelPointer } from './common.js';
export { assertUnreachable } from './common.js';
