/**
 * pin-exhausted: `kvm_arm_pinned_vmid_get()` finds `nr_pinned_vmids >= max_pinned_vmids`
 * (max = 2^bits - CPUs - 2). RFC v2 returns 0, RFC v3 -EINVAL; a repin only bumps the refcount.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceWriter, vmPointer as vm } from '../helpers/traceWriter.js';
import { analyze, findingsOf, witnessLines } from './harness.js';

interface Scenario {
  readonly header: string;
  /** What the trace records VM 5's pin returning. */
  readonly ret5: number | undefined;
  /** VM 4 unpins before VM 5's pin (instead of at the end): the good twin. */
  readonly gap?: boolean;
  /** VM 5 does not pin; VM 1 pins a second time instead (a refcounted repin). */
  readonly repin?: boolean;
  readonly extra?: readonly string[];
}

/**
 * 3-bit VMIDs and 2 CPUs leave 8 - 2 - 2 = 4 pinnable VMIDs. VMs 1..4 load and pin, then VM 5
 * loads and pins. Every pin taken is released at the end, so no pin-leaked notice.
 */
function build(s: Scenario): { text: string; line: number } {
  const w = new TraceWriter().header(s.header);
  for (let n = 1; n <= 4; n++) w.vmCreate(vm(n)).load(vm(n), 0).put(0).pin(vm(n), n);
  if (s.gap === true) w.unpin(vm(4));
  let line: number;
  if (s.repin === true) line = w.pin(vm(1), 1).unpin(vm(1)).lineCount() - 1;
  else line = w.vmCreate(vm(5)).load(vm(5), 0).put(0).pin(vm(5), s.ret5).lineCount();
  for (const n of s.gap === true ? [1, 2, 3, 5] : [1, 2, 3, 4]) w.unpin(vm(n));
  return { text: w.toString(), line };
}

test('RFC v2: the fifth distinct pin with 3-bit VMIDs and 2 CPUs is refused and returns 0', async () => {
  const { text, line } = build({ header: 'vmid_bits=3 cpus=2 variant=rfc-v2', ret5: 0 });
  assert.equal(line, 31);
  const result = await analyze(text);
  assert.deepEqual(result.found, ['pin-exhausted@31']);
  assert.equal(result.code, 1);
  assert.equal(result.report.verdict, 'findings');
  assert.equal(result.report.counts.allEventsAccounted, true);
  const [finding] = findingsOf(result, 'pin-exhausted');
  assert.ok(finding);
  assert.equal(finding.severity, 'error');
  assert.equal(finding.messageId, 'v2');
  assert.equal(finding.inconclusive, false);
  // Each VM writes 6 lines after the header (create, update entry and return, put, pin and its
  // return), so VM n's pin returns at line 1 + 6n: the four holders are quoted at 7, 13, 19, 25.
  assert.deepEqual(witnessLines(finding), ['pin held@7', 'pin held@13', 'pin held@19', 'pin held@25', 'pin refused@31']);
  assert.deepEqual(
    finding.parties.map((party) => `${party.name}: ${party.note ?? ''} ${party.vmids.join(',')}`.trim()),
    // VMs 1..4 pinned indices 1..4 in turn (new_vmid() takes the first free index).
    [`VM ${vm(5)}: pin refused`, `VM ${vm(1)}: pinned 1`, `VM ${vm(2)}: pinned 2`, `VM ${vm(3)}: pinned 3`, `VM ${vm(4)}: pinned 4`, 'KVM: 4 of 4 pinnable VMIDs pinned'],
  );
  assert.deepEqual([finding.data['nrPinned'], finding.data['maxPinned'], finding.data['ret']], [4, 4, 0]);
});

test('good twin (RFC v2): VM 4 unpins before VM 5 pins, so the pin gets index 5', async () => {
  const result = await analyze(build({ header: 'vmid_bits=3 cpus=2 variant=rfc-v2', ret5: 5, gap: true }).text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
  assert.equal(result.report.verdict, 'ok');
});

test('RFC v3 (--variant rfc-v3): the refused pin returns -EINVAL, and the trace agrees', async () => {
  const { text, line } = build({ header: 'vmid_bits=3 cpus=2', ret5: -22 });
  const result = await analyze(text, ['--variant', 'rfc-v3']);
  assert.deepEqual(result.found, [`pin-exhausted@${line}`]);
  assert.equal(result.code, 1);
  const [finding] = findingsOf(result, 'pin-exhausted');
  assert.equal(finding?.messageId, 'v3');
  assert.equal(finding?.data['ret'], -22);
  assert.deepEqual(witnessLines(finding), ['pin held@7', 'pin held@13', 'pin held@19', 'pin held@25', `pin refused@${line}`]);
});

test('good twin (RFC v3): with a gap the pin succeeds', async () => {
  const result = await analyze(build({ header: 'vmid_bits=3 cpus=2', ret5: 5, gap: true }).text, ['--variant', 'rfc-v3']);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
});

test('RFC v3 model, trace recording the v2 return value 0: the refusal plus a pin-ret divergence', async () => {
  const { text, line } = build({ header: 'vmid_bits=3 cpus=2 variant=rfc-v3', ret5: 0 });
  const result = await analyze(text);
  assert.deepEqual(result.found, [`model-divergence@${line}`, `pin-exhausted@${line}`]);
  assert.equal(findingsOf(result, 'model-divergence')[0]?.messageId, 'pin-ret');
});

test('a refcounted repin of an already pinned VM succeeds even with the pool full', async () => {
  const { text, line } = build({ header: 'vmid_bits=3 cpus=2 variant=rfc-v2', ret5: undefined, repin: true });
  const result = await analyze(text);
  assert.deepEqual(result.found, []);
  assert.equal(result.code, 0);
  // The repin really is in the trace, with the pool full at that point.
  assert.match(text.split('\n')[line - 1] ?? '', /vmid_pin_ret: .* ret=1$/);
});

test('the limit follows max_pinned_vmids = 2^bits - CPUs - 2: 8-bit VMIDs, 4 CPUs, 250 pins then a refusal', async () => {
  const w = new TraceWriter().header('vmid_bits=8 cpus=4 variant=rfc-v2');
  for (let n = 1; n <= 250; n++) w.vmCreate(vm(n)).load(vm(n), n % 4).put(n % 4).pin(vm(n), n);
  const ok = await analyze(w.toString());
  assert.deepEqual(ok.found.filter((id) => !id.startsWith('pin-leaked@')), []);
  const line = w.vmCreate(vm(251)).load(vm(251), 0).put(0).pin(vm(251), 0).lineCount();
  const refused = await analyze(w.toString());
  assert.deepEqual(findingsOf(refused, 'pin-exhausted').map((f) => f.line), [line]);
  assert.deepEqual(findingsOf(refused, 'pin-exhausted')[0]?.data['maxPinned'], 250);
});
