/**
 * vm-two-vmids: two CPUs run one VM under two VMID indexes at once. The RFC v2 allocator does
 * it when a pinned VM left with a stale id by a rollover is unpinned while loaded; mainline never.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { oracleRoot, readScenario, scenarioToTrace } from '../helpers/oracle.js';
import { analyze, findingsOf, witnessLines } from './harness.js';

const A = vm(1);

interface Options {
  readonly variant: 'mainline' | 'rfc-v2';
  /** Pin VM 1 after its first run (and unpin it where `unpin` says). */
  readonly pin: boolean;
  readonly unpin?: boolean;
  /** CPU 0 puts VM 1's vCPU before CPU 1 loads it. */
  readonly putFirst?: boolean;
}

/**
 * The oracle's rfcv2-edge-unpin-stale-two-vmids, as a trace: 3-bit VMIDs, 2 CPUs. VM 1 runs
 * with index 1 and is pinned; VMs 2..9 churn through a rollover; VM 1 loads on CPU 0 (slow path,
 * pinned branch: index 1, id left in the old generation); the pin is dropped; VM 1 loads on CPU 1.
 */
function build(o: Options): { text: string; cpu0Load: number; cpu1Load: number } {
  const w = new TraceWriter().header(`vmid_bits=3 cpus=2 variant=${o.variant}`);
  w.vmCreate(A).load(A, 0).put(0);
  if (o.pin) w.pin(A, 1);
  for (let n = 2; n <= 9; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0);
  const cpu0Load = w.load(A, 0).lineCount();
  if (o.putFirst === true) w.put(0);
  if (o.pin && o.unpin !== false) w.unpin(A);
  const cpu1Load = w.load(A, 1).lineCount();
  return { text: w.toString(), cpu0Load, cpu1Load };
}

test('RFC v2: unpinned while loaded on CPU 0, VM 1 loads on CPU 1 with a new index', async () => {
  const { text, cpu0Load, cpu1Load } = build({ variant: 'rfc-v2', pin: true });
  assert.deepEqual([cpu0Load, cpu1Load], [41, 44]);
  const result = await analyze(text);
  assert.deepEqual(result.found, ['vm-two-vmids@44']);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  const [finding] = findingsOf(result, 'vm-two-vmids');
  assert.equal(finding?.severity, 'error');
  assert.deepEqual(witnessLines(finding), ['CPU 0 runs it with VMID 1@41', 'CPU 1 runs it with VMID 4@44']);
  assert.deepEqual([finding?.data['cpu'], finding?.data['newVmid'], finding?.data['otherCpu'], finding?.data['otherVmid']], [1, 4, 0, 1]);
});

test('mainline, the same calls without the pin: never two VMIDs', async () => {
  const result = await analyze(build({ variant: 'mainline', pin: false }).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('good twin (RFC v2): CPU 0 puts the vCPU before the unpin', async () => {
  const result = await analyze(build({ variant: 'rfc-v2', pin: true, putFirst: true }).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('good twin (RFC v2): still pinned, CPU 1 gets the pinned index 1 too (only the leftover pin is noted)', async () => {
  const { text, cpu1Load } = build({ variant: 'rfc-v2', pin: true, unpin: false });
  const result = await analyze(text);
  assert.deepEqual(result.found, [`pin-leaked@${cpu1Load}`]);
  assert.equal(findingsOf(result, 'pin-leaked')[0]?.severity, 'notice');
  assert.equal(result.code, 0);
  assert.equal(result.report.verdict, 'ok');
});

test('the oracle scenario itself (kernel ids in the trace) gives exactly this finding, at the last load', async () => {
  const scenario = readScenario(join(oracleRoot, 'edge', 'rfcv2-edge-unpin-stale-two-vmids.jsonl'));
  const { text, lineOfCall } = scenarioToTrace(scenario);
  const last = lineOfCall[lineOfCall.length - 1];
  assert.ok(last !== undefined);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`vm-two-vmids@${last}`]);
});
