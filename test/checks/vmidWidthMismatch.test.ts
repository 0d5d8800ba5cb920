/**
 * vmid-width-mismatch: an SMMU shares KVM VMIDs while its VMID width differs from KVM's.
 * Narrower SMMU: error (KVM VMIDs above its range cannot be represented); wider: warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { runCli } from '../helpers/cli.js';
import { analyze, findingsOf, witnessLines } from './harness.js';

/** VMs 1..n pin their VMIDs and share them with SIDs 1..n of smmu0; then all detach cleanly. */
function build(kvmBits: number, smmuHeader: string, n = 1): { text: string; steLines: number[] } {
  const w = new TraceWriter().header(`vmid_bits=${kvmBits} cpus=4 variant=rfc-v2`).header(smmuHeader);
  const steLines: number[] = [];
  for (let i = 1; i <= n; i++) steLines.push(w.vmCreate(vm(i)).load(vm(i), 0).put(0).pin(vm(i), i).ste('smmu0', i, 'nested', i, vm(i)).lineCount());
  for (let i = 1; i <= n; i++) w.ste('smmu0', i, 'abort', 0).cmd('smmu0', `op=TLBI_S12_VMALL vmid=${i}`).unpin(vm(i));
  return { text: w.toString(), steLines };
}

test('16-bit KVM, 8-bit SMMU: an error at the first shared STE, once per SMMU', async () => {
  const { text, steLines } = build(16, 'smmu=smmu0 vmid_bits=8 btm=on', 2);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`vmid-width-mismatch@${steLines[0]}`]);
  assert.equal(result.code, 1);
  const [finding] = findingsOf(result, 'vmid-width-mismatch');
  assert.equal(finding?.messageId, 'narrower');
  assert.equal(finding?.severity, 'error');
  assert.deepEqual(witnessLines(finding), [`first shared STE@${steLines[0]}`]);
  assert.deepEqual([finding?.data['smmuBits'], finding?.data['kvmBits'], finding?.data['smmuMax']], [8, 16, 255]);
});

test('good twin: both 16-bit', async () => {
  const result = await analyze(build(16, 'smmu=smmu0 vmid_bits=16 btm=on', 2).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('8-bit KVM, 16-bit SMMU: a warning (verdict findings, exit 1)', async () => {
  const { text, steLines } = build(8, 'smmu=smmu0 vmid_bits=16 btm=on');
  const result = await analyze(text);
  assert.deepEqual(result.found, [`vmid-width-mismatch@${steLines[0]}`]);
  const [finding] = findingsOf(result, 'vmid-width-mismatch');
  assert.equal(finding?.messageId, 'differs');
  assert.equal(finding?.severity, 'warning');
  assert.equal(result.report.verdict, 'findings');
  assert.equal(result.code, 1);
});

test('an SMMU without a stated width takes KVM\'s: no finding', async () => {
  const result = await analyze(build(16, 'smmu=smmu0 btm=on').text);
  assert.deepEqual(result.found, []);
});

test('an SMMU domain on its own VMIDs (no KVM VM) is not sharing: no finding', async () => {
  const w = new TraceWriter().header('vmid_bits=16 cpus=4').header('smmu=smmu0 vmid_bits=8');
  w.smmuVmid('alloc', 'smmu0', 3).ste('smmu0', 1, 's2', 3);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, []);
});

test('two mismatched SMMUs: one finding each', async () => {
  const A = vm(1);
  const w = new TraceWriter().header('vmid_bits=16 cpus=4 variant=rfc-v2').header('smmu=smmu0 vmid_bits=8').header('smmu=smmu1 vmid_bits=8');
  w.vmCreate(A).load(A, 0).put(0).pin(A, 1);
  const first = w.ste('smmu0', 1, 'nested', 1, A).lineCount();
  const second = w.ste('smmu1', 1, 'nested', 1, A).lineCount();
  w.ste('smmu0', 1, 'abort', 0).ste('smmu1', 1, 'abort', 0).cmd('smmu0', 'op=TLBI_S12_VMALL vmid=1').cmd('smmu1', 'op=TLBI_S12_VMALL vmid=1').unpin(A);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`vmid-width-mismatch@${first}`, `vmid-width-mismatch@${second}`]);
});

test('--smmu-vmid-bits gives a width the trace does not: per SMMU or for all', async () => {
  const { text, steLines } = build(16, 'smmu=smmu0 btm=on');
  for (const flag of ['8', 'smmu0=8', 'other=16,smmu0=8']) {
    const result = await analyze(text, ['--smmu-vmid-bits', flag]);
    assert.deepEqual(result.found, [`vmid-width-mismatch@${steLines[0]}`], flag);
    assert.equal(findingsOf(result, 'vmid-width-mismatch')[0]?.messageId, 'narrower');
  }
  // Named for another SMMU only: smmu0 keeps KVM's width.
  assert.deepEqual((await analyze(text, ['--smmu-vmid-bits', 'smmu1=8'])).found, []);
});

test('--smmu-vmid-bits wins over the header, and the disagreement is a config-conflict diagnostic', async () => {
  const { text } = build(16, 'smmu=smmu0 vmid_bits=8 btm=on');
  const result = await analyze(text, ['--smmu-vmid-bits', 'smmu0=16']);
  assert.deepEqual(result.found, []);
  const conflict = result.report.diagnostics.find((d) => d.code === 'config-conflict');
  assert.match(conflict?.samples[0]?.detail ?? '', /^SMMU smmu0 VMID bits: --smmu-vmid-bits says 16, the trace says 8; using 16$/);
});

test('--smmu-vmid-bits refuses what is not a width', async () => {
  for (const bad of ['17', '1', 'smmu0', 'smmu0=', '=8', 'smmu0=8,smmu1', 'eight']) {
    const result = await runCli(['analyze', 'traces/mixed-hazards.trace', '--smmu-vmid-bits', bad]);
    assert.equal(result.code, 64, bad);
    assert.match(result.stderr, /--smmu-vmid-bits/, bad);
  }
});
