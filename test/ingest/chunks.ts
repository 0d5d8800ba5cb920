/** Byte sources cut into chunks, and the real captures, for the ingest tests. */
import { resolve } from 'node:path';
import { recordsFromBytes, type ReadOptions } from '../../src/ingest/readTrace.js';
import type { TraceRecord } from '../../src/ingest/records.js';

/** ../shared/captures, as ../shared/oracle is found by the oracle test. */
export const capturesRoot = resolve(process.cwd(), '..', 'shared', 'captures');

/**
 * Yields `bytes` in chunks whose sizes cycle through `sizes` (a size of 0 yields an empty chunk).
 * Each chunk is a fresh copy, so no test depends on the source keeping its buffer intact.
 */
export async function* inChunks(bytes: Uint8Array, sizes: number | readonly number[]): AsyncGenerator<Uint8Array> {
  const cycle = typeof sizes === 'number' ? [sizes] : sizes;
  if (cycle.length === 0 || cycle.every((size) => size <= 0)) throw new Error('inChunks needs a positive chunk size');
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    // Each chunk arrives on a later turn of the event loop's microtask queue, as from a stream.
    await Promise.resolve();
    const size = cycle[i % cycle.length] as number;
    // A plain Uint8Array, not a Buffer: sources such as web streams yield those.
    yield new Uint8Array(bytes.subarray(at, at + Math.max(size, 0)));
    at += Math.max(size, 0);
  }
}

/** Yields `bytes` in chunks of `size` through one buffer that is overwritten for every chunk. */
export async function* inReusedBuffer(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  const scratch = Buffer.alloc(size);
  for (let at = 0; at < bytes.length; at += size) {
    await Promise.resolve();
    const part = bytes.subarray(at, at + size);
    scratch.fill(0x23);
    scratch.set(part);
    yield scratch.subarray(0, part.length);
  }
}

/** All records of a source, flattened across batches. */
export async function readAllRecords(source: AsyncIterable<Uint8Array>, options: ReadOptions): Promise<TraceRecord[]> {
  const out: TraceRecord[] = [];
  for await (const batch of recordsFromBytes(source, options)) {
    if (batch.length === 0) throw new Error('recordsFromBytes yielded an empty batch');
    out.push(...batch);
  }
  return out;
}

/**
 * Every kind of line ftrace text gives: headers, events (TGID known and `(-------)`, ns
 * timestamps, no flags, an empty body, UTF-8 task names), a buffer-started and a lost-event
 * mark, a stack line, a blank line and one that is no line at all.
 */
export const everyFtraceLineKind: readonly string[] = [
  '# tracer: nop',
  '#',
  '# entries-in-buffer/entries-written: 7/9   #P:4',
  '       CPU 0/KVM-4711    [002] d..1.  88.123456: upd: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff00081d3c0a58 id=0x10012',
  '##### CPU 2 buffer started ####',
  'CPU:2 [LOST 123 EVENTS]',
  '   qemu-ñandú-4711  (   4711) [001] ....  88.123457123: kvm_entry: PC: 0x0000000040000018',
  '   qemu-x-4712  (-------) [001] ....  88.123457: kvm_entry: PC: 0x0000000040000018',
  '  虚拟机-🦀-12345 [003] d..1.  88.123458: tracing_mark_write: phase «début» ✓',
  ' => kvm_arch_vcpu_load+0x4c/0x1d4',
  '',
  'garbage that is not a line',
  '            bash-1234    [001]  1520.114223: r1: (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=0xffff00081d3c0a58 id=65554',
  '            bash-1234    [001]  1520.114224: empty: ',
];
