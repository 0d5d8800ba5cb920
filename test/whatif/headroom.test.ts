/**
 * `headroom`'s answers checked by running them: the narrowest VMID width, the most CPUs and the
 * first `--scale` it reports must be exactly where the runs of `compare` stop or start failing
 * pins. The answers follow from the workload's peak W of VMIDs pinned at once and the RFC's
 * rule: a pin fails when nr_pinned_vmids >= max_pinned_vmids = 2^bits - cpus - 2.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pinningPolicies } from '../../src/whatif/policies/index.js';
import { runCli } from '../helpers/cli.js';
import { compareText, generated, specOf } from './helpers.js';

interface PolicyHeadroom {
  readonly policy: string;
  readonly maxPinnedVmids: number;
  readonly pinsFailed: number;
  readonly peakDemand: number;
  readonly peakDemandAt: { line: number };
  readonly margin: number;
  readonly smallestVmidBits: number;
  readonly mostCpus: number;
  readonly firstFailingScale: number;
}

interface Headroom {
  readonly kind: string;
  readonly schemaVersion: number;
  readonly tracedHost: { vmidBits: number; cpus: number };
  readonly workload: { peakVmsWithDevices: number; peakAt: { line: number } };
  readonly policies: readonly PolicyHeadroom[];
}

/** 5-bit VMIDs and 2 CPUs (max_pinned_vmids 32 - 2 - 2 = 28), 12 VMs, up to 6 at once. */
const traced = { bits: 5, cpus: 2 };

function workload(seed: number): Promise<string> {
  return generated(['--seed', String(seed), '--vmid-bits', String(traced.bits), '--cpus', String(traced.cpus), '--vms', '12', '--concurrent', '6', '--host-domains', '0']);
}

/** Whether a host can run the RFC allocator at all (kvm_arm_vmid_alloc_init()'s checks, and a pool of at least one). */
function bootable(bits: number, cpus: number): boolean {
  return 2 ** bits - 1 > cpus && 2 ** bits - cpus - 2 >= 1;
}

/** Pins failed by `policy` on each host of a compare of `text`. */
async function failures(text: string, policy: string, more: Parameters<typeof specOf>[2]): Promise<Map<string, number>> {
  const result = await compareText(text, specOf([policy], 'all', more));
  return new Map(result.runs.map((run) => [`${run.host.vmidBits}/${run.host.cpus}`, run.metrics.pinsFailed]));
}

describe('headroom, verified by runs', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: at the reported width, CPU count and scale no pin fails; one bit less, one CPU more, one copy more, pins fail`, async () => {
      const text = await workload(seed);
      const result = await runCli(['headroom', '-', '--assign', 'all', '--format', 'json'], text);
      assert.equal(result.code, 0, result.stderr);
      const headroom = JSON.parse(result.stdout) as Headroom;
      assert.deepEqual([headroom.kind, headroom.schemaVersion], ['headroom', 1]);
      assert.deepEqual(headroom.tracedHost, { vmidBits: traced.bits, cpus: traced.cpus });
      assert.deepEqual(
        headroom.policies.map((policy) => policy.policy),
        pinningPolicies,
      );
      // With --assign all every VM holds one device from its creation to its destruction, and
      // each policy holds one pin per VM over that span: W is the peak of VMs with devices.
      const peak = headroom.workload.peakVmsWithDevices;
      assert.ok(peak >= 2 && peak <= 6, `peak ${peak}`);
      for (const policy of headroom.policies) {
        const max = 2 ** traced.bits - traced.cpus - 2;
        const bits = [2, 3, 4, 5, 6].find((width) => bootable(width, traced.cpus) && 2 ** width - traced.cpus - 2 >= peak) as number;
        const cpus = 2 ** traced.bits - 2 - peak;
        const scale = Math.floor(max / peak) + 1;
        assert.deepEqual(
          { peak: policy.peakDemand, at: policy.peakDemandAt.line, failed: policy.pinsFailed, margin: policy.margin, bits: policy.smallestVmidBits, cpus: policy.mostCpus, scale: policy.firstFailingScale },
          { peak, at: headroom.workload.peakAt.line, failed: 0, margin: max - peak, bits, cpus, scale },
          policy.policy,
        );

        const byWidth = await failures(text, policy.policy, { vmidBits: [bits, bits - 1] });
        assert.equal(byWidth.get(`${bits}/${traced.cpus}`), 0, `${policy.policy} at ${bits} bits`);
        // One bit less is a host only when it boots; then its pool is below W, and a pin fails.
        if (bootable(bits - 1, traced.cpus)) assert.ok((byWidth.get(`${bits - 1}/${traced.cpus}`) ?? 0) > 0, `${policy.policy} at ${bits - 1} bits`);

        const byCpus = await failures(text, policy.policy, { cpus: [cpus, cpus + 1] });
        assert.equal(byCpus.get(`${traced.bits}/${cpus}`), 0, `${policy.policy} with ${cpus} CPUs`);
        assert.ok((byCpus.get(`${traced.bits}/${cpus + 1}`) ?? 0) > 0, `${policy.policy} with ${cpus + 1} CPUs`);

        assert.ok(scale >= 2);
        assert.equal((await failures(text, policy.policy, { scale: scale - 1 })).get(`${traced.bits}/${traced.cpus}`), 0, `${policy.policy} at --scale ${scale - 1}`);
        assert.ok(((await failures(text, policy.policy, { scale })).get(`${traced.bits}/${traced.cpus}`) ?? 0) > 0, `${policy.policy} at --scale ${scale}`);
      }
    });
  }

  it('a host with fewer CPUs than the workload runs vCPUs on is skipped with the reason, not run on part of the workload', async () => {
    // The generator runs vCPUs on both CPUs of its 2-CPU host. A 1-CPU host has no CPU 1: its
    // allocator cannot take the loads made there (they would be dropped, and every number of
    // the run would describe some other workload).
    const text = await workload(1);
    const result = await compareText(text, specOf(['rfc-v2', 'mainline'], 'all', { cpus: [1, 2] }));
    assert.deepEqual(
      result.runs.map((run) => `${run.policy}/${run.host.cpus}`),
      ['rfc-v2/2', 'mainline/2'],
    );
    assert.deepEqual(
      result.skipped.map((skipped) => `${skipped.policy}/${skipped.host.cpus}`),
      ['rfc-v2/1', 'mainline/1'],
    );
    for (const skipped of result.skipped) assert.match(skipped.why, /runs a vCPU on CPU 1 \(line \d+\); a host of 1 CPU has no such CPU/);
    // The line named is one of CPU 1's, in the trace.
    const line = Number(/\(line (\d+)\)/.exec(result.skipped[0]?.why ?? '')?.[1]);
    assert.match(text.split('\n')[line - 1] ?? '', / \[001\] .*vmid_update/);
  });
});
