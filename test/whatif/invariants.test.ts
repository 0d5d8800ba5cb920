/**
 * What must hold of the policies on any workload (issue 15, section 5), each derived from the
 * policy's definition (src/whatif/policies/) and the RFC's pin rule, checked on generated
 * workloads where pins fail and the allocator rolls over.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decision } from '../../src/cli/decisionLines.js';
import { policyNames } from '../../src/whatif/policies/index.js';
import type { RunResult } from '../../src/whatif/policyRun.js';
import { runCli } from '../helpers/cli.js';
import { compareText, generated, linesOf, runOf, specOf } from './helpers.js';

/**
 * 4-bit VMIDs, 2 CPUs, 12 VMs, up to 6 alive at once: on the traced host max_pinned_vmids =
 * 16 - 2 - 2 = 12, so nothing fails; the 3-bit sweep host pins 8 - 2 - 2 = 4 and has 7
 * indexes, so pins fail and the allocator rolls over.
 */
function workload(seed: number): Promise<string> {
  return generated(['--seed', String(seed), '--vmid-bits', '4', '--cpus', '2', '--vms', '12', '--concurrent', '6', '--host-domains', '0']);
}

const seeds = [1, 2, 3];
const assigns = ['all', 'all,first-run', 'all,devices=2', 'ratio=0.6'];

/** The attaches whose pin found the pool full, as `line` of each pin-exhausted finding. */
function failedAttaches(run: RunResult): number[] {
  return linesOf(run, 'pin-exhausted');
}

describe('what-if invariants on generated workloads', () => {
  it('rfc-v2 and pin-or-fail fail exactly the same attaches; one runs the device on VMID 0, the other refuses it', async () => {
    let failed = 0;
    for (const seed of seeds) {
      const text = await workload(seed);
      for (const assign of assigns) {
        const result = await compareText(text, specOf(['rfc-v2', 'pin-or-fail'], assign, { vmidBits: [3, 4] }));
        for (const bits of [3, 4]) {
          const v2 = runOf(result, 'rfc-v2', bits);
          const orFail = runOf(result, 'pin-or-fail', bits);
          const where = `seed ${seed}, --assign ${assign}, ${bits} bits`;
          // Both pin with kvm_arm_pinned_vmid_get() at the same attaches, and a failed pin holds
          // nothing under either: nr_pinned_vmids is the same at every attach, so the same fail.
          assert.deepEqual(failedAttaches(v2), failedAttaches(orFail), where);
          assert.equal(v2.metrics.pinsFailed, failedAttaches(v2).length, where);
          assert.equal(orFail.metrics.pinsFailed, v2.metrics.pinsFailed, where);
          assert.deepEqual([v2.metrics.devicesOnVmidZero, v2.metrics.attachesRefused], [v2.metrics.pinsFailed, 0], where);
          assert.deepEqual([orFail.metrics.devicesOnVmidZero, orFail.metrics.attachesRefused], [0, orFail.metrics.pinsFailed], where);
          assert.deepEqual(linesOf(v2, 'ste-vmid-zero', 'afterFailedPin'), failedAttaches(v2), where);
          assert.equal(v2.metrics.peakPinned, orFail.metrics.peakPinned, where);
          failed += v2.metrics.pinsFailed;
        }
      }
    }
    assert.ok(failed > 0, 'no pin failed: the comparison is vacuous');
  });

  it('mainline never pins: no pinned VMID, no pool, no pin finding, on any host', async () => {
    for (const seed of seeds) {
      const result = await compareText(await workload(seed), specOf(['mainline'], 'all,devices=2', { vmidBits: [3, 4] }));
      assert.equal(result.runs.length, 2);
      for (const run of result.runs) {
        assert.deepEqual([run.metrics.peakPinned, run.metrics.pinsFailed, run.maxPinnedVmids, run.nrPinnedAtEnd, run.meanPinned], [0, 0, null, null, 0]);
        assert.ok(run.metrics.attachesRequested > 0);
        assert.deepEqual(
          run.findings.filter((finding) => finding.checkId.startsWith('pin-')),
          [],
        );
      }
    }
  });

  it('pin-at-create never fails on a host whose max_pinned_vmids holds the peak of VMs with devices, and fails one VM short of it', async () => {
    let tested = 0;
    for (const seed of seeds) {
      const text = await workload(seed);
      // With --assign all a VM pins at its creation and unpins at its destruction, exactly
      // the span in which the planner counts it as holding a device: the peak pinned is that
      // peak W. max_pinned_vmids = 2^4 - cpus - 2 = W with cpus = 14 - W; one CPU more leaves W - 1.
      const peak = (await compareText(text, specOf([], 'all'))).workload.peakVmsWithDevices;
      const cpus = 14 - peak;
      assert.ok(peak > 1 && cpus >= 2, `peak ${peak}`);
      const result = await compareText(text, specOf(['pin-at-create'], 'all', { vmidBits: [4], cpus: [cpus, cpus + 1] }));
      const roomy = result.runs.find((run) => run.host.cpus === cpus) as RunResult;
      const tight = result.runs.find((run) => run.host.cpus === cpus + 1) as RunResult;
      assert.deepEqual([roomy.maxPinnedVmids, roomy.metrics.peakPinned], [peak, peak]);
      assert.deepEqual([roomy.metrics.pinsFailed, roomy.metrics.vmCreationsRefused, roomy.metrics.devicesOfRefusedVms], [0, 0, 0]);
      assert.deepEqual(
        roomy.findings.filter((finding) => finding.severity === 'error'),
        [],
      );
      assert.ok(tight.metrics.vmCreationsRefused > 0, `seed ${seed}: max_pinned_vmids ${tight.maxPinnedVmids} below the peak ${peak} refused no VM`);
      tested += 1;
    }
    assert.equal(tested, seeds.length);
  });

  it("shared-unpinned: every change of a bound VM's VMID, counted from its own allocator calls, is one invalidation needed and missed", async () => {
    let changes = 0;
    for (const seed of seeds) {
      const text = await workload(seed);
      const result = await compareText(text, specOf(['shared-unpinned'], 'all', { vmidBits: [3] }));
      const run = runOf(result, 'shared-unpinned');
      const calls = await runCli(['replay', '-', '--policy', 'shared-unpinned', '--assign', 'all', '--vmid-bits', '3'], text);
      assert.equal(calls.code, 0, calls.stderr);
      const expected = fromCalls(calls.stdout);
      assert.equal(run.metrics.vmidChangesUnderBoundSte, expected.changes, `seed ${seed}`);
      assert.equal(run.metrics.invalidationsMissed, expected.changes, `seed ${seed}`);
      assert.equal(linesOf(run, 'what-if-policy', 'sharedVmidChanged').length, expected.changes, `seed ${seed}`);
      assert.deepEqual(linesOf(run, 'what-if-policy', 'sharedVmidChanged'), expected.lines, `seed ${seed}`);
      // The rest of what it needs: one CMD_TLBI_S12_VMALL per bound device detached.
      assert.equal(run.metrics.invalidationsNeeded, expected.changes + expected.boundDetaches, `seed ${seed}`);
      changes += expected.changes;
    }
    assert.ok(changes > 0, 'no VMID changed under a bound STE: the comparison is vacuous');
  });
});

/**
 * From the allocator calls alone (`replay --policy shared-unpinned --assign all`): every VM gets
 * one device at its creation, which its STE binds at the VM's first load to the VMID KVM gave
 * it there. A later load with a VMID other than the previous load's, and other than the STE's,
 * is a change the STE does not follow (back to the STE's VMID needs nothing). A VM that ran is
 * bound, and its destruction detaches a bound device: one CMD_TLBI_S12_VMALL.
 */
function fromCalls(jsonLines: string): { changes: number; lines: number[]; boundDetaches: number } {
  const live = new Map<string, { bound: number | undefined; last: number | undefined }>();
  let changes = 0;
  const lines: number[] = [];
  let boundDetaches = 0;
  for (const text of jsonLines.trimEnd().split('\n')) {
    const call = JSON.parse(text) as Decision | { summary: unknown };
    if (!('op' in call)) continue;
    if (call.op === 'create') live.set(call.vm, { bound: undefined, last: undefined });
    else if (call.op === 'destroy') {
      if (live.get(call.vm)?.bound !== undefined) boundDetaches += 1;
      live.delete(call.vm);
    } else if (call.op === 'load') {
      const vm = live.get(call.vm);
      assert.ok(vm !== undefined, `load of ${call.vm} at ${call.line} outside its life`);
      if (vm.bound === undefined) vm.bound = call.vmid;
      else if (call.vmid !== vm.last && call.vmid !== vm.bound) {
        changes += 1;
        lines.push(call.line);
      }
      vm.last = call.vmid;
    }
  }
  return { changes, lines: lines.sort((x, y) => x - y), boundDetaches };
}

describe('every would-have finding is labelled a counterfactual', () => {
  /** One run with findings under every kind of policy: pins fail at 3 bits, rollovers move unpinned VMs. */
  async function compared(format: string): Promise<string> {
    const result = await runCli(['compare', '-', '--assign', 'all', '--sweep-vmid-bits', '3', '--format', format], await workload(1));
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  }

  it('JSON: each finding of each run says counterfactual: true', async () => {
    const json = JSON.parse(await compared('json')) as { runs: { policy: string; findings: { counterfactual?: unknown }[] }[] };
    const findings = json.runs.flatMap((run) => run.findings);
    assert.ok(findings.length > 0);
    assert.ok(
      findings.every((finding) => finding.counterfactual === true),
      'a finding without counterfactual: true',
    );
    assert.deepEqual(
      json.runs.map((run) => run.policy),
      policyNames,
    );
  });

  it('text and Markdown: each finding says it would have happened under its policy, and that the trace does not show it', async () => {
    for (const [format, heading] of [
      ['text', /^\[\d+\] [a-z-]+ \((error|warning)\)$/],
      ['markdown', /^### \[\d+\] `[a-z-]+` \((error|warning)\)/],
    ] as const) {
      const lines = (await compared(format)).split('\n');
      const starts = lines.flatMap((line, i) => (heading.test(line) ? [i] : []));
      assert.ok(starts.length > 0, `${format}: no finding`);
      starts.forEach((start, k) => {
        // The finding's own lines, up to the next finding, with the layout's wrapping undone.
        const own = lines
          .slice(start, starts[k + 1] ?? lines.length)
          .join(' ')
          .replace(/\s+/g, ' ');
        assert.match(own, /Would have happened under (mainline|rfc-v2|pin-or-fail|pin-at-create|vsmmu|shared-unpinned) \(.*\); the trace itself does not show it\./, `${format}: ${lines[start] ?? ''}`);
      });
    }
  });
});
