/**
 * Issue #16's hazard list, KVM side, and the index of the whole list. Each item names the
 * test that pins it down with a hand-made trace, the exact findings (ids, lines, witnesses,
 * inconclusive or not, verdict, exit code) derived from the kernel's rules in its comment,
 * and a good twin with zero findings:
 *
 *   clean private domains                 smmuSide.test.ts (private-domains-clean.trace)
 *   reuse without invalidation            smmuSide.test.ts (private-domains-reuse.trace);
 *                                         ../checks/vmidReuseWithoutInvalidation.test.ts
 *   v2 exhaustion with VMID 0             ../checks/steVmidZero.test.ts "RFC v2: the pin is refused ..."
 *                                         and ../checks/pinExhausted.test.ts "RFC v2: the fifth ..."
 *   v3-style exhaustion                   ../checks/pinExhausted.test.ts "RFC v3 (--variant rfc-v3) ..."
 *   shared unpinned across a rollover     below (shared-unpinned-rollover.trace)
 *   shared pinned across a rollover       below (shared-pinned-rollover.trace)
 *   STE switch without invalidation       ../checks/steSwitchWithoutInvalidation.test.ts
 *   pin leak                              ../checks/pinLeaked.test.ts
 *   unpin while bound                     ../checks/pinReleasedWhileBound.test.ts
 *   the two-VMIDs hazard                  ../checks/vmTwoVmids.test.ts (and the oracle's scenario)
 *   width mismatch                        ../checks/vmidWidthMismatch.test.ts
 *   lost events before and after a
 *     conclusive finding                  lostEvents.test.ts
 *   BTM on and off with CPU TLBIs         smmuSide.test.ts (two-smmus-*.trace);
 *                                         ../checks/vmidReuseWithoutInvalidation.test.ts (its table)
 *   TLBI_NSNH_ALL                         smmuSide.test.ts; ../checks/steSwitchWithoutInvalidation.test.ts
 *   non-covering commands                 smmuSide.test.ts (raw dwords, every opcode)
 *   two SMMUs                             smmuSide.test.ts (two-smmus-*.trace)
 *   a VHE rollover inside an update       (the lead's)
 *   a truncated command list              smmuSide.test.ts (truncated-cmdlist*.trace)
 *
 * The allocator rules used below (arch/arm64/kvm/vmid.c): an id is `generation | index`,
 * generation starting at 1 << bits; `new_vmid()` keeps a reserved id, else (RFC v2) a pinned
 * VM's index, else takes back its old index if free in `vmid_map`, else searches upward from
 * `cur_idx` (starting at 1) and, finding nothing, rolls over: generation += 1 << bits and
 * `flush_context()` clears `vmid_map` (RFC v2: to a copy of `pinned_vmid_map`) and reserves
 * each CPU's active VMID, then searches from 1. `kvm_arm_vmid_clear_active()` leaves
 * `VMID_ACTIVE_INVALID` (generation 1, index 0) as the CPU's active VMID, so an idle CPU
 * reserves index 0. The fast path needs a nonzero active VMID and an id of the current generation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, findingsOf, witnessLines } from '../checks/harness.js';
import { fixture, outcome } from './fixtures.js';

/**
 * shared-unpinned-rollover.trace, mainline, 2-bit VMIDs (indexes 1..3), 1 CPU, smmu0 with BTM:
 *   6-7    VM 1: id 0, search from 1: index 1, id 4 | 1 = 5
 *   9      SID 8's nested STE shares VMID 1 with VM 1, with no pin (mainline has none)
 *   13-18  VM 2: index 2 (id 6); VM 3: index 3 (id 7)
 *   21-22  VM 4: nothing free above cur_idx 3: rollover, generation 8; flush_context()
 *          reserves CPU 0's VMID_ACTIVE_INVALID (index 0), so the search from 1 gives VM 4
 *          index 1: id 9
 *   24-25  VM 1: id 5 is stale (generation 4); not reserved; index 1 is VM 4's now; search
 *          from cur_idx 1: index 2, id 10. VM 1's guest now invalidates by VMID 2, while
 *          SID 8's STE still carries 1 (BTM's rollover TLBI ALLE1IS cleaned the SMMU once,
 *          but the live STE refills it under 1): vmid-changed-under-bound-ste at 25
 *   27-28  VM 1 again: fast path, id 10; the same STE and VMID are not reported twice
 *   30-34  detach, invalidate VMID 1.
 * Every recorded id agrees with the model (6 compared at entry and 6 at return); 5 of the 6
 * loads take the slow path (the first on a CPU whose active VMID is still 0, then three new
 * VMs and one stale id).
 */
test('shared unpinned across a rollover: VM 1 comes back with VMID 2 under an STE tagged 1', async () => {
  const result = await analyze(fixture('shared-unpinned-rollover.trace'));
  assert.deepEqual(outcome(result), { found: ['vmid-changed-under-bound-ste@25'], verdict: 'findings', code: 1 });
  const [finding] = findingsOf(result, 'vmid-changed-under-bound-ste');
  assert.equal(finding?.messageId, 'changed');
  assert.deepEqual(witnessLines(finding), ['STE shares VMID 1@9', 'VM loads with VMID 2@25']);
  assert.deepEqual([finding?.data['steVmid'], finding?.data['newVmid'], finding?.data['gen']], [1, 2, 2]);
  assert.deepEqual(result.report.counts.divergences, {});
  assert.deepEqual(result.report.counts.observedFields, { idAfter: 6, idBefore: 6 });
  const { loads, slowLoads, rollovers, generation } = result.report.costs;
  assert.deepEqual({ loads, slowLoads, rollovers, generation }, { loads: 6, slowLoads: 5, rollovers: 1, generation: 2 });
});

/**
 * shared-pinned-rollover.trace, the good twin: RFC v2, same host, max_pinned_vmids =
 * 2^2 - 1 CPU - 2 = 1.
 *   6-7    VM 1: index 1, id 5
 *   9-10   pin: nr_pinned_vmids 0 < 1, id current: pinned_vmid_map bit 1, ret 1
 *   11     SID 8 shares VMID 1
 *   15-20  VM 2: index 2 (id 6); VM 3: index 3 (id 7)
 *   23-24  VM 4: rollover, generation 8; flush_context() starts from the pinned map {1} and
 *          reserves index 0 for CPU 0: VM 4 gets index 2, id 10
 *   26-27  VM 1: id 5 stale, not reserved, pinned: new_vmid() keeps index 1 and returns the
 *          new-generation id without storing it, so the id stays 5 (the RFC v2 subtlety)
 *   29-30  the same slow path again, id 5: same hardware VMID 1
 *   32-37  detach, invalidate VMID 1, then unpin: nothing leaks.
 * SID 8's VMID is VM 1's throughout: no finding. All 6 loads take the slow path, one rollover,
 * and the model reproduces every recorded id, the stale 5 included.
 */
test('shared pinned across a rollover: VM 1 keeps index 1, nothing is found', async () => {
  const result = await analyze(fixture('shared-pinned-rollover.trace'));
  assert.deepEqual(outcome(result), { found: [], verdict: 'ok', code: 0 });
  assert.deepEqual(result.report.counts.divergences, {});
  assert.deepEqual(result.report.counts.observedFields, { idAfter: 6, idBefore: 6 });
  assert.deepEqual(result.report.costs, { loads: 6, slowLoads: 6, rollovers: 1, generation: 2, nrPinnedAtEnd: 0 });
});
