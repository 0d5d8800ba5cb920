/**
 * vmid-changed-under-bound-ste: a VM sharing its KVM VMID with an STE runs under another VMID,
 * because a rollover moved it (no pin), or because the STE was written with a wrong VMID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze, findingsOf, witnessLines } from './harness.js';

/**
 * 2-bit VMIDs, 1 CPU: VM 1 runs with index 1 and its device's STE shares it; VMs 2 and 3 take
 * indexes 2 and 3, VM 4's load rolls over and takes index 1, and VM 1's next load needs a new
 * index unless it is pinned. VM 1 then loads twice more.
 */
function build(variant: string, pin: boolean, btm = 'on'): { text: string; steLine: number; reloadLine: number; lastLoadLine: number } {
  const A = vm(1);
  const w = new TraceWriter().header(`vmid_bits=2 cpus=1 variant=${variant}`).header(`smmu=smmu0 vmid_bits=2 btm=${btm}`);
  w.vmCreate(A).load(A, 0).put(0);
  if (pin) w.pin(A, 1);
  const steLine = w.ste('smmu0', 8, 'nested', 1, A).cmd('smmu0', 'op=CFGI_STE sid=8').lineCount() - 1;
  for (let n = 2; n <= 4; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0);
  const reloadLine = w.load(A, 0).lineCount();
  const lastLoadLine = w.put(0).load(A, 0).put(0).lineCount() - 1;
  w.ste('smmu0', 8, 'abort', 0).cmd('smmu0', 'op=TLBI_S12_VMALL vmid=1');
  if (pin) w.unpin(A);
  return { text: w.toString(), steLine, reloadLine, lastLoadLine };
}

test('unpinned (RFC v2 kernel, no pin taken): after the rollover VM 1 runs with VMID 2 under an STE tagged 1', async () => {
  const { text, steLine, reloadLine } = build('rfc-v2', false);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`vmid-changed-under-bound-ste@${reloadLine}`]);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  const [finding] = findingsOf(result, 'vmid-changed-under-bound-ste');
  assert.equal(finding?.messageId, 'changed');
  assert.deepEqual(witnessLines(finding), [`STE shares VMID 1@${steLine}`, `VM loads with VMID 2@${reloadLine}`]);
  assert.deepEqual([finding?.data['steVmid'], finding?.data['newVmid'], finding?.data['gen']], [1, 2, 2]);
  assert.ok(finding?.needed?.includes('kvm_arm_pinned_vmid_get'));
});

test('good twin: the same trace with the VMID pinned before the STE shares it', async () => {
  const result = await analyze(build('rfc-v2', true).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('mainline, BTM on or off: the rollover moves an unpinned VM whatever the SMMU obeys', async () => {
  for (const btm of ['on', 'off']) {
    const { text, reloadLine, lastLoadLine } = build('mainline', false, btm);
    assert.ok(lastLoadLine > reloadLine);
    const result = await analyze(text);
    // One finding for the STE and the new VMID, not one per later load.
    assert.deepEqual(result.found, [`vmid-changed-under-bound-ste@${reloadLine}`], `btm ${btm}`);
  }
});

test('an STE written with a VMID other than the VM\'s KVM VMID is reported once, at the write', async () => {
  const A = vm(1);
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8');
  w.vmCreate(A).load(A, 0).put(0);
  const steLine = w.ste('smmu0', 1, 's2', 2, A).lineCount();
  w.load(A, 1).put(1).load(A, 0).put(0);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`vmid-changed-under-bound-ste@${steLine}`]);
  const [finding] = findingsOf(result, 'vmid-changed-under-bound-ste');
  assert.equal(finding?.messageId, 'installedStale');
  assert.deepEqual(witnessLines(finding), [`STE written@${steLine}`]);
  assert.deepEqual([finding?.data['steVmid'], finding?.data['kvmVmid']], [2, 1]);
});

test('good twin: the STE written with the VM\'s own VMID 1', async () => {
  const A = vm(1);
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8');
  w.vmCreate(A).load(A, 0).put(0).ste('smmu0', 1, 's2', 1, A).load(A, 1).put(1).load(A, 0).put(0);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('an STE naming a VM that never ran (KVM id 0) is not compared', async () => {
  const A = vm(1);
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8');
  w.vmCreate(A).ste('smmu0', 1, 's2', 7, A);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, []);
});
