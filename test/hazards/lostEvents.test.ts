/**
 * Issue #16's "lost events before and after a conclusive finding". How ftrace loses events
 * (kernel/trace/trace.c, ring_buffer.c): each CPU has its own ring buffer; when it overflows,
 * the reader is told how many events of that CPU it missed when it reads that CPU's next
 * event, and `print_trace_line()` prints `CPU:N [LOST M EVENTS]` (`CPU:N [LOST EVENTS]` when
 * the `trace` file's iterator cannot count them) right before that event. So the lost events
 * came after CPU N's last printed event and before its next one; lines of other CPUs printed
 * in between may come after them in time. A finding is conclusive only if no lost event can
 * precede it; the verdict is `findings` (exit 1) when a conclusive error or warning exists,
 * otherwise `inconclusive` (exit 2) after any loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, findingsOf } from '../checks/harness.js';
import { fixture, outcome, replaceLine } from './fixtures.js';

/**
 * lost-between-two-reuses.trace, all on CPU 0, smmu0 without BTM:
 *   5-8    domain A: VMID 5, SID 5, aborted, freed without CMD_TLBI_S12_VMALL
 *   9-12   domain B: VMID 6, SID 6, the same
 *   13-14  domain C gets VMID 5 (SID 15): A's entries are still there. Every CPU 0 event up
 *          to here was read: conclusive reuse at 14
 *   15     CPU:0 [LOST 4 EVENTS]: lost after line 14
 *   16-17  domain D gets VMID 6 (SID 16): the lost events may hold CMD_TLBI_S12_VMALL vmid=6,
 *          so the reuse at 17 is inconclusive.
 * A conclusive error exists: verdict findings, exit 1.
 */
test('a finding before CPU 0 loses events stays conclusive, the one after is inconclusive', async () => {
  const result = await analyze(fixture('lost-between-two-reuses.trace'));
  assert.deepEqual(outcome(result), {
    found: ['vmid-reuse-without-invalidation@14', 'vmid-reuse-without-invalidation@17 inconclusive'],
    verdict: 'findings',
    code: 1,
  });
  assert.equal(result.report.dataLossAt?.line, 15);
  assert.deepEqual(findingsOf(result, 'vmid-reuse-without-invalidation').map((f) => f.witnesses.map((w) => w.ref.line)), [[6, 7, 14], [10, 11, 17]]);
});

/**
 * lost-between-two-clean-reuses.trace, the good twin: A and B invalidate their VMIDs before
 * freeing them (lines 7, 12), so neither reuse is a hazard: no finding at all. The loss at
 * line 16 still hides 4 events of CPU 0 (they may hold a hazard the model never saw): the
 * verdict cannot be ok. Inconclusive, exit 2.
 */
test('good twin: the same with the invalidations, no finding, and the loss keeps the verdict from ok', async () => {
  const result = await analyze(fixture('lost-between-two-clean-reuses.trace'));
  assert.deepEqual(outcome(result), { found: [], verdict: 'inconclusive', code: 2 });
  assert.equal(result.report.dataLossAt?.line, 16);
});

/**
 * lost-window-other-cpu.trace, two CPUs:
 *   6-9    CPU 1: domain A takes VMID 5 (SID 1, line 7), then aborts SID 1 (line 9, 1.000004)
 *   10-11  CPU 0: VMID 5 handed out again with no free seen, SID 2 goes live on it (1.000006)
 *   12     CPU:1 [LOST 2 EVENTS], printed with CPU 1's next event (line 13, 1.000007)
 * CPU 1's two lost events lie between 1.000004 and 1.000007, so they may precede line 11:
 * they may be exactly the CMD_TLBI_S12_VMALL vmid=5 and the free that the twin below shows.
 * The reuse at 11 is printed before the marker and is still inconclusive; nothing is
 * conclusive: verdict inconclusive, exit 2.
 */
test('a finding printed before another CPU\'s lost marker, but after that CPU\'s last event, is inconclusive', async () => {
  const result = await analyze(fixture('lost-window-other-cpu.trace'));
  assert.deepEqual(outcome(result), { found: ['vmid-reuse-without-invalidation@11 inconclusive'], verdict: 'inconclusive', code: 2 });
  assert.equal(result.report.dataLossAt?.line, 12);
});

test('the same loss printed as CPU:1 [LOST EVENTS] (no count, the trace file\'s iterator) is a loss too', async () => {
  const text = replaceLine(fixture('lost-window-other-cpu.trace'), 12, /^CPU:1 \[LOST 2 EVENTS\]$/, 'CPU:1 [LOST EVENTS]');
  const result = await analyze(text);
  assert.deepEqual(outcome(result), { found: ['vmid-reuse-without-invalidation@11 inconclusive'], verdict: 'inconclusive', code: 2 });
  assert.equal(result.report.dataLossAt?.line, 12);
  assert.deepEqual(result.report.diagnostics.map((d) => d.code), ['lost-events']);
});

/** lost-window-other-cpu-complete.trace: nothing lost, CPU 1 invalidates (line 8) and frees VMID 5 before CPU 0 reuses it: ok. */
test('good twin: the two events CPU 1 lost, present: no finding, ok', async () => {
  assert.deepEqual(outcome(await analyze(fixture('lost-window-other-cpu-complete.trace'))), { found: [], verdict: 'ok', code: 0 });
});

/**
 * lost-window-closed.trace: CPU 1 frees VMID 5 without an invalidation (line 10); CPU 0
 * reuses it (lines 11-12, 1.000008); CPU 1 prints a CMD_SYNC at 1.000009 (line 13) before
 * losing 2 events (line 14). The loss lies after 1.000009, after the reuse: the finding at 12
 * is conclusive. Verdict findings, exit 1.
 */
test('a finding before the lost CPU\'s last printed event stays conclusive', async () => {
  const result = await analyze(fixture('lost-window-closed.trace'));
  assert.deepEqual(outcome(result), { found: ['vmid-reuse-without-invalidation@12'], verdict: 'findings', code: 1 });
  assert.deepEqual(findingsOf(result, 'vmid-reuse-without-invalidation')[0]?.witnesses.map((w) => w.ref.line), [6, 8, 12]);
  assert.equal(result.report.dataLossAt?.line, 14);
});
