/**
 * Issue #16's hazard list, SMMU side: hand-made traces (test/fixtures/hazards/) with the
 * findings the kernel's rules give, derived in each test's comment. The KVM side and the
 * index of the whole list are in kvmSide.test.ts; lost events in lostEvents.test.ts.
 *
 * The rules used (drivers/iommu/arm/arm-smmu-v3/): a stage-2 domain takes its VMID from the
 * SMMU's own IDA, lowest free first (`ida_alloc_range(&smmu->vmid_map, 1, ...)` in
 * `arm_smmu_domain_finalise_s2()`), and on free invalidates it (`arm_smmu_tlb_inv_context()`:
 * CMD_TLBI_S12_VMALL of the VMID + CMD_SYNC) before `ida_free()`. An STE walking a stage 2
 * tagged V lets the SMMU cache entries tagged V; they survive the STE being cleared. Covering
 * invalidations: CMD_TLBI_S12_VMALL V (0x28), CMD_TLBI_NSNH_ALL (0x30), and, only on an SMMU
 * with BTM, the CPUs' TLBI VMALLS12E1IS V and TLBI ALLE1IS. Nothing else covers a whole VMID:
 * CMD_TLBI_S2_IPA (0x2a) one address, CMD_TLBI_NH_* stage 1 only, CFGI/ATC/SYNC no TLB entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter } from '../helpers/traceWriter.js';
import { analyze, findingsOf, witnessLines } from '../checks/harness.js';
import { fixture, outcome, replaceLine } from './fixtures.js';

// ---- clean private domains; reuse without invalidation (its bad twin) ----

/**
 * private-domains-clean.trace, mainline, KVM 8-bit, smmu0 16-bit with BTM off:
 *   9-12   domain A: IDA gives VMID 1 (lowest free), SID 8 s2 STE, CFGI_STE, SYNC
 *   13-16  domain B: VMID 2, SID 9
 *   5-8, 17-19  a KVM VM runs with KVM VMID 1 (id 257 = generation 256 | index 1) on CPUs 0, 1
 *   20-25  A freed as arm_smmu_domain_free does it: STE abort, CFGI, SYNC, then
 *          CMD_TLBI_S12_VMALL vmid=1 + SYNC, then ida_free(1)
 *   26-29  domain C: the IDA gives VMID 1 again; nothing of A's is left in the TLB
 *   30-41  B and C freed the same way.
 * No finding: every VMID was invalidated before it changed owner. The KVM VM's VMID 1 is not
 * the SMMU's VMID 1 (no STE names the VM, and without BTM the CPUs' TLBIs do not reach smmu0),
 * and the widths differ harmlessly for the same reason: verdict ok, exit 0.
 */
test('clean private domains: mainline SMMU domains invalidate their VMID before freeing it', async () => {
  const result = await analyze(fixture('private-domains-clean.trace'));
  assert.deepEqual(outcome(result), { found: [], verdict: 'ok', code: 0 });
  assert.deepEqual(result.report.counts.observedFields, { idAfter: 2, idBefore: 2 });
});

/**
 * private-domains-reuse.trace: the same, except that A is freed (line 23) without the
 * CMD_TLBI_S12_VMALL vmid=1. Domain C's SID 10 goes live on VMID 1 at line 25 while A's
 * entries, cached since SID 8's STE (line 10) and left behind at its abort (line 20), were
 * never invalidated: one vmid-reuse-without-invalidation at 25 with witnesses 10, 20, 25.
 * B (lines 28-33) is freed properly and C at the end too: nothing else.
 */
test('reuse without invalidation: domain A freed without CMD_TLBI_S12_VMALL, C inherits VMID 1', async () => {
  const result = await analyze(fixture('private-domains-reuse.trace'));
  assert.deepEqual(outcome(result), { found: ['vmid-reuse-without-invalidation@25'], verdict: 'findings', code: 1 });
  const [finding] = findingsOf(result, 'vmid-reuse-without-invalidation');
  assert.equal(finding?.messageId, 'stale');
  assert.deepEqual(finding?.witnesses.map((w) => w.ref.line), [10, 20, 25]);
  assert.deepEqual([finding?.data['vmid'], finding?.data['sid']], [1, 10]);
});

// ---- two SMMUs, BTM on and off with CPU TLBIs, TLBI_NSNH_ALL, non-covering commands ----

const bothInvalidated = fixture('two-smmus-both-invalidated.trace');
const broadcastOnly = fixture('two-smmus-broadcast-only.trace');
/** Line 21 of both two-SMMU traces: the only line where they differ. */
const smmu1Teardown = 21;

/** The done-right trace with line 21 (its CMD_TLBI_S12_VMALL vmid=1 to smmu1) replaced by `body`. */
function smmu1Gets(body: string): string {
  return replaceLine(bothInvalidated, smmu1Teardown, /smmu_cmd: smmu=smmu1 op=TLBI_S12_VMALL vmid=1$/, `  qemu-system-aar-4711 [000] d..1.     1.000014: smmu_cmd: ${body}`);
}

/** smmu1's new domain (line 27) inherits VM 1's entries (cached from line 15, STE cleared at 19). */
const smmu1Reuse = 'vmid-reuse-without-invalidation@27';

/**
 * two-smmus-broadcast-only.trace, RFC v2, 8-bit VMIDs everywhere:
 *   8-12   VM 1 loads on CPU 1 (id 257: index 1) and pins it (max_pinned_vmids = 256 - 2 - 2 =
 *          252, none held: ret 1)
 *   14-17  SID 16 on smmu0 and SID 17 on smmu1 share VMID 1 (nested STEs, vm=VM 1)
 *   18-19  both STEs aborted; 20: the VHE host's TLBI VMALLS12E1IS of VMID 1; 21: a bare
 *          CMD_SYNC to smmu1; 22-23 unpin (after the detach: no early release), destroy
 *   24-25  smmu0's IDA gives VMID 1 to a domain, SID 24: smmu0 has BTM, line 20 reached it
 *   26-27  smmu1's IDA gives VMID 1 to a domain, SID 25: smmu1 ignores broadcasts, so VM 1's
 *          entries tagged 1 are still there.
 * One finding, on smmu1 only.
 */
test('two SMMUs, BTM on one: the CPU TLBI cleans smmu0 and not smmu1', async () => {
  const result = await analyze(broadcastOnly);
  assert.deepEqual(outcome(result), { found: [smmu1Reuse], verdict: 'findings', code: 1 });
  const [finding] = findingsOf(result, 'vmid-reuse-without-invalidation');
  assert.equal(finding?.data['smmu'], 'smmu1');
  assert.deepEqual(witnessLines(finding), ['VM 0xffff000010001000 may cache VMID 1@15', 'VM 0xffff000010001000 stops using it@19', 'SMMU smmu1 domain on VMID 1 (allocated at line 26) starts using it@27']);
});

test('good twin: smmu1 also gets CMD_TLBI_S12_VMALL vmid=1 at line 21: no finding', async () => {
  const result = await analyze(bothInvalidated);
  assert.deepEqual(outcome(result), { found: [], verdict: 'ok', code: 0 });
  assert.deepEqual(result.report.counts.divergences, {});
});

test('BTM decides who the CPU TLBI reaches: --btm smmu1=on cleans the bad trace, --btm off dirties the good one on smmu0', async () => {
  // With BTM on smmu1 too, line 20 reaches both SMMUs.
  assert.deepEqual(outcome(await analyze(broadcastOnly, ['--btm', 'smmu1=on'])), { found: [], verdict: 'ok', code: 0 });
  // With BTM off everywhere, smmu0's domain (line 25) inherits VM 1's entries cached from line
  // 14 (cleared at 18); smmu1 still got its own command.
  const result = await analyze(bothInvalidated, ['--btm', 'off']);
  assert.deepEqual(outcome(result), { found: ['vmid-reuse-without-invalidation@25'], verdict: 'findings', code: 1 });
  assert.deepEqual(findingsOf(result, 'vmid-reuse-without-invalidation')[0]?.witnesses.map((w) => w.ref.line), [14, 18, 25]);
});

/**
 * CMD_TLBI_NSNH_ALL (opcode 0x30) invalidates every non-secure, non-hyp entry of the SMMU it
 * is issued to, whatever the VMID, and nothing on another SMMU.
 */
test('CMD_TLBI_NSNH_ALL to smmu1 covers VMID 1, decoded or raw (0x30); to smmu0 it does not', async () => {
  for (const body of ['smmu=smmu1 op=TLBI_NSNH_ALL', '(arm_smmu_cmdq_issue_cmdlist+0x0/0x6a8) smmu=smmu1 n=1 cmds={0x30,0x0} sync=1']) {
    assert.deepEqual(outcome(await analyze(smmu1Gets(body))), { found: [], verdict: 'ok', code: 0 }, body);
  }
  assert.deepEqual(outcome(await analyze(smmu1Gets('smmu=smmu0 op=TLBI_NSNH_ALL'))), { found: [smmu1Reuse], verdict: 'findings', code: 1 });
});

/**
 * Line 21 as `arm_smmu_cmdq_issue_cmdlist()`'s array fetch prints it, dwords built by hand from
 * arm-smmu-v3.h (opcode in dword 0 [7:0], VMID [47:32], ASID [63:48], SID [63:32]; address in
 * dword 1 [63:12]). Only the first two cover VMID 1 on smmu1.
 */
const rawCommands: readonly { readonly what: string; readonly dwords: string; readonly covers: boolean }[] = [
  { what: 'CMD_TLBI_S12_VMALL vmid=1', dwords: '0x100000028,0x0', covers: true },
  { what: 'CMD_TLBI_NSNH_ALL', dwords: '0x30,0x0', covers: true },
  { what: 'CMD_TLBI_S12_VMALL vmid=2 (another VMID)', dwords: '0x200000028,0x0', covers: false },
  { what: 'CMD_TLBI_S2_IPA vmid=1 (one IPA)', dwords: '0x10000002a,0x80000000', covers: false },
  { what: 'CMD_TLBI_NH_ALL vmid=1 (stage 1 only)', dwords: '0x100000010,0x0', covers: false },
  { what: 'CMD_TLBI_NH_ASID vmid=1 asid=3', dwords: '0x3000100000011,0x0', covers: false },
  { what: 'CMD_TLBI_NH_VA vmid=1 asid=3', dwords: '0x3000100000012,0x7f0000', covers: false },
  { what: 'CMD_TLBI_NH_VAA vmid=1', dwords: '0x100000013,0x7f0000', covers: false },
  { what: 'CMD_TLBI_EL2_ALL', dwords: '0x20,0x0', covers: false },
  { what: 'CMD_CFGI_ALL', dwords: '0x4,0x1f', covers: false },
  { what: 'CMD_CFGI_STE sid=25', dwords: '0x1900000003,0x1', covers: false },
  { what: 'CMD_ATC_INV sid=25', dwords: '0x1900000040,0x0', covers: false },
  { what: 'CMD_SYNC', dwords: '0x46,0x0', covers: false },
];

for (const command of rawCommands) {
  test(`raw command list to smmu1: ${command.what} ${command.covers ? 'covers' : 'does not cover'} VMID 1`, async () => {
    const result = await analyze(smmu1Gets(`(arm_smmu_cmdq_issue_cmdlist+0x0/0x6a8) smmu=smmu1 n=1 cmds={${command.dwords}} sync=1`));
    assert.equal(result.report.counts.malformedEvents, 0);
    assert.deepEqual(outcome(result), command.covers ? { found: [], verdict: 'ok', code: 0 } : { found: [smmu1Reuse], verdict: 'findings', code: 1 });
  });
}

// ---- a truncated command list ----

/**
 * Domain A (VMID 5, SID 1) is torn down with one `arm_smmu_cmdq_issue_cmdlist()` batch of n=3
 * commands, after which the IDA gives VMID 5 to domain B (SID 2). What the probe's array
 * fetch captured decides:
 *   truncated-cmdlist-complete.trace  all 3: CFGI_STE 1, TLBI_S2_IPA 5, TLBI_S12_VMALL 5. The
 *       last covers VMID 5: no finding, verdict ok.
 *   truncated-cmdlist.trace  2 of 3 (CFGI_STE, TLBI_S2_IPA), so line 8 is truncated:
 *       `cmdlist-truncated` data loss there. Neither captured command covers VMID 5, but the
 *       third may have: B's STE at line 11 reuses VMID 5 (cached from line 6, cleared at 7),
 *       an inconclusive finding. Nothing conclusive: verdict inconclusive, exit 2.
 *   truncated-cmdlist-tlbi-captured.trace  2 of 3, the first being TLBI_S12_VMALL 5: the
 *       captured commands are applied, so B's STE (line 10) is clean and nothing is found,
 *       conclusive or not. The list is still cut: data loss, verdict inconclusive, exit 2
 *       (the documented contract: a loss with no conclusive finding is never `ok`).
 */
test('truncated command list: the whole batch captured covers VMID 5', async () => {
  assert.deepEqual(outcome(await analyze(fixture('truncated-cmdlist-complete.trace'))), { found: [], verdict: 'ok', code: 0 });
});

test('truncated command list: the reuse after a cut batch is inconclusive', async () => {
  const result = await analyze(fixture('truncated-cmdlist.trace'));
  assert.deepEqual(outcome(result), { found: ['vmid-reuse-without-invalidation@11 inconclusive'], verdict: 'inconclusive', code: 2 });
  assert.equal(result.report.dataLossAt?.line, 8);
  assert.deepEqual(result.report.diagnostics.find((d) => d.code === 'cmdlist-truncated')?.samples.map((s) => s.line), [8]);
  assert.deepEqual(findingsOf(result, 'vmid-reuse-without-invalidation')[0]?.witnesses.map((w) => w.ref.line), [6, 7, 11]);
});

test('truncated command list: a captured TLBI_S12_VMALL still counts, the cut still makes the verdict inconclusive', async () => {
  const result = await analyze(fixture('truncated-cmdlist-tlbi-captured.trace'));
  assert.deepEqual(outcome(result), { found: [], verdict: 'inconclusive', code: 2 });
  assert.equal(result.report.dataLossAt?.line, 7);
});

test('a truncated list after the reuse leaves the finding conclusive', async () => {
  // A cut batch says nothing about what came before it.
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8 btm=off');
  w.smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 1, 's2', 5).ste('smmu0', 1, 'abort', 0).smmuVmid('free', 'smmu0', 5);
  const reuse = w.smmuVmid('alloc', 'smmu0', 5).ste('smmu0', 2, 's2', 5).lineCount();
  w.cmd('smmu0', 'n=3 cmds={0x200000003,0x1,0x50000002a,0x80000000} sync=1');
  assert.deepEqual(outcome(await analyze(w.toString())), { found: [`vmid-reuse-without-invalidation@${reuse}`], verdict: 'findings', code: 1 });
});
