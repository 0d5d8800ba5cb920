/**
 * A finding's lockdep-shaped parts as data: the parties, the scenario (who did what, in which
 * order) and, where exact, what was needed with its place. Every check fills them; the
 * scenario's trace rows are the finding's witness lines, on the CPU each line ran on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allChecks } from '../../src/checks/index.js';
import { pages } from '../helpers/checkPages.js';
import { analyze, findingsOf, type JsonFinding } from './harness.js';

/** Every finding of every check page's examples. */
async function exampleFindings(): Promise<JsonFinding[]> {
  const findings: JsonFinding[] = [];
  for (const page of pages.values()) for (const block of page.traces) findings.push(...(await analyze(block.text)).report.findings);
  return findings;
}

test("every check's findings name their parties, and their scenario's trace rows are their witnesses, on the witness's CPU", async () => {
  const findings = await exampleFindings();
  // Every check has a violating example, so every check is looked at here.
  assert.deepEqual([...new Set(findings.map((finding) => finding.checkId))].sort(), allChecks.map((check) => check.meta.id).sort());
  let missingSteps = 0;
  for (const finding of findings) {
    const where = `${finding.checkId}@${finding.line}`;
    assert.ok(finding.parties.length > 0, `${where}: no parties`);
    for (const party of finding.parties) if (party.kind === 'ste') assert.equal(party.name, `SMMU ${party.smmu} SID ${party.sid}`, where);
    const witnessCpu = new Map(finding.witnesses.map((witness) => [witness.ref.line, witness.ref.cpu]));
    const rows = finding.scenario.flatMap((step) => (step.kind === 'event' ? [step] : []));
    // Pins still held at the end are listed, not interleaved: the one finding without a scenario.
    if (finding.messageId === 'traceEnd') assert.deepEqual(finding.scenario, [], where);
    else assert.deepEqual([...new Set(rows.map((step) => step.line))].sort((a, b) => a - b), [...witnessCpu.keys()].sort((a, b) => a - b), where);
    for (const step of rows) if (step.actor.kind === 'cpu') assert.equal(step.actor.cpu, witnessCpu.get(step.line), `${where}: line ${step.line}`);
    missingSteps += finding.scenario.filter((step) => step.kind === 'missing').length;
    const remedy = finding.remedy;
    if (remedy?.afterLine !== undefined && remedy.beforeLine !== undefined) assert.ok(remedy.afterLine < remedy.beforeLine, where);
    for (const line of [remedy?.afterLine, remedy?.beforeLine]) if (line !== undefined) assert.ok(witnessCpu.has(line), `${where}: the remedy's place ${line} is a witness line`);
  }
  assert.ok(missingSteps >= 3, 'the invalidations and the unpin that never came are shown as missing');
});

test('vmid-reuse-without-invalidation: two SMMU domains on one VMID, the invalidation that belonged between their STEs', async () => {
  // docs/checks/vmid-reuse-without-invalidation.md, first example: VMID 5 allocated at line 3,
  // SID 1's STE uses it at line 4 and is aborted at line 5 (only a CFGI_STE follows, no TLBI),
  // VMID 5 is freed and allocated again (lines 7, 8) and SID 2's STE goes live on it at line 9.
  const page = pages.get('vmid-reuse-without-invalidation.md');
  const block = page?.traces[0];
  assert.ok(block !== undefined);
  const [finding] = findingsOf(await analyze(block.text), 'vmid-reuse-without-invalidation');
  assert.ok(finding !== undefined);
  assert.deepEqual(finding.parties, [
    { kind: 'smmu-domain', name: 'SMMU smmu0 domain on VMID 5 (allocated at line 3)', smmu: 'smmu0', vmids: [5], note: 'old owner' },
    { kind: 'smmu-domain', name: 'SMMU smmu0 domain on VMID 5 (allocated at line 8)', smmu: 'smmu0', vmids: [5], note: 'new owner' },
    { kind: 'ste', name: 'SMMU smmu0 SID 2', smmu: 'smmu0', sid: 2, vmids: [5], note: "the new owner's STE" },
  ]);
  const smmu0 = { kind: 'smmu', smmu: 'smmu0' };
  assert.deepEqual(finding.scenario, [
    { kind: 'event', actor: smmu0, action: "the old owner's STE: S2VMID 5; its entries may be cached", line: 4 },
    { kind: 'event', actor: smmu0, action: "the old owner's STE leaves VMID 5", line: 5 },
    { kind: 'missing', actor: smmu0, action: 'no CMD_TLBI_S12_VMALL vmid=5' },
    { kind: 'event', actor: smmu0, action: 'STE SID 2: S2VMID 5 for the new owner', line: 9 },
    { kind: 'consequence', actor: smmu0, action: "SID 2 can hit the old owner's entries" },
  ]);
  assert.deepEqual(finding.remedy, { actions: ['CMD_TLBI_S12_VMALL vmid=5', 'CMD_SYNC'], smmu: 'smmu0', afterLine: 5, beforeLine: 9 });
});

test('vm-two-vmids: the VM with both VMIDs, and a column for each CPU', async () => {
  // docs/checks/vm-two-vmids.md, first example: CPU 0 enters VM 1 with VMID 1 at line 41 and keeps
  // it loaded; after the unpin, CPU 1 enters it at line 44 with the new VMID 4.
  const block = pages.get('vm-two-vmids.md')?.traces[0];
  assert.ok(block !== undefined);
  const [finding] = findingsOf(await analyze(block.text), 'vm-two-vmids');
  assert.ok(finding !== undefined);
  assert.deepEqual(finding.parties, [
    { kind: 'vm', name: 'VM 0xffff000010001000', vm: '0xffff000010001000', vmids: [1, 4] },
    { kind: 'cpu', name: 'CPU 0', cpu: 0, vmids: [1], note: 'still runs the VM' },
    { kind: 'cpu', name: 'CPU 1', cpu: 1, vmids: [4], note: 'enters the VM' },
  ]);
  assert.deepEqual(
    finding.scenario.map((step) => [step.kind, step.actor, step.kind === 'event' ? step.line : undefined]),
    [
      ['event', { kind: 'cpu', cpu: 0 }, 41],
      ['event', { kind: 'cpu', cpu: 1 }, 44],
      ['consequence', { kind: 'cpu', cpu: 0 }, undefined],
    ],
  );
  assert.equal(finding.remedy, undefined);
});

test('pin-exhausted: the VM refused and the full pool; the caller falls back to VMID 0 in v2 and fails in v3', async () => {
  // docs/checks/pin-exhausted.md, first and third examples: 2-bit VMIDs, 1 CPU, so
  // max_pinned_vmids = 4 - 1 - 2 = 1; the second VM's pin (line 7) finds the one slot taken.
  const page = pages.get('pin-exhausted.md');
  const v2 = page?.traces[0];
  const v3 = page?.traces[2];
  assert.ok(v2 !== undefined && v3 !== undefined && v3.text.includes('variant=rfc-v3'));
  for (const [block, fallback] of [
    [v2, 'the caller programs S2VMID 0'],
    [v3, 'the attach fails'],
  ] as const) {
    const [finding] = findingsOf(await analyze(block.text), 'pin-exhausted');
    assert.ok(finding !== undefined);
    assert.deepEqual(finding.parties, [
      { kind: 'vm', name: 'VM 0xffff000010002000', vm: '0xffff000010002000', vmids: [], note: 'pin refused' },
      // The holder of the one slot: the first VM, pinned at line 4 on index 1 (the first free).
      { kind: 'vm', name: 'VM 0xffff000010001000', vm: '0xffff000010001000', vmids: [1], note: 'pinned' },
      { kind: 'kvm', name: 'KVM', vmids: [], note: '1 of 1 pinnable VMIDs pinned' },
    ]);
    assert.deepEqual(finding.scenario, [
      { kind: 'event', actor: { kind: 'cpu', cpu: 0 }, action: 'VM 0xffff000010001000 pins VMID 1', line: 4 },
      { kind: 'event', actor: { kind: 'cpu', cpu: 0 }, action: `kvm_arm_pinned_vmid_get() returns ${block === v2 ? 0 : -22}: the pinned pool is full`, line: 7 },
      { kind: 'consequence', actor: { kind: 'cpu', cpu: 0 }, action: fallback },
    ]);
  }
});
