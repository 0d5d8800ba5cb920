/**
 * A real capture through `compare` with devices on every VM, twice the VMs (--scale 2) and a
 * 3-bit host where they cannot all pin: it runs, and what it says would have happened is
 * checked against the capture's own lines, read here independently of the tool.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { captureHost, captureLines, smallCapture } from './helpers.js';

interface JsonFinding {
  readonly checkId: string;
  readonly messageId: string;
  readonly message: string;
  readonly line: number;
  readonly counterfactual: boolean;
  readonly witnesses: readonly { readonly role: string; readonly ref: { readonly line: number; readonly text: string } }[];
}

interface JsonRun {
  readonly policy: string;
  readonly host: { vmidBits: number; cpus: number };
  readonly maxPinnedVmids: number | null;
  readonly metrics: { pinsFailed: number; vmCreationsRefused: number; devicesOnVmidZero: number; vmidChangesUnderBoundSte: number; invalidationsMissed: number; firstPinFailedAt: { line: number } | null };
  readonly rollovers: number;
  readonly findings: readonly JsonFinding[];
}

/**
 * VM lifetimes as the workload reads them from the capture (its README and probe map): a VM
 * is its stage-2 MMU pointer from `s2_init` (mmu=) to `free_s2` (mmu=); one first seen at an
 * `update` (vmid=) existed before the capture and starts there. Returns the first line where
 * a VM starts while another is alive.
 */
function firstOverlap(lines: readonly string[]): { line: number; vm: string } | undefined {
  const alive = new Set<string>();
  for (let line = 1; line < lines.length; line++) {
    const text = lines[line] as string;
    const created = / s2_init: .* mmu=(0x[0-9a-f]+)/.exec(text)?.[1] ?? (/ update: .* vmid=(0x[0-9a-f]+)/.exec(text)?.[1] ?? '');
    const freed = / free_s2: .* mmu=(0x[0-9a-f]+)/.exec(text)?.[1];
    if (freed !== undefined) alive.delete(freed);
    if (created === '' || alive.has(created)) continue;
    if (alive.size > 0) return { line, vm: created };
    alive.add(created);
  }
  return undefined;
}

describe('compare on a real capture: --assign all --scale 2 --sweep-vmid-bits 3', () => {
  it('runs, and its would-have findings are true of the capture', async () => {
    const result = await runCli(['compare', smallCapture, ...captureHost, '--assign', 'all', '--scale', '2', '--sweep-vmid-bits', '3', '--policy', 'rfc-v2,pin-at-create,shared-unpinned', '--format', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const runs = (JSON.parse(result.stdout) as { runs: JsonRun[] }).runs;
    assert.deepEqual(
      runs.map((run) => `${run.policy}@${run.host.vmidBits}/${run.host.cpus}`),
      ['rfc-v2@3/4', 'pin-at-create@3/4', 'shared-unpinned@3/4'],
    );
    const lines = captureLines();
    const [v2, atCreate, unpinned] = runs as [JsonRun, JsonRun, JsonRun];

    // Every witness quotes the capture's own line.
    const findings = runs.flatMap((run) => run.findings);
    assert.ok(findings.length > 0);
    for (const finding of findings) {
      assert.equal(finding.counterfactual, true);
      for (const witness of finding.witnesses) assert.equal(witness.ref.text, lines[witness.ref.line], `${finding.checkId} at ${finding.line}: ${witness.role}`);
    }

    // 3-bit VMIDs with the capture's 4 CPUs: max_pinned_vmids = 8 - 4 - 2 = 2. With two copies
    // of every VM each holding a device from its creation, one VM alive holds both pins: the
    // first VM created while another is alive cannot pin, under both pinning policies, at its
    // s2_init line, and neither can its copy.
    const overlap = firstOverlap(lines);
    assert.ok(overlap !== undefined, 'the capture never has two VMs alive at once');
    assert.match(lines[overlap.line] ?? '', / s2_init: /);
    assert.deepEqual([v2.maxPinnedVmids, atCreate.maxPinnedVmids], [2, 2]);
    assert.equal(v2.metrics.firstPinFailedAt?.line, overlap.line);
    const firstFailures = v2.findings.filter((finding) => finding.checkId === 'pin-exhausted' && finding.line === overlap.line);
    assert.deepEqual(
      firstFailures.map((finding) => finding.message.replace(/ \(#\d+ at this address\)/, '')),
      [`VM ${overlap.vm}`, `VM ${overlap.vm}~2`].map((vm) => `${vm}: pin failed, 2 of 2 pinnable VMIDs in use; kvm_arm_pinned_vmid_get() returned 0 and the caller falls back to VMID 0`),
    );
    assert.equal(atCreate.metrics.firstPinFailedAt?.line, overlap.line);
    assert.ok(atCreate.findings.some((finding) => finding.messageId === 'vmCreateRefused' && finding.line === overlap.line && finding.message.includes(overlap.vm)));
    assert.equal(v2.metrics.devicesOnVmidZero, v2.metrics.pinsFailed);
    assert.equal(atCreate.metrics.vmCreationsRefused, atCreate.metrics.pinsFailed);

    // Sharing without a pin: 7 indexes for twice the VMs roll the allocator over, and each VMID
    // change of a bound VM is charged to a line where that VM's vCPU runs.
    assert.ok(unpinned.rollovers > 0);
    const changes = unpinned.findings.filter((finding) => finding.messageId === 'sharedVmidChanged');
    assert.ok(changes.length > 0);
    assert.deepEqual([unpinned.metrics.vmidChangesUnderBoundSte, unpinned.metrics.invalidationsMissed], [changes.length, changes.length]);
    for (const change of changes.slice(0, 20)) {
      const vm = /^VM (0x[0-9a-f]+)/.exec(change.message)?.[1];
      assert.ok(vm !== undefined, change.message);
      assert.match(lines[change.line] ?? '', new RegExp(`(vmid|mmu)=${vm}\\b`), `line ${change.line}: ${change.message}`);
    }
  });
});
