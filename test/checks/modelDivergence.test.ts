/**
 * model-divergence: the trace records an allocator result (ids before/after an update, a pin's
 * return value, the id at destroy, a rollover's generation) that the model does not reproduce.
 * Only the first divergence of each kind is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze, findingsOf, witnessLines } from './harness.js';

const A = vm(1);
const B = vm(2);

/** 8-bit VMIDs: VM 1 gets id 257 (generation 1, index 1), VM 2 id 258; VM 1 runs again. */
function updates(idA: number, idB: number): { text: string; lines: number[] } {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2');
  const lines = [
    w.vmCreate(A).load(A, 0, 0, idA).lineCount(),
    w.put(0).vmCreate(B).load(B, 1, 0, idB).lineCount(),
    w.put(1).load(A, 0, idA, idA).lineCount(),
  ];
  w.put(0);
  return { text: w.toString(), lines };
}

test('a wrong id after an update: reported at the return line', async () => {
  const { text, lines } = updates(257, 259);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`model-divergence@${lines[1]}`]);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  const [finding] = findingsOf(result, 'model-divergence');
  assert.equal(finding?.messageId, 'id-after');
  assert.deepEqual([finding?.data['observed'], finding?.data['expected']], ['259', '258']);
  assert.deepEqual(witnessLines(finding), [`first divergence of this kind@${lines[1]}`]);
});

test('good twin: the ids the kernel really gives', async () => {
  const result = await analyze(updates(257, 258).text);
  assert.deepEqual(result.found, []);
  assert.deepEqual(result.report.counts.divergences, {});
  assert.equal(result.code, 0);
  assert.equal(result.report.verdict, 'ok');
});

test('two wrong ids after updates: only the first id-after is reported; the trace\'s own id read back is an id-before', async () => {
  const { text, lines } = updates(300, 259);
  const result = await analyze(text);
  const entryOfThirdLoad = (lines[2] ?? 0) - 1;
  assert.deepEqual(result.found, [`model-divergence@${lines[0]}`, `model-divergence@${entryOfThirdLoad}`]);
  assert.deepEqual(findingsOf(result, 'model-divergence').map((f) => f.messageId), ['id-after', 'id-before']);
  // Every divergence is still counted: three returns and one entry disagree.
  assert.deepEqual(result.report.counts.divergences, { 'id-after': 3, 'id-before': 1 });
});

test('a wrong id before an update: reported at the entry line', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2');
  w.vmCreate(A).load(A, 0, 0, 257).put(0);
  const entry = w.update(A, 0, 258).lineCount();
  w.updateReturn(A, 0, 257).put(0);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`model-divergence@${entry}`]);
  assert.equal(findingsOf(result, 'model-divergence')[0]?.messageId, 'id-before');
});

function pinTrace(header: string, ret: number): { text: string; pinLine: number } {
  const w = new TraceWriter().header(header);
  const pinLine = w.vmCreate(A).load(A, 0, 0, 257).put(0).pin(A, ret).lineCount();
  return { text: w.unpin(A).toString(), pinLine };
}

test('a wrong pin return value: reported at the pin\'s return line', async () => {
  const { text, pinLine } = pinTrace('vmid_bits=8 cpus=2 variant=rfc-v2', 2);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`model-divergence@${pinLine}`]);
  const [finding] = findingsOf(result, 'model-divergence');
  assert.equal(finding?.messageId, 'pin-ret');
  assert.deepEqual([finding?.data['observed'], finding?.data['expected']], ['2', '1']);
});

test('good twin: the pin returns the VM\'s index 1', async () => {
  const result = await analyze(pinTrace('vmid_bits=8 cpus=2 variant=rfc-v2', 1).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('an RFC v3 refusal (-EINVAL) replayed as RFC v2 diverges: the configuration is wrong', async () => {
  const w = new TraceWriter().header('vmid_bits=3 cpus=2');
  for (let n = 1; n <= 4; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0).pin(vm(n), n);
  const line = w.vmCreate(vm(5)).load(vm(5), 0).put(0).pin(vm(5), -22).lineCount();
  for (let n = 1; n <= 4; n++) w.unpin(vm(n));
  const v2 = await analyze(w.toString(), ['--variant', 'rfc-v2']);
  assert.deepEqual(v2.found, [`model-divergence@${line}`, `pin-exhausted@${line}`]);
  assert.deepEqual([findingsOf(v2, 'model-divergence')[0]?.data['observed'], findingsOf(v2, 'model-divergence')[0]?.data['expected']], ['-22', '0']);
  const v3 = await analyze(w.toString(), ['--variant', 'rfc-v3']);
  assert.deepEqual(v3.found, [`pin-exhausted@${line}`]);
});

test('a wrong id at destroy: reported at the destroy line', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2');
  const line = w.vmCreate(A).load(A, 0, 0, 257).put(0).vmDestroy(A, 258).lineCount();
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`model-divergence@${line}`]);
  assert.equal(findingsOf(result, 'model-divergence')[0]?.messageId, 'destroy-id');
  const twin = new TraceWriter().header('vmid_bits=8 cpus=2');
  twin.vmCreate(A).load(A, 0, 0, 257).put(0).vmDestroy(A, 257);
  assert.deepEqual((await analyze(twin.toString())).found, []);
});

/** Entry probes only (no returns), with the capture's `rollover` probe inside VM 4's update. */
function rollover(gen: number): { text: string; line: number } {
  const w = new TraceWriter().header('vmid_bits=2 cpus=1');
  for (let n = 1; n <= 3; n++) w.vmCreate(vm(n)).update(vm(n), 0).put(0);
  const line = w.vmCreate(vm(4)).update(vm(4), 0).event('vmid_rollover', `(kvm_arm_vmid_update+0x28c/0x3f0) gen=${gen}`, { cpu: 0 }).lineCount();
  return { text: w.put(0).toString(), line };
}

test('a rollover probe showing the wrong generation (entry-only trace)', async () => {
  const { text, line } = rollover(16);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`model-divergence@${line}`]);
  assert.equal(findingsOf(result, 'model-divergence')[0]?.messageId, 'rollover');
  const good = await analyze(rollover(8).text);
  assert.deepEqual(good.found, []);
  assert.equal(good.code, 0);
});

/** Entry and return probes, with the rollover probe between VM 4's update entry and return. */
function rolloverInside(gen: number): { text: string; line: number } {
  const w = new TraceWriter().header('vmid_bits=2 cpus=1');
  for (let n = 1; n <= 3; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0);
  const line = w.vmCreate(vm(4)).update(vm(4), 0).event('vmid_rollover', `(kvm_arm_vmid_update+0x28c/0x3f0) gen=${gen}`, { cpu: 0 }).lineCount();
  return { text: w.updateReturn(vm(4), 0).put(0).toString(), line };
}

test('a rollover probe between an update\'s entry and its return belongs to that update', async () => {
  const result = await analyze(rolloverInside(8).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.report.dataLossAt, null);
  assert.equal(result.report.verdict, 'ok');
  assert.equal(result.code, 0);
});

test('with return probes, a rollover probe two generations ahead diverges', async () => {
  const { text, line } = rolloverInside(12);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`model-divergence@${line}`]);
  assert.deepEqual([findingsOf(result, 'model-divergence')[0]?.data['observed'], findingsOf(result, 'model-divergence')[0]?.data['expected']], ['12', '8']);
});
