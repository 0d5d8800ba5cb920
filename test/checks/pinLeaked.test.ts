/**
 * pin-leaked: a VM destroyed while pinned (error: `kvm_arm_pinned_vmid_put()` never runs, the
 * pool shrinks for good); a pin still held when the trace ends is only a notice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze, findingsOf } from './harness.js';

const A = vm(1);

function pinned(): { w: TraceWriter; pinLine: number } {
  const w = new TraceWriter().header('vmid_bits=8 cpus=2 variant=rfc-v2');
  const pinLine = w.vmCreate(A).load(A, 0).put(0).pin(A, 1).lineCount();
  return { w, pinLine };
}

test('destroyed while pinned: an error at the destroy, with the pin as witness', async () => {
  const { w, pinLine } = pinned();
  const destroyLine = w.vmDestroy(A).lineCount();
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`pin-leaked@${destroyLine}`]);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  const [finding] = findingsOf(result, 'pin-leaked');
  assert.equal(finding?.severity, 'error');
  assert.equal(finding?.messageId, 'destroyed');
  assert.deepEqual(finding?.witnesses.map((x) => `${x.role}@${x.ref.line}`), [`pinned@${pinLine}`, `destroyed while pinned@${destroyLine}`]);
  assert.deepEqual([finding?.data['vmid'], finding?.data['refcount'], finding?.data['nrPinned'], finding?.data['maxPinned']], [1, 1, 1, 252]);
});

test('good twin: unpinned before the destroy', async () => {
  const { w } = pinned();
  const result = await analyze(w.unpin(A).vmDestroy(A).toString());
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
  assert.equal(result.report.verdict, 'ok');
});

test('pinned twice, unpinned once: the refcount is still 1 at the destroy', async () => {
  const { w, pinLine } = pinned();
  const destroyLine = w.pin(A, 1).unpin(A).vmDestroy(A).lineCount();
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`pin-leaked@${destroyLine}`]);
  const [finding] = findingsOf(result, 'pin-leaked');
  assert.equal(finding?.data['refcount'], 1);
  // The pin that took the refcount from 0 to 1 is the witness, not the repin.
  assert.equal(finding?.witnesses[0]?.ref.line, pinLine);
});

test('still pinned when the trace ends: a notice on the last line, verdict ok, exit 0', async () => {
  const { w, pinLine } = pinned();
  const last = w.load(A, 1).put(1).lineCount();
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`pin-leaked@${last}`]);
  const [finding] = findingsOf(result, 'pin-leaked');
  assert.equal(finding?.severity, 'notice');
  assert.equal(finding?.messageId, 'traceEnd');
  assert.deepEqual(finding?.witnesses.map((x) => x.ref.line), [pinLine]);
  assert.equal(result.report.verdict, 'ok');
  assert.equal(result.code, 0);
});

test('a destroyed VM\'s leaked pin is not reported again at the end, and a new VM at the same address is a new VM', async () => {
  const { w } = pinned();
  const destroyLine = w.vmDestroy(A).lineCount();
  w.vmCreate(A).load(A, 0).put(0).pin(A, 2).unpin(A).vmDestroy(A);
  const result = await analyze(w.toString());
  assert.deepEqual(result.found, [`pin-leaked@${destroyLine}`]);
  assert.equal(result.report.findings.length, 1);
});
