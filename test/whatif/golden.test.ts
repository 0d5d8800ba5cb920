/**
 * `compare` on small traces whose every number is derived here, in the comments, from the
 * kernel's rules (arch/arm64/kvm/vmid.c, and the RFC's kvm_arm_pinned_vmid_get()) and each
 * policy's definition (docs/what-if.md): never from what the tool printed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';

interface JsonRun {
  readonly policy: string;
  readonly maxPinnedVmids: number | null;
  readonly metrics: Record<string, number | { line: number } | null>;
  readonly meanPinned: number;
  readonly loads: number;
  readonly slowLoads: number;
  readonly rollovers: number;
  readonly findings: readonly { checkId: string; messageId: string; line: number; severity: string; inconclusive: boolean }[];
}

interface JsonCompare {
  readonly kind: string;
  readonly workload: { vms: number; loads: number; attaches: number; peakVmsWithDevices: number; peakAt: { line: number } };
  readonly runs: readonly JsonRun[];
}

async function compare(trace: string, args: readonly string[]): Promise<JsonCompare> {
  const result = await runCli(['compare', '-', '--format', 'json', ...args], trace);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as JsonCompare;
}

function runOf(result: JsonCompare, policy: string): JsonRun {
  const run = result.runs.find((each) => each.policy === policy);
  assert.ok(run !== undefined, `no run of ${policy}`);
  return run;
}

/** The findings a reviewer acts on (not the notice of pins held at the end), as `check:message@line`. */
function wrongs(run: JsonRun): string[] {
  return run.findings
    .filter((finding) => finding.severity !== 'notice')
    .map((finding) => `${finding.checkId}:${finding.messageId}@${finding.line}`)
    .sort();
}

const [a, b, c, d] = [vmPointer(1), vmPointer(2), vmPointer(3), vmPointer(4)];

/**
 * 3-bit VMIDs and 4 CPUs: max_pinned_vmids = 2^3 - 4 - 2 = 2 (kvm_arm_vmid_alloc_init() in
 * the RFC). Three VMs, each given a device at its creation (--assign all), each run once on
 * CPU 0 and destroyed. Lines: 1 header, 2-4 create A B C, 5-7 A's load (update, return, put),
 * 8-10 B's, 11-13 C's, 14-16 destroy A B C.
 */
function threeVms(): string {
  return new TraceWriter()
    .header('vmid_bits=3 cpus=4 variant=mainline')
    .vmCreate(a)
    .vmCreate(b)
    .vmCreate(c)
    .load(a, 0)
    .put(0)
    .load(b, 0)
    .put(0)
    .load(c, 0)
    .put(0)
    .vmDestroy(a)
    .vmDestroy(b)
    .vmDestroy(c)
    .toString();
}

describe('compare: three VMs with devices on a pool of two pinnable VMIDs', () => {
  it('reads the workload: 3 VMs, 3 loads (charged to the returns, lines 6 9 12), 3 devices held at once from line 4', async () => {
    const result = await compare(threeVms(), ['--assign', 'all']);
    assert.equal(result.kind, 'compare');
    assert.deepEqual({ ...result.workload, peakAt: result.workload.peakAt.line }, { vms: 3, loads: 3, attaches: 3, peakVmsWithDevices: 3, peakAt: 4 });
  });

  it('rfc-v2: A and B pin, C finds nr_pinned_vmids (2) >= max_pinned_vmids (2), gets 0 and runs its device on S2VMID 0', async () => {
    const run = runOf(await compare(threeVms(), ['--assign', 'all', '--policy', 'rfc-v2']), 'rfc-v2');
    assert.equal(run.maxPinnedVmids, 2);
    assert.equal(run.metrics['pinsFailed'], 1);
    assert.equal((run.metrics['firstPinFailedAt'] as { line: number }).line, 4);
    assert.equal(run.metrics['peakPinned'], 2);
    assert.equal((run.metrics['peakPinnedAt'] as { line: number }).line, 3);
    assert.equal(run.metrics['devicesOnVmidZero'], 1);
    assert.equal(run.metrics['attachesRefused'], 0);
    // Every device is detached at its VM's destruction, each with CMD_TLBI_S12_VMALL: 3.
    assert.equal(run.metrics['invalidationsNeeded'], 3);
    // CPU 0's first load finds active_vmids at 0 and takes the lock (A). B's pin gave it a VMID
    // of this generation and the CPU's active VMID is set: the fast path. C was never given a
    // VMID (its pin failed): new_vmid() under the lock. 2 of 3.
    assert.deepEqual([run.loads, run.slowLoads, run.rollovers], [3, 2, 0]);
    // The failed pin (RFC v2's "returns 0") and the STE it leaves on VMID 0, both at line 4.
    assert.deepEqual(wrongs(run), ['pin-exhausted:v2@4', 'ste-vmid-zero:afterFailedPin@4'].sort());
    // Pinned over time, one microsecond a line, from line 2 to line 16: 1 VMID for 1 µs (2-3),
    // then 2 from line 3 to line 14 (11 µs), 1 from 14 to 15: (1 + 22 + 1) / 14.
    assert.ok(Math.abs(run.meanPinned - 24 / 14) < 1e-9, String(run.meanPinned));
  });

  it('pin-or-fail: the same pin fails, and the attach fails with it: no device on VMID 0', async () => {
    const run = runOf(await compare(threeVms(), ['--assign', 'all', '--policy', 'pin-or-fail']), 'pin-or-fail');
    assert.equal(run.metrics['pinsFailed'], 1);
    assert.equal(run.metrics['attachesRefused'], 1);
    assert.equal(run.metrics['devicesOnVmidZero'], 0);
    // Two devices were attached, two are detached.
    assert.equal(run.metrics['invalidationsNeeded'], 2);
    assert.deepEqual([run.loads, run.slowLoads], [3, 2]);
    assert.deepEqual(
      wrongs(run).map((finding) => finding.replace(/:.*@/, '@')),
      ['pin-exhausted@4'],
    );
  });

  it('pin-at-create: C is not created (its pin at KVM_CREATE_VM fails), so its load never happens', async () => {
    const run = runOf(await compare(threeVms(), ['--assign', 'all', '--policy', 'pin-at-create']), 'pin-at-create');
    assert.equal(run.metrics['vmCreationsRefused'], 1);
    assert.equal(run.metrics['devicesOfRefusedVms'], 1);
    assert.equal(run.metrics['pinsFailed'], 1);
    assert.equal(run.metrics['invalidationsNeeded'], 2);
    // A's load is CPU 0's first (slow); B was pinned at creation: fast.
    assert.deepEqual([run.loads, run.slowLoads], [2, 1]);
    assert.deepEqual(wrongs(run), ['what-if-policy:vmCreateRefused@4']);
  });

  it('mainline and vsmmu: nothing is pinned, every first load allocates under the lock, the SMMU IDA has room', async () => {
    const result = await compare(threeVms(), ['--assign', 'all', '--policy', 'mainline,vsmmu']);
    for (const policy of ['mainline', 'vsmmu']) {
      const run = runOf(result, policy);
      assert.equal(run.maxPinnedVmids, null);
      assert.equal(run.metrics['peakPinned'], 0);
      assert.equal(run.metrics['invalidationsNeeded'], 3);
      assert.deepEqual([run.loads, run.slowLoads], [3, 3]);
      assert.deepEqual(wrongs(run), []);
    }
  });

  it('headroom: a peak of 3 pinned needs 4-bit VMIDs with 4 CPUs (2^4 - 6 = 10), allows 3 CPUs at 3 bits (8 - 2 - 3), and fails from --scale 1', async () => {
    const result = await runCli(['headroom', '-', '--format', 'json', '--assign', 'all', '--policy', 'rfc-v2,pin-at-create'], threeVms());
    assert.equal(result.code, 0, result.stderr);
    const headroom = JSON.parse(result.stdout) as { policies: { policy: string; peakDemand: number; margin: number; smallestVmidBits: number; mostCpus: number; firstFailingScale: number; pinsFailed: number }[] };
    for (const policy of headroom.policies) {
      // On 16-bit VMIDs nothing fails: all three hold a pin at once (lines 2-4).
      assert.deepEqual(
        { peak: policy.peakDemand, margin: policy.margin, bits: policy.smallestVmidBits, cpus: policy.mostCpus, scale: policy.firstFailingScale, failed: policy.pinsFailed },
        { peak: 3, margin: -1, bits: 4, cpus: 3, scale: 1, failed: 1 },
        policy.policy,
      );
    }
  });
});

/**
 * 2-bit VMIDs, 1 CPU, mainline KVM: indexes 1..3 (new_vmid() searches from cur_idx, and from 1
 * after a rollover). Four VMs with devices; shared-unpinned binds each STE at the VM's first
 * load, to the VMID KVM gave it. Lines: 1 header, 2-5 create A B C D; loads with a put each:
 * A 6-8 (idx 1), B 9-11 (idx 2), C 12-14 (idx 3), D 15-17: no index left, a rollover
 * (flush_context() keeps only CPU 0's reserved VMID, which is invalid after the put) and D
 * takes idx 1 of generation 2. A 18-20: its generation is old, no reserved VMID matches, idx 1
 * is D's now: new_vmid() gives A idx 2. Lines 21-24 destroy A B C D.
 */
function rolloverUnderBoundSte(): string {
  const trace = new TraceWriter().header('vmid_bits=2 cpus=1 variant=mainline').vmCreate(a).vmCreate(b).vmCreate(c).vmCreate(d);
  for (const vm of [a, b, c, d, a]) trace.load(vm, 0).put(0);
  return trace.vmDestroy(a).vmDestroy(b).vmDestroy(c).vmDestroy(d).toString();
}

describe('compare: a rollover moves a VM whose STE shares its VMID without a pin', () => {
  it('shared-unpinned: A moves from VMID 1 to 2 at line 19 while its STE carries 1; D went live on VMID 1 at line 16 while A still used it', async () => {
    const run = runOf(await compare(rolloverUnderBoundSte(), ['--assign', 'all', '--policy', 'shared-unpinned']), 'shared-unpinned');
    assert.equal(run.rollovers, 1);
    assert.equal(run.metrics['vmidChangesUnderBoundSte'], 1);
    assert.equal(run.metrics['invalidationsMissed'], 1);
    // The one missed, and one per detach (4 devices): 5.
    assert.equal(run.metrics['invalidationsNeeded'], 5);
    assert.deepEqual(wrongs(run), ['vmid-reuse-without-invalidation:aliased@16', 'what-if-policy:sharedVmidChanged@19'].sort());
  });

  it('mainline: the SMMU has VMIDs of its own, the rollover touches none of them', async () => {
    const run = runOf(await compare(rolloverUnderBoundSte(), ['--assign', 'all', '--policy', 'mainline']), 'mainline');
    assert.equal(run.rollovers, 1);
    assert.equal(run.metrics['invalidationsNeeded'], 4);
    assert.deepEqual(wrongs(run), []);
  });
});
