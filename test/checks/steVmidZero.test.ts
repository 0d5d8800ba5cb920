/**
 * ste-vmid-zero: an STE that walks a stage 2 (s2, nested) with S2VMID 0, the RFC v2 fallback
 * after a refused pin. Bypass, S1-only and abort STEs carry VMID 0 legitimately.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze, findingsOf, witnessLines } from './harness.js';

/**
 * 3-bit VMIDs, 2 CPUs: 4 pinnable VMIDs held by VMs 1..4; VM 5's pin is refused (`refused`)
 * or, after VM 4 unpins, succeeds. Then the device is bound to VM 5 with `s2vmid`.
 */
function build(variant: 'rfc-v2' | 'rfc-v3', refused: boolean, s2vmid: number): { text: string; pinLine: number; steLine: number } {
  const w = new TraceWriter().header(`vmid_bits=3 cpus=2 variant=${variant}`).header('smmu=smmu0 vmid_bits=3 btm=on');
  for (let n = 1; n <= 4; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0).pin(vm(n), n);
  if (!refused) w.unpin(vm(4));
  const pinLine = w.vmCreate(vm(5)).load(vm(5), 0).put(0).pin(vm(5), refused ? (variant === 'rfc-v3' ? -22 : 0) : 5).lineCount();
  const steLine = w.ste('smmu0', 16, 'nested', s2vmid, vm(5)).lineCount();
  w.ste('smmu0', 16, 'abort', 0).cmd('smmu0', `op=TLBI_S12_VMALL vmid=${s2vmid}`);
  for (const n of refused ? [1, 2, 3, 4] : [1, 2, 3, 5]) w.unpin(vm(n));
  return { text: w.toString(), pinLine, steLine };
}

test('RFC v2: the pin is refused and the nested STE is programmed with S2VMID 0', async () => {
  const { text, pinLine, steLine } = build('rfc-v2', true, 0);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`pin-exhausted@${pinLine}`, `ste-vmid-zero@${steLine}`]);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  const [finding] = findingsOf(result, 'ste-vmid-zero');
  assert.equal(finding?.messageId, 'afterFailedPin');
  assert.equal(finding?.severity, 'error');
  assert.deepEqual(witnessLines(finding), [`pin refused@${pinLine}`, `STE written with S2VMID 0@${steLine}`]);
  assert.equal(finding?.data['pinLine'], pinLine);
});

test('good twin: VM 4 unpins first, the pin succeeds and the STE carries the pinned VMID 5', async () => {
  const result = await analyze(build('rfc-v2', false, 5).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
  assert.equal(result.report.verdict, 'ok');
});

test('RFC v3: programming VMID 0 after -EINVAL is reported too, and says -EINVAL', async () => {
  const { text, pinLine, steLine } = build('rfc-v3', true, 0);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`pin-exhausted@${pinLine}`, `ste-vmid-zero@${steLine}`]);
  const [finding] = findingsOf(result, 'ste-vmid-zero');
  assert.match(finding?.explanation[0] ?? '', /returned -EINVAL/);
});

test('a refused pin followed by a successful one is no longer the reason for a later VMID 0', async () => {
  const w = new TraceWriter().header('vmid_bits=3 cpus=2 variant=rfc-v2').header('smmu=smmu0 vmid_bits=3');
  for (let n = 1; n <= 4; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0).pin(vm(n), n);
  const refusedLine = w.vmCreate(vm(5)).load(vm(5), 0).put(0).pin(vm(5), 0).lineCount();
  w.unpin(vm(1)).pin(vm(5), 5);
  const steLine = w.ste('smmu0', 1, 's2', 0, vm(5)).lineCount();
  w.ste('smmu0', 1, 'abort', 0);
  for (const n of [2, 3, 4, 5]) w.unpin(vm(n));
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`pin-exhausted@${refusedLine}`, `ste-vmid-zero@${steLine}`]);
  const [finding] = findingsOf(result, 'ste-vmid-zero');
  assert.equal(finding?.messageId, 'plain');
  assert.deepEqual(witnessLines(finding), [`STE written with S2VMID 0@${steLine}`]);
});

test('an s2 STE with VMID 0 and no VM is reported on its own line', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=4').header('smmu=smmu0 vmid_bits=8');
  w.ste('smmu0', 3, 's2', 0);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, ['ste-vmid-zero@3']);
  assert.equal(findingsOf(result, 'ste-vmid-zero')[0]?.messageId, 'plain');
  assert.equal(result.code, 1);
});

test('bypass, S1-only and abort STEs use VMID 0 legitimately: no finding', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=4').header('smmu=smmu0 vmid_bits=8');
  w.ste('smmu0', 3, 'bypass', 0).ste('smmu0', 4, 's1', 0).ste('smmu0', 5, 'abort', 0);
  const result = await analyze(w.toString());
  assert.equal(result.report.counts.allEventsAccounted, true);
  assert.equal(result.report.checks.length, 10);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});
