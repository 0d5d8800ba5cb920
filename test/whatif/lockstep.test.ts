/**
 * `compare` runs its policies in lockstep over one workload (issue 15, section 5): each
 * policy's numbers and would-have findings must be exactly those of that policy run alone. A
 * run that leaked state into another (a shared model, IDA, planner or check) would break it.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { replayFile } from '../../src/replay/analyze.js';
import type { ReplayOptions } from '../../src/replay/replayTypes.js';
import { Comparison, type CompareResult, type CompareSpec } from '../../src/whatif/compare.js';
import { policyNames } from '../../src/whatif/policies/index.js';
import { captureOptions, compareText, generated, smallCapture, specOf } from './helpers.js';

/** What lockstep must not change: every run of `policy`, on every host, and the hosts skipped for it. */
function partOf(result: CompareResult, policy: string) {
  return { runs: result.runs.filter((run) => run.policy === policy), skipped: result.skipped.filter((skipped) => skipped.policy === policy), workload: result.workload, assign: result.assign };
}

/** Compares `spec`'s policies together, then each alone with its own ingest, and returns the lockstep result. */
async function lockstepEqualsAlone(text: string, spec: CompareSpec, options: ReplayOptions = {}): Promise<CompareResult> {
  const together = await compareText(text, spec, options);
  assert.ok(together.runs.length > 0, 'no run at all');
  for (const policy of spec.policies) {
    const single = await compareText(text, { ...spec, policies: [policy], diff: undefined }, options);
    assert.deepEqual(partOf(together, policy), partOf(single, policy), `${policy} in lockstep differs from ${policy} alone`);
  }
  return together;
}

describe('compare: lockstep equals each policy alone', () => {
  it('on generated workloads (rollovers, failed pins, lost events, sweeps, scale, every --assign mode)', async () => {
    let failedPins = 0;
    let findings = 0;
    let rollovers = 0;
    let skipped = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 10_000 }),
          variant: fc.constantFrom('rfc-v2', 'mainline'),
          assign: fc.constantFrom(undefined, 'all', 'ratio=0.5', 'all,first-run', 'all,devices=2', 'trace'),
          scale: fc.integer({ min: 1, max: 2 }),
          lost: fc.boolean(),
          sweepBtm: fc.boolean(),
        }),
        async ({ seed, variant, assign, scale, lost, sweepBtm }) => {
          // Up to 6 VMs at once: a 3-bit host with 2 CPUs pins at most 2^3 - 2 - 2 = 4, so pins
          // fail there. On a 2-bit host no pinnable VMID is left (4 - 2 - 2): the pinning
          // policies are skipped there, the others run (3 indexes, more than the 2 CPUs).
          const text = await generated(['--seed', String(seed), '--variant', variant, '--vmid-bits', '4', '--cpus', '2', '--vms', '10', '--concurrent', '6', '--lost-bursts', lost ? '1' : '0']);
          const result = await lockstepEqualsAlone(
            text,
            specOf(policyNames, assign, { scale, vmidBits: [2, 3], btm: sweepBtm ? [true, false] : [], diff: ['rfc-v2', 'shared-unpinned'] }),
          );
          for (const run of result.runs) {
            failedPins += run.metrics.pinsFailed;
            findings += run.findings.length;
            rollovers += run.rollovers;
          }
          skipped += result.skipped.length;
        },
      ),
      { numRuns: 5, seed: 15 },
    );
    // Not vacuous: the runs compared did fail pins, find hazards, roll over and skip hosts.
    assert.ok(failedPins > 0 && findings > 0 && rollovers > 0 && skipped > 0, JSON.stringify({ failedPins, findings, rollovers, skipped }));
  });

  it('on a real capture with its probe map, swept to 3-bit VMIDs where pins fail: one read feeding the lockstep run and six single-policy runs', async () => {
    // A Comparison is everything compare adds to the replay: reading the capture once and
    // feeding the same items to seven of them is seven compares, without seven reads of it.
    const spec = specOf(policyNames, 'all', { vmidBits: [3] });
    const options = captureOptions();
    const together = new Comparison(spec, options);
    const alone = policyNames.map((policy) => new Comparison({ ...spec, policies: [policy] }, options));
    const replay = await replayFile(smallCapture, Readable.from([]), { ...options, itemObservers: [together.item, ...alone.map((comparison) => comparison.item)] });
    const result = together.finish(smallCapture, replay);
    assert.equal(result.runs.length, policyNames.length);
    // Peak 4 VMs with devices against 2^3 - 4 - 2 = 2 pinnable VMIDs: the pinning policies fail.
    assert.ok(result.runs.some((run) => run.metrics.pinsFailed > 0));
    assert.ok(result.runs.some((run) => run.rollovers > 0));
    policyNames.forEach((policy, i) => {
      const single = (alone[i] as Comparison).finish(smallCapture, replay);
      assert.deepEqual(partOf(result, policy), partOf(single, policy), policy);
    });
  });
});
