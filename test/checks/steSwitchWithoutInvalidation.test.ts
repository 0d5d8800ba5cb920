/**
 * ste-switch-without-invalidation (Jean-Philippe Brucker's point): an STE moved from the SMMU's
 * own VMID 5 to a pinned KVM VMID must be followed by an invalidation of VMID 5 after the
 * rewrite. Broken when VMID 5 is freed (error) or the trace ends (warning) first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze, findingsOf, witnessLines } from './harness.js';

interface Lines {
  readonly uses: number;
  readonly rewrite: number;
  readonly free: number | undefined;
  readonly last: number;
}

/**
 * VM 1 pins VMID 1; SID 1 runs on the SMMU's own VMID 5, then moves to VM 1's VMID 1
 * (`after` runs right after the rewrite), then VMID 5 is freed unless `keep`; at the end the
 * device is detached and the pin released.
 */
function build(opts: { btm?: 'on' | 'off'; before?: (w: TraceWriter) => void; after?: (w: TraceWriter) => void; keep?: boolean }): { text: string; lines: Lines } {
  const A = vm(1);
  const w = new TraceWriter().header('vmid_bits=8 cpus=2 variant=rfc-v2').header(`smmu=smmu0 vmid_bits=8 btm=${opts.btm ?? 'off'}`);
  w.vmCreate(A).load(A, 0).put(0).pin(A, 1);
  const uses = w.smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 1, 's2', 5).lineCount();
  opts.before?.(w);
  const rewrite = w.ste('smmu0', 1, 'nested', 1, A).lineCount();
  w.cmd('smmu0', 'op=CFGI_STE sid=1');
  opts.after?.(w);
  const free = opts.keep === true ? undefined : w.smmuVmid('free', 'smmu0', 5).lineCount();
  const last = w.ste('smmu0', 1, 'abort', 0).cmd('smmu0', 'op=TLBI_S12_VMALL vmid=1').unpin(A).lineCount();
  return { text: w.toString(), lines: { uses, rewrite, free, last } };
}

const invalidate5 = (w: TraceWriter) => w.cmd('smmu0', 'op=TLBI_S12_VMALL vmid=5').cmd('smmu0', 'op=CMD_SYNC');

test('VMID 5 freed with no invalidation since the rewrite: an error at the free', async () => {
  const { text, lines } = build({});
  const result = await analyze(text);
  assert.deepEqual(result.found, [`ste-switch-without-invalidation@${lines.free}`]);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  const [finding] = findingsOf(result, 'ste-switch-without-invalidation');
  assert.equal(finding?.messageId, 'freed');
  assert.equal(finding?.severity, 'error');
  assert.deepEqual(witnessLines(finding), [`STE uses VMID 5@${lines.uses}`, `STE rewritten@${lines.rewrite}`, `VMID 5 freed@${lines.free}`]);
  assert.deepEqual([finding?.data['oldVmid'], finding?.data['newVmid']], [5, 1]);
});

test('good twin: CMD_TLBI_S12_VMALL vmid=5 + CMD_SYNC after the rewrite', async () => {
  const result = await analyze(build({ after: invalidate5 }).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('an invalidation before the rewrite does not count', async () => {
  const { text, lines } = build({ before: invalidate5 });
  const result = await analyze(text);
  assert.deepEqual(result.found, [`ste-switch-without-invalidation@${lines.free}`]);
});

test('VMID 5 never freed and never invalidated: a warning at the end of the trace', async () => {
  const { text, lines } = build({ keep: true });
  const result = await analyze(text);
  assert.deepEqual(result.found, [`ste-switch-without-invalidation@${lines.last}`]);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  const [finding] = findingsOf(result, 'ste-switch-without-invalidation');
  assert.equal(finding?.messageId, 'end');
  assert.equal(finding?.severity, 'warning');
  assert.deepEqual(witnessLines(finding), [`STE uses VMID 5@${lines.uses}`, `STE rewritten@${lines.rewrite}`]);
  // The VMID the STE moved to, even though SID 1 was aborted again before the end.
  assert.equal(finding?.data['newVmid'], 1);
});

test('good twin of the trace-end case: invalidated after the rewrite', async () => {
  const result = await analyze(build({ keep: true, after: invalidate5 }).text);
  assert.deepEqual(result.found, []);
});

test('CMD_TLBI_NSNH_ALL covers it', async () => {
  const result = await analyze(build({ after: (w) => w.cmd('smmu0', 'op=TLBI_NSNH_ALL') }).text);
  assert.deepEqual(result.found, []);
});

test('a CPU TLBI VMALLS12E1IS of VMID 5 covers it with BTM on, not with BTM off', async () => {
  const on = await analyze(build({ btm: 'on', after: (w) => w.tlbiVmid(5) }).text);
  assert.deepEqual(on.found, []);
  const off = build({ btm: 'off', after: (w) => w.tlbiVmid(5) });
  const offResult = await analyze(off.text);
  assert.deepEqual(offResult.found, [`ste-switch-without-invalidation@${off.lines.free}`]);
});

test('CMD_TLBI_S2_IPA of VMID 5 does not cover it', async () => {
  const { text, lines } = build({ after: (w) => w.cmd('smmu0', 'op=TLBI_S2_IPA vmid=5 addr=0x40000000') });
  const result = await analyze(text);
  assert.deepEqual(result.found, [`ste-switch-without-invalidation@${lines.free}`]);
});

test('an abort or bypass STE whose S2VMID field says 5 does not discharge the obligation', async () => {
  for (const cfg of ['abort', 'bypass', 's1']) {
    const { text, lines } = build({ after: (w) => w.ste('smmu0', 9, cfg, 5) });
    const result = await analyze(text);
    assert.deepEqual(result.found, [`ste-switch-without-invalidation@${lines.free}`], cfg);
  }
});

test('no obligation while another STE of the same domain still uses VMID 5; it starts at the last switch', async () => {
  const A = vm(1);
  const w = new TraceWriter().header('vmid_bits=8 cpus=2 variant=rfc-v2').header('smmu=smmu0 vmid_bits=8');
  w.vmCreate(A).load(A, 0).put(0).pin(A, 1).smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 1, 's2', 5);
  const sid2 = w.ste('smmu0', 2, 's2', 5).lineCount();
  w.ste('smmu0', 1, 'nested', 1, A);
  const lastSwitch = w.ste('smmu0', 2, 'nested', 1, A).lineCount();
  const free = w.smmuVmid('free', 'smmu0', 5).lineCount();
  w.ste('smmu0', 1, 'abort', 0).ste('smmu0', 2, 'abort', 0).cmd('smmu0', 'op=TLBI_S12_VMALL vmid=1').unpin(A);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`ste-switch-without-invalidation@${free}`]);
  assert.deepEqual(witnessLines(findingsOf(result, 'ste-switch-without-invalidation')[0]), [`STE uses VMID 5@${sid2}`, `STE rewritten@${lastSwitch}`, `VMID 5 freed@${free}`]);
});

test('VMID 5 going live for a KVM VM before it is invalidated: reported once, as a reuse, not also as a switch', async () => {
  // Pinned KVM VMIDs alias the SMMU's own: VM 5 holds KVM VMID 5 while the SMMU's domain still owns 5.
  const w = new TraceWriter().header('vmid_bits=8 cpus=2 variant=rfc-v2').header('smmu=smmu0 vmid_bits=8');
  for (let n = 1; n <= 5; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0);
  w.pin(vm(1), 1).pin(vm(5), 5).smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 1, 's2', 5).ste('smmu0', 1, 'nested', 1, vm(1));
  const reuse = w.ste('smmu0', 2, 'nested', 5, vm(5)).lineCount();
  w.ste('smmu0', 1, 'abort', 0).ste('smmu0', 2, 'abort', 0).cmd('smmu0', 'op=TLBI_NSNH_ALL').unpin(vm(1)).unpin(vm(5));
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`vmid-reuse-without-invalidation@${reuse}`]);
  assert.equal(findingsOf(result, 'vmid-reuse-without-invalidation')[0]?.messageId, 'stale');
});
