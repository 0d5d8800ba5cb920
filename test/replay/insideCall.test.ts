/**
 * Probes that fire inside an allocator call belong to that call. On VHE the kernel runs at EL2,
 * so `kvm_call_hyp(__kvm_flush_vm_context)` in `flush_context()` is a plain call and the
 * rollover's `TLBI ALLE1IS` probe (`cpu_tlbi_all`) fires between `kvm_arm_vmid_update()`'s
 * entry and its return, on the same CPU, with `cpu_vmid_lock` held. One test per shape a
 * capture can have: kprobe entry and kretprobe, entry probes only, in-lock probes, fprobes,
 * the first call of a trace, and a pin (RFC) that rolls over.
 *
 * The allocator in every trace: 2-bit VMIDs, so VMID_FIRST_VERSION = 4, indexes 1..3 (0 is
 * the host's). VMs A, B, C take indexes 1, 2, 3 (ids 5, 6, 7) from cur_idx = 1 upwards. D's
 * first load (id 0) then finds no zero bit from cur_idx = 3 to the end: new_vmid() bumps the
 * generation to 8 and calls flush_context(), which reserves each CPU's active VMID (CPU 0's
 * is VMID_ACTIVE_INVALID = 4 after its put, index 0; CPU 1 never ran, so 0, index 0) and
 * issues the TLBI ALLE1IS; the search from 1 gives D index 1: id 9.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

const [vmA, vmB, vmC, vmD] = ['0xffff000010001000', '0xffff000010002000', '0xffff000010003000', '0xffff000010004000'];

const line = (cpu: number, ts: number, body: string) => `        CPU ${cpu}/KVM-4000 [00${cpu}] d..1.     1.${String(ts).padStart(6, '0')}: ${body}\n`;
const create = (ts: number, vm: string) => line(0, ts, `vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=${vm}`);
const entry = (cpu: number, ts: number, vm: string, id: number) => line(cpu, ts, `vmid_update: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=${vm} id=${id}`);
const ret = (cpu: number, ts: number, vm: string, id: number) => line(cpu, ts, `vmid_update_ret: (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=${vm} id=${id}`);
const put = (cpu: number, ts: number) => line(cpu, ts, 'vmid_clear_active: (kvm_arm_vmid_clear_active+0x0/0x34)');
const tlbiAll = (cpu: number, ts: number) => line(cpu, ts, 'cpu_tlbi_all: (__kvm_flush_vm_context+0x0/0x40)');

const header = (variant = 'mainline', cpus = 2) => `# vmid-replay: vmid_bits=2 cpus=${cpus} variant=${variant}\n# vmid-replay: smmu=smmu0 vmid_bits=2 btm=on\n`;

/** VMs A, B, C loaded and put on CPU 0 (lines 3 to 14 after the two header lines), with returns. */
function fillPool(withReturns = true): string {
  let text = create(1, vmA) + create(2, vmB) + create(3, vmC) + create(4, vmD);
  let ts = 10;
  for (const [vm, id] of [
    [vmA, 5],
    [vmB, 6],
    [vmC, 7],
  ] as const) {
    text += entry(0, ts++, vm, 0) + (withReturns ? ret(0, ts++, vm, id) : '') + put(0, ts++);
  }
  return text;
}

interface JsonReport {
  verdict: string;
  costs: { loads: number; rollovers: number; generation: number };
  counts: { divergences: Record<string, number>; allEventsAccounted: boolean };
  diagnostics: { code: string; count: number; samples: { line: number }[] }[];
  findings: { checkId: string; line: number; inconclusive: boolean }[];
}

async function analyze(trace: string): Promise<JsonReport> {
  const result = await runCli(['analyze', '-', '--format', 'json'], trace);
  assert.ok(result.code <= 2, result.stderr);
  return JSON.parse(result.stdout) as JsonReport;
}

async function loads(trace: string): Promise<[number, string, number, number][]> {
  const result = await runCli(['replay', '-'], trace);
  assert.ok(result.code <= 2, result.stderr);
  return result.stdout
    .trimEnd()
    .split('\n')
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .filter((d) => d['op'] === 'load')
    .map((d) => [d['line'] as number, d['vm'] as string, d['vmid'] as number, d['flushes'] as number]);
}

function codes(report: JsonReport): string[] {
  return report.diagnostics.map((d) => d.code);
}

test('kprobe entry and kretprobe: the TLBI between them belongs to the call, which is replayed at its return', async () => {
  // Lines: 1-2 header, 3-6 creates, 7-15 A/B/C, 16 D's entry, 17 its TLBI, 18 its return, 19 put.
  const trace = header() + fillPool() + entry(0, 30, vmD, 0) + tlbiAll(0, 31) + ret(0, 32, vmD, 9) + put(0, 33);
  const report = await analyze(trace);
  assert.equal(report.verdict, 'ok');
  assert.deepEqual(report.counts.divergences, {});
  assert.ok(!codes(report).includes('missing-return') && !codes(report).includes('orphan-return'), codes(report).join(','));
  assert.equal(report.costs.rollovers, 1);
  assert.equal(report.costs.loads, 4, 'four calls, none invented from an orphan return');
  assert.deepEqual((await loads(trace)).at(-1), [18, vmD, 1, 1]);
});

test('the bundled VHE trace: a hazard after the rollover stays definite', async () => {
  // traces/vhe-rollover-inside-update.trace: A's VMID 1 is shared with SID 8 without a pin
  // (line 7); D's load rolls over (TLBI at line 19 inside the call at 18-20) and takes index 1;
  // A comes back on CPU 1 at line 23: index 1 is taken, its id 5 is reserved by no CPU
  // (reserved = {4, 0}), so the search from cur_idx 1 gives index 2 (id 10) while the STE still
  // carries 1: vmid-changed-under-bound-ste at the load's return, line 23, not inconclusive.
  const result = await runCli(['analyze', 'traces/vhe-rollover-inside-update.trace', '--format', 'json']);
  const report = JSON.parse(result.stdout) as JsonReport;
  assert.equal(result.code, 1);
  assert.equal(report.verdict, 'findings');
  assert.deepEqual(
    report.findings.map((f) => [f.checkId, f.line, f.inconclusive]),
    [['vmid-changed-under-bound-ste', 23, false]],
  );
  assert.ok(!codes(report).includes('missing-return'));
});

test('entry probes only: the TLBI after an entry is an observation of the call replayed there', async () => {
  // No returns: every call is replayed at its entry, D's at line 13 (entries at 7, 9, 11, 13).
  const trace = header() + fillPool(false) + entry(0, 30, vmD, 0) + tlbiAll(0, 31) + put(0, 32) + entry(1, 40, vmA, 5) + put(1, 41);
  const report = await analyze(trace);
  assert.equal(report.verdict, 'ok');
  assert.deepEqual(report.counts.divergences, {});
  assert.equal(report.costs.rollovers, 1);
  // A (id 5, generation 1) on CPU 1: index 1 is D's now, so the search from 1 gives index 2.
  assert.deepEqual(await loads(trace), [
    [7, vmA, 1, 0],
    [9, vmB, 2, 0],
    [11, vmC, 3, 0],
    [13, vmD, 1, 1],
    [16, vmA, 2, 0],
  ]);
});

test('in-lock probes: the TLBI between the rollover probe and the search probe is part of the call', async () => {
  const decision = (ts: number, fields: string) => line(0, ts, `vmid_update_decision: (kvm_arm_vmid_update+0x28c/0x46c) kvm_vmid=${vmD} ${fields}`);
  // flush_context() reserved 4 (CPU 0, put) and 0 (CPU 1): bits 0 only, map word 0x1.
  const trace =
    header() +
    fillPool() +
    entry(0, 30, vmD, 0) +
    decision(31, 'newgen=8 res={4,0} map={0x1}') +
    tlbiAll(0, 32) +
    decision(33, 'id=9 cur_idx=1') +
    ret(0, 34, vmD, 9) +
    put(0, 35);
  const report = await analyze(trace);
  assert.equal(report.verdict, 'ok');
  assert.deepEqual(report.counts.divergences, {});
  assert.ok(!codes(report).includes('orphan-return'), codes(report).join(','));
  assert.equal(report.costs.loads, 4);
  assert.deepEqual((await loads(trace)).at(-1), [17, vmD, 1, 1], 'replayed at the rollover probe, line 17');
});

test('fprobes: __kvm_flush_vm_context__entry inside kvm_arm_vmid_update__entry/__exit', async () => {
  const fEntry = (ts: number, vm: string, id: number) => line(0, ts, `kvm_arm_vmid_update__entry: (kvm_arm_vmid_update+0x4/0x46c) kvm_vmid=${vm} id=${id}`);
  const fExit = (ts: number, vm: string, id: number) => line(0, ts, `kvm_arm_vmid_update__exit: (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=${vm} id=${id}`);
  const fTlbi = (ts: number) => line(0, ts, '__kvm_flush_vm_context__entry: (__kvm_flush_vm_context+0x4/0x40)');
  const trace = header() + fillPool() + fEntry(30, vmD, 0) + fTlbi(31) + fExit(32, vmD, 9) + put(0, 33);
  const report = await analyze(trace);
  assert.equal(report.verdict, 'ok');
  assert.deepEqual(report.counts.divergences, {});
  assert.equal(report.costs.rollovers, 1);
  assert.deepEqual((await loads(trace)).at(-1), [18, vmD, 1, 1]);
});

test('the first call of a trace: a TLBI after its entry does not make the trace look entry-only', async () => {
  // A's first load cannot roll over (index 1 is free), so the TLBI inside it is a divergence;
  // but the call is still replayed at its return (line 6), not at its entry.
  const trace = header() + create(1, vmA) + entry(0, 2, vmA, 0) + tlbiAll(0, 3) + ret(0, 4, vmA, 5) + put(0, 5);
  const report = await analyze(trace);
  assert.deepEqual(report.counts.divergences, { rollover: 1 });
  assert.deepEqual(
    report.findings.map((f) => [f.checkId, f.line]),
    [['model-divergence', 5]],
  );
  assert.deepEqual(await loads(trace), [[6, vmA, 1, 0]]);
});

test('a pin that rolls over (RFC v2): the TLBI inside kvm_arm_pinned_vmid_get() belongs to the pin', async () => {
  // D never ran: kvm_arm_pinned_vmid_get() finds its id 0 not in the current generation and
  // calls new_vmid(), which rolls over exactly as an update would; the pin returns index 1.
  // One CPU, so that max_pinned_vmids = 2^2 - 1 - 2 = 1 leaves room for the pin.
  const pin = (ts: number) => line(0, ts, `vmid_pin: (kvm_arm_pinned_vmid_get+0x0/0x110) kvm_vmid=${vmD}`);
  const pinRet = (ts: number, value: number) => line(0, ts, `vmid_pin_ret: (iommufd_viommu_alloc+0x88/0x1f0 <- kvm_arm_pinned_vmid_get) kvm_vmid=${vmD} ret=${value}`);
  const trace = header('rfc-v2', 1) + fillPool() + pin(30) + tlbiAll(0, 31) + pinRet(32, 1) + line(0, 33, `vmid_unpin: (kvm_arm_pinned_vmid_put+0x0/0x90) kvm_vmid=${vmD}`);
  const report = await analyze(trace);
  assert.equal(report.verdict, 'ok');
  assert.deepEqual(report.counts.divergences, {});
  assert.equal(report.costs.rollovers, 1);
  assert.ok(!codes(report).includes('missing-return'));
});
