/**
 * pin-released-while-bound: the last pin reference dropped while an STE still carries the
 * VM's VMID (detach in the wrong order). The refcount decides when the pin is released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze, findingsOf, witnessLines } from './harness.js';

const A = vm(1);

function bound(): { w: TraceWriter; steLine: number } {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2 variant=rfc-v2').header('smmu=smmu0 vmid_bits=8 btm=on');
  const steLine = w.vmCreate(A).load(A, 0).put(0).pin(A, 1).ste('smmu0', 1, 'nested', 1, A).lineCount();
  w.cmd('smmu0', 'op=CFGI_STE sid=1');
  return { w, steLine };
}

const detach = (w: TraceWriter, sid = 1) => w.ste('smmu0', sid, 'abort', 0).cmd('smmu0', `op=CFGI_STE sid=${sid}`).cmd('smmu0', 'op=TLBI_S12_VMALL vmid=1');

test('unpin before the STE is cleared: reported at the unpin', async () => {
  const { w, steLine } = bound();
  const unpinLine = w.unpin(A).lineCount();
  detach(w);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`pin-released-while-bound@${unpinLine}`]);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  const [finding] = findingsOf(result, 'pin-released-while-bound');
  assert.equal(finding?.severity, 'error');
  assert.deepEqual(witnessLines(finding), [`STE shares VMID 1@${steLine}`, `pin released@${unpinLine}`]);
  assert.deepEqual([finding?.data['vmid'], finding?.data['sid'], finding?.data['smmu']], [1, 1, 'smmu0']);
});

test('good twin: the STE is cleared and VMID 1 invalidated, then the pin released', async () => {
  const { w } = bound();
  const result = await analyze(detach(w).unpin(A).toString());
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('dropping one of two references while bound releases nothing', async () => {
  const { w } = bound();
  const result = await analyze(detach(w.pin(A, 1).unpin(A)).unpin(A).toString());
  assert.deepEqual(result.found, []);
});

test('one of two STEs cleared before the unpin: the one left is reported', async () => {
  const { w } = bound();
  const sid2 = w.ste('smmu0', 2, 'nested', 1, A).lineCount();
  const unpinLine = detach(w).unpin(A).lineCount();
  detach(w, 2);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`pin-released-while-bound@${unpinLine}`]);
  const [finding] = findingsOf(result, 'pin-released-while-bound');
  assert.equal(finding?.data['sid'], 2);
  assert.deepEqual(witnessLines(finding), [`STE shares VMID 1@${sid2}`, `pin released@${unpinLine}`]);
});
