/**
 * Lost events make what follows unprovable: findings after a `CPU:N [LOST M EVENTS]` line are
 * marked inconclusive and do not count toward the verdict, which is `inconclusive` (exit 2)
 * unless a conclusive error or warning exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze } from './harness.js';

/** The pin-exhausted scenario (3-bit VMIDs, 2 CPUs, VM 5's pin refused) with a lost marker. */
function exhausted(lostAt: 'before' | 'after' | 'none'): { text: string; pinLine: number; lostLine: number | undefined } {
  const w = new TraceWriter().header('vmid_bits=3 cpus=2 variant=rfc-v2');
  for (let n = 1; n <= 4; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0).pin(vm(n), n);
  let lostLine = lostAt === 'before' ? w.lost(0, 5).lineCount() : undefined;
  const pinLine = w.vmCreate(vm(5)).load(vm(5), 0).put(0).pin(vm(5), 0).lineCount();
  if (lostAt === 'after') lostLine = w.lost(0, 5).lineCount();
  for (let n = 1; n <= 4; n++) w.unpin(vm(n));
  return { text: w.toString(), pinLine, lostLine };
}

test('a finding after CPU:0 [LOST 5 EVENTS] is inconclusive: verdict inconclusive, exit 2', async () => {
  const { text, pinLine, lostLine } = exhausted('before');
  assert.match(text.split('\n')[(lostLine ?? 0) - 1] ?? '', /^CPU:0 \[LOST 5 EVENTS\]$/);
  const result = await analyze(text);
  assert.deepEqual(result.found, [`pin-exhausted@${pinLine}`]);
  assert.equal(result.report.findings[0]?.inconclusive, true);
  assert.equal(result.report.verdict, 'inconclusive');
  assert.equal(result.code, 2);
  assert.equal(result.report.dataLossAt?.line, lostLine);
  const summary = result.report.checks.find((check) => check.id === 'pin-exhausted');
  assert.deepEqual([summary?.count, summary?.inconclusive], [0, 1]);
});

test('the same finding before the lost line stays conclusive: verdict findings, exit 1', async () => {
  const { text, pinLine } = exhausted('after');
  const result = await analyze(text);
  assert.deepEqual(result.found, [`pin-exhausted@${pinLine}`]);
  assert.equal(result.report.findings[0]?.inconclusive, false);
  assert.equal(result.report.verdict, 'findings');
  assert.equal(result.code, 1);
});

test('without the lost line: conclusive, exit 1', async () => {
  const result = await analyze(exhausted('none').text);
  assert.equal(result.report.findings[0]?.inconclusive, false);
  assert.equal(result.report.dataLossAt, null);
  assert.equal(result.code, 1);
});

test('lost events and no finding at all: inconclusive, exit 2', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').vmCreate(vm(1)).load(vm(1), 0).lost(1, 3).put(0);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, []);
  assert.equal(result.report.verdict, 'inconclusive');
  assert.equal(result.code, 2);
});

test('an end-of-trace notice after lost events is inconclusive too and does not make findings', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2 variant=rfc-v2');
  const last = w.vmCreate(vm(1)).load(vm(1), 0).put(0).pin(vm(1), 1).lost(0, 2).load(vm(1), 1).put(1).lineCount();
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`pin-leaked@${last}`]);
  assert.deepEqual([result.report.findings[0]?.severity, result.report.findings[0]?.inconclusive], ['notice', true]);
  assert.equal(result.code, 2);
});

test('a finding on a line before the lost marker stays conclusive even when the replay still held it', async () => {
  // The first update entry of an entry-only trace is held until CPU 0 does something else; the
  // STE on CPU 1 (line 5) waits with it, past the lost marker of line 6.
  const w = new TraceWriter().header('vmid_bits=8 cpus=2').header('smmu=smmu0 vmid_bits=8');
  const steLine = w.vmCreate(vm(1)).update(vm(1), 0).ste('smmu0', 1, 's2', 0, undefined, 1).lineCount();
  w.lost(1, 5).put(0);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`ste-vmid-zero@${steLine}`]);
  assert.equal(result.report.findings[0]?.inconclusive, false);
  assert.equal(result.code, 1);
});
