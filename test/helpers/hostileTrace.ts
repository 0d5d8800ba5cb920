/** A trace whose task names and file name would be markup if the HTML report did not escape them. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TraceWriter, vmPointer } from './traceWriter.js';

/** A task name, and a file name, that would be markup if they were not escaped. */
export const hostileTask = `<script>alert(1)</script>&"q'`;
export const hostileFile = `hostile<b>&"'.trace`;

/**
 * 2-bit VMIDs on one CPU, RFC v2: max_pinned_vmids = 4 - 1 - 2 = 1. The first VM's pin takes
 * the only pinnable VMID; the second's is refused (pin-exhausted), its witness the return
 * line of a task whose name is markup.
 */
export function hostileTrace(): string {
  const [a, b] = [vmPointer(1), vmPointer(2)];
  const trace = new TraceWriter().header('vmid_bits=2 cpus=1 variant=rfc-v2').vmCreate(a).vmCreate(b);
  trace.load(a, 0).put(0).load(b, 0).put(0);
  for (const vm of [a, b]) {
    trace.event('vmid_pin', `(kvm_arm_pinned_vmid_get+0x0/0x110) kvm_vmid=${vm}`, { cpu: 0, task: hostileTask, pid: 4711 });
    trace.event('vmid_pin_ret', `(iommufd_viommu_alloc+0x88/0x1f0 <- kvm_arm_pinned_vmid_get) kvm_vmid=${vm}`, { cpu: 0, task: hostileTask, pid: 4711 });
  }
  return trace.toString();
}

export function writeHostileTrace(folder: string): string {
  const path = join(folder, hostileFile);
  writeFileSync(path, hostileTrace());
  return path;
}
