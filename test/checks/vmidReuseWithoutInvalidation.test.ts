/**
 * vmid-reuse-without-invalidation: a VMID the SMMU may still cache for one owner goes live for
 * another with no covering invalidation in between. What covers it: CMD_TLBI_S12_VMALL of that
 * VMID, CMD_TLBI_NSNH_ALL, and with BTM only, a CPU broadcast (TLBI VMALLS12E1IS of the VMID,
 * TLBI ALLE1IS, a KVM rollover). Not a by-IPA invalidation, not one on another SMMU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze, findingsOf } from './harness.js';

/**
 * Two SMMU domains, one after the other, on VMID 5 of smmu0:
 *   4 alloc 5, 5 SID 1 uses it, 6 SID 1 aborted, 7 free 5, [between], alloc 5, SID 2 uses it.
 */
function domains(btm: 'on' | 'off', between: (w: TraceWriter) => void): { text: string; witnessLines: number[] } {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8').header(`smmu=smmu1 vmid_bits=8 btm=${btm}`);
  // smmu0's header above has no btm=: it defaults to off; the domains live on smmu1.
  const cachedLine = w.smmuVmid('alloc', 'smmu1', 5).ste('smmu1', 1, 's2', 5).lineCount();
  const endLine = w.ste('smmu1', 1, 'abort', 0).lineCount();
  w.smmuVmid('free', 'smmu1', 5);
  between(w);
  const reuseLine = w.smmuVmid('alloc', 'smmu1', 5).ste('smmu1', 2, 's2', 5).lineCount();
  return { text: w.toString(), witnessLines: [cachedLine, endLine, reuseLine] };
}

const cases: readonly { name: string; btm: 'on' | 'off'; between: (w: TraceWriter) => void; clean: boolean; extra?: string[] }[] = [
  { name: 'nothing in between', btm: 'off', between: () => {}, clean: false },
  { name: 'CMD_TLBI_S12_VMALL vmid=5 + CMD_SYNC', btm: 'off', between: (w) => w.cmd('smmu1', 'op=TLBI_S12_VMALL vmid=5').cmd('smmu1', 'op=CMD_SYNC'), clean: true },
  { name: 'CMD_TLBI_S12_VMALL of another VMID (6)', btm: 'off', between: (w) => w.cmd('smmu1', 'op=TLBI_S12_VMALL vmid=6'), clean: false },
  { name: 'CMD_TLBI_S12_VMALL vmid=5 on another SMMU', btm: 'off', between: (w) => w.cmd('smmu0', 'op=TLBI_S12_VMALL vmid=5'), clean: false },
  { name: 'CMD_TLBI_NSNH_ALL', btm: 'off', between: (w) => w.cmd('smmu1', 'op=TLBI_NSNH_ALL'), clean: true },
  { name: 'CMD_TLBI_S2_IPA vmid=5 (one address only)', btm: 'off', between: (w) => w.cmd('smmu1', 'op=TLBI_S2_IPA vmid=5 addr=0x80000000'), clean: false },
  { name: 'CMD_TLBI_NH_ALL vmid=5 (stage 1 only)', btm: 'off', between: (w) => w.cmd('smmu1', 'op=TLBI_NH_ALL vmid=5'), clean: false },
  { name: 'CPU TLBI VMALLS12E1IS vmid=5, BTM on', btm: 'on', between: (w) => w.tlbiVmid(5), clean: true },
  { name: 'CPU TLBI VMALLS12E1IS vmid=5, BTM off', btm: 'off', between: (w) => w.tlbiVmid(5), clean: false },
  { name: 'CPU TLBI VMALLS12E1IS vmid=6, BTM on', btm: 'on', between: (w) => w.tlbiVmid(6), clean: false },
  { name: 'CPU TLBI ALLE1IS, BTM on', btm: 'on', between: (w) => w.tlbiAll(), clean: true },
  { name: 'CPU TLBI ALLE1IS, BTM off', btm: 'off', between: (w) => w.tlbiAll(), clean: false },
  { name: 'CPU TLBI IPAS2E1IS vmid=5, BTM on (one address only)', btm: 'on', between: (w) => w.tlbiIpa(5, 0x80000000n), clean: false },
  { name: 'CPU TLBI VMALLS12E1IS vmid=5, header BTM off but --btm smmu1=on', btm: 'off', between: (w) => w.tlbiVmid(5), clean: true, extra: ['--btm', 'smmu1=on'] },
  { name: 'CPU TLBI VMALLS12E1IS vmid=5, header BTM on but --btm off', btm: 'on', between: (w) => w.tlbiVmid(5), clean: false, extra: ['--btm', 'off'] },
];

for (const c of cases) {
  test(`SMMU domain reuse of VMID 5, ${c.name}: ${c.clean ? 'clean' : 'reported'}`, async () => {
    const { text, witnessLines: lines } = domains(c.btm, c.between);
    assert.deepEqual(lines.slice(0, 2), [5, 6]);
    const reuseLine = lines[2];
    const result = await analyze(text, c.extra ?? []);
    assert.equal(result.report.counts.allEventsAccounted, true);
    if (c.clean) {
      assert.deepEqual(result.found, []);
      assert.equal(result.code, 0);
      assert.equal(result.report.verdict, 'ok');
      return;
    }
    assert.deepEqual(result.found, [`vmid-reuse-without-invalidation@${reuseLine}`]);
    assert.equal(result.code, 1);
    assert.equal(result.report.verdict, 'findings');
    const [finding] = findingsOf(result, 'vmid-reuse-without-invalidation');
    assert.equal(finding?.messageId, 'stale');
    assert.equal(finding?.severity, 'error');
    assert.deepEqual(
      finding?.witnesses.map((w) => w.ref.line),
      lines,
      'cached since the first STE, its end, the new owner\'s STE',
    );
  });
}

test('an invalidation while the first owner\'s STE is still installed does not cover the later reuse', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8 btm=off');
  w.smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 1, 's2', 5).cmd('smmu0', 'op=TLBI_S12_VMALL vmid=5').ste('smmu0', 1, 'abort', 0).smmuVmid('free', 'smmu0', 5);
  const reuseLine = w.smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 2, 's2', 5).lineCount();
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`vmid-reuse-without-invalidation@${reuseLine}`]);
});

/**
 * KVM VMIDs shared with an STE: VM 1 (index 1) is detached and destroyed; three more VMs load
 * on the one CPU of a 2-bit allocator, and the third one's load rolls over and takes index 1,
 * then shares it with SID 1. The rollover's TLBI ALLE1IS reaches the SMMU only under BTM.
 */
function kvmRollover(btm: 'on' | 'off'): { text: string; reuseLine: number } {
  const A = vm(1);
  const w = new TraceWriter().header('vmid_bits=2 cpus=1').header(`smmu=smmu0 vmid_bits=2 btm=${btm}`);
  w.vmCreate(A).load(A, 0).ste('smmu0', 1, 'nested', 1, A).put(0).ste('smmu0', 1, 'abort', 0).vmDestroy(A);
  for (let n = 2; n <= 4; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0);
  const reuseLine = w.ste('smmu0', 1, 'nested', 1, vm(4)).lineCount();
  return { text: w.toString(), reuseLine };
}

test('KVM VMID reused after a rollover, BTM off: the SMMU never saw the rollover\'s flush', async () => {
  const { text, reuseLine } = kvmRollover('off');
  assert.equal(reuseLine, 22);
  const result = await analyze(text);
  assert.deepEqual(result.found, ['vmid-reuse-without-invalidation@22']);
  // VM 1's STE (line 6), its detach (line 8), VM 4's STE.
  assert.deepEqual(findingsOf(result, 'vmid-reuse-without-invalidation')[0]?.witnesses.map((w) => w.ref.line), [6, 8, 22]);
  assert.equal(result.code, 1);
});

test('good twin: the same trace with BTM on, where the rollover\'s TLBI ALLE1IS cleans the SMMU', async () => {
  const result = await analyze(kvmRollover('on').text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('two live owners on one VMID alias: an SMMU domain\'s VMID 5 given to a KVM-shared STE', async () => {
  const A = vm(1);
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8 btm=on');
  w.smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 1, 's2', 5);
  const line = w.vmCreate(A).load(A, 0).put(0).ste('smmu0', 2, 'nested', 5, A).lineCount();
  const result = await analyze(w.toString());
  // The STE also carries a VMID that is not the VM's KVM VMID (1): that is the other check's business.
  assert.deepEqual(result.found, [`vmid-changed-under-bound-ste@${line}`, `vmid-reuse-without-invalidation@${line}`]);
  const [finding] = findingsOf(result, 'vmid-reuse-without-invalidation');
  assert.equal(finding?.messageId, 'aliased');
  assert.deepEqual(finding?.witnesses.map((x) => x.ref.line), [4, line]);
});

test('the same owner coming back to its VMID is not a reuse', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8 btm=off');
  w.smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 1, 's2', 5).ste('smmu0', 1, 'abort', 0).ste('smmu0', 1, 's2', 5).ste('smmu0', 2, 's2', 5);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, []);
});
