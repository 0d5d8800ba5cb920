/**
 * shared-unpinned follows a binding for the VM it was made for, not for its pointer: a VM
 * destroyed while its device is still bound, and a new VM at the same address, must not make
 * the new VM's VMID a "change" under the old STE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';
import { compareText, linesOf, runOf, specOf } from './helpers.js';

test('a new VM at a bound VM\'s address is not the bound VM: no VMID change is charged to it', async () => {
  const p = vmPointer(1);
  // 3-bit VMIDs, 1 CPU. Line 2: VM P is created; lines 3-4: its first load takes VMID 1 (the
  // first free index); line 5: put. Line 6: SID 1's STE shares P's VMID (the trace's attach).
  // Line 7: P is destroyed with the STE still bound (its detach comes at line 11). Line 8: a
  // new VM is created at the same address; lines 9-10: its first load gets VMID 2, since
  // vmid.c frees no index at destruction (only a rollover clears vmid_map).
  const text = new TraceWriter()
    .header('vmid_bits=3 cpus=1 variant=mainline')
    .vmCreate(p)
    .load(p, 0)
    .put(0)
    .ste('smmu0', 1, 'nested', 1, p)
    .vmDestroy(p)
    .vmCreate(p)
    .load(p, 0)
    .put(0)
    .ste('smmu0', 1, 'abort', 0)
    .toString();
  const result = await compareText(text, specOf(['shared-unpinned'], 'trace'));
  const run = runOf(result, 'shared-unpinned');
  assert.equal(result.workload.attaches, 1);
  // The STE of line 6 carried VMID 1 for the first VM; the second VM's VMID 2 is not a change under it.
  assert.deepEqual(linesOf(run, 'what-if-policy', 'sharedVmidChanged'), []);
  assert.equal(run.metrics.vmidChangesUnderBoundSte, 0);
  assert.equal(run.metrics.invalidationsMissed, 0);
});
