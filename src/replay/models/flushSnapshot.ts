/**
 * What `flush_context()` left behind, as a probe placed right after it reads it (the rollover
 * probe of the full 6.1 captures: the new generation, every CPU's reservation, the bitmap). The
 * model keeps only the kernel's state; this is taken from it after the call that rolled over.
 */
import type { VmidAllocator } from '../../model/vmidAllocator.js';

export interface FlushSnapshot {
  readonly generation: number;
  readonly reserved: readonly number[];
  /** `vmid_map` right after the flush, one byte per index. */
  readonly map: Uint8Array;
}

/**
 * The flush of a call that rolled over, taken after the call: `new_vmid()` bumped the generation,
 * flushed, then searched from index 1 and set the bit of the index it handed out (`index`);
 * nothing else in the call touches the map or the reservations after the flush.
 */
export function flushSnapshotAfter(allocator: VmidAllocator, index: number): FlushSnapshot {
  const map = allocator.vmidMapCopy();
  map[index] = 0;
  return { generation: allocator.generation, reserved: [...allocator.reservedVmids], map };
}
