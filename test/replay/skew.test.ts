/**
 * CPU clocks that disagree (docs/trace-format.md, "CPU clocks that disagree: the skew bound").
 * Every trace here is small and hand-made; what the kernel does is derived in the comments
 * from arch/arm64/kvm/vmid.c.
 *
 * The host: 2-bit VMIDs (VMID_FIRST_VERSION 4, indexes 1..3 usable, 0 the host's), 2 CPUs,
 * mainline. A runs on CPU 1 (index 1, id 5); B and C take indexes 2 and 3 on CPU 0 (ids 6, 7)
 * and are put. D's first load on CPU 0 finds no zero bit from cur_idx 3: new_vmid() bumps the
 * generation to 8 and flush_context() reserves each CPU's active VMID: CPU 0's is
 * VMID_ACTIVE_INVALID (4, index 0) after its put; CPU 1's is A's 5 if A still runs there
 * (index 1). The map is then bits 0 and 1 (0x3), and the search from 1 gives D index 2: id 10.
 * Had CPU 1 put A before the flush, it would reserve 4 instead, the map would be 0x1, and D
 * would get index 1: id 9. A's next load (id 5, generation 1) takes the slow path; with 5
 * reserved by CPU 1 it keeps index 1 (id 9).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

const [vmA, vmB, vmC, vmD] = ['0xffff000010001000', '0xffff000010002000', '0xffff000010003000', '0xffff000010004000'];

const line = (cpu: number, us: number, body: string) => `        CPU ${cpu}/KVM-400${cpu} [00${cpu}] d..1.     1.${String(us).padStart(6, '0')}: ${body}\n`;
const create = (us: number, vm: string) => line(0, us, `vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=${vm}`);
const entry = (cpu: number, us: number, vm: string, id: number, extra = '') => line(cpu, us, `vmid_update: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=${vm} id=${id}${extra}`);
const ret = (cpu: number, us: number, vm: string, id: number, extra = '') => line(cpu, us, `vmid_update_ret: (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=${vm} id=${id}${extra}`);
const put = (cpu: number, us: number) => line(cpu, us, 'vmid_clear_active: (kvm_arm_vmid_clear_active+0x0/0x34)');
const flushProbe = (cpu: number, us: number, vm: string, fields: string) => line(cpu, us, `vmid_update_decision: (kvm_arm_vmid_update+0x11c/0x1d0) kvm_vmid=${vm} ${fields}`);

const header = (clock?: string) => `# vmid-replay: vmid_bits=2 cpus=2 variant=mainline${clock === undefined ? '' : ` trace_clock=${clock}`}\n`;

/**
 * Lines (after the header): 2-5 creates, 6-7 A on CPU 1, 8-13 B and C on CPU 0, then `middle`
 * (D's rollover and CPU 1's put, in the order given), then A again on CPU 1 and its put.
 */
function rolloverTrace(middle: string, clock?: string): string {
  return (
    header(clock) +
    create(1, vmA) +
    create(2, vmB) +
    create(3, vmC) +
    create(4, vmD) +
    entry(1, 10, vmA, 0) +
    ret(1, 11, vmA, 5) +
    entry(0, 20, vmB, 0) +
    ret(0, 21, vmB, 6) +
    put(0, 22) +
    entry(0, 30, vmC, 0) +
    ret(0, 31, vmC, 7) +
    put(0, 32) +
    middle +
    entry(1, 400, vmA, 5) +
    ret(1, 401, vmA, 9) +
    put(1, 402)
  );
}

/** D's load with the rollover the kernel made: CPU 1 still ran A (res 5), map 0x3, D index 2. */
const dRollsOver = entry(0, 100, vmD, 0) + flushProbe(0, 101, vmD, 'newgen=8 res={4,5} map={0x3}') + ret(0, 102, vmD, 10) + put(0, 103);

interface JsonReport {
  verdict: string;
  counts: { divergences: Record<string, number> };
  findings: { checkId: string; line: number; inconclusive: boolean }[];
  diagnostics: { code: string; count: number; samples: { line: number; detail: string }[] }[];
}

async function analyze(trace: string, extra: readonly string[] = []): Promise<{ code: number; report: JsonReport }> {
  const result = await runCli(['analyze', '-', '--format', 'json', ...extra], trace);
  assert.ok(result.code <= 2, result.stderr);
  return { code: result.code, report: JSON.parse(result.stdout) as JsonReport };
}

function diagnostic(report: JsonReport, code: string): { count: number; samples: { line: number; detail: string }[] } | undefined {
  return report.diagnostics.find((d) => d.code === code);
}

test('in timestamp order the trace is consistent: nothing to reorder, nothing adopted', async () => {
  // CPU 1's put after the flush, stamped so (line 18): the model needs no help.
  const { code, report } = await analyze(rolloverTrace(dRollsOver + put(1, 150)));
  assert.equal(code, 0);
  assert.deepEqual(report.counts.divergences, {});
  assert.equal(diagnostic(report, 'cross-cpu-skew'), undefined);
});

test("a put stamped before the rollover that reserved its VMID is moved after it, and the skew is named", async () => {
  // CPU 1's clock runs behind: its put, really after the flush, is stamped at 1.000050 (line
  // 14), before D's entry. In stamped order the flush would reserve 4 for CPU 1 and D would take
  // index 1; the rollover probe (line 16) says res={4,5} map={0x3} and D's return id 10. The
  // put taken as 52 µs later (just past the probe) explains all three.
  const trace = rolloverTrace(put(1, 50) + dRollsOver);
  const { code, report } = await analyze(trace);
  assert.equal(code, 0);
  assert.equal(report.verdict, 'ok');
  assert.deepEqual(report.counts.divergences, {});
  const skew = diagnostic(report, 'cross-cpu-skew');
  assert.equal(skew?.count, 1);
  assert.equal(skew?.samples[0]?.line, 16, 'reported at the rollover probe');
  assert.match(skew?.samples[0]?.detail ?? '', /CPU 1's line 14 taken as 52 µs later than stamped/);
  assert.match(skew?.samples[0]?.detail ?? '', /line 16 \(per-cpu-reserved/);
});

test('the same trace with no skew allowed is a divergence, so the test above can fail', async () => {
  for (const extra of [['--skew-bound', '0'], []] as const) {
    const trace = extra.length === 0 ? rolloverTrace(put(1, 50) + dRollsOver, 'global') : rolloverTrace(put(1, 50) + dRollsOver);
    const { code, report } = await analyze(trace, extra);
    assert.equal(code, 1, `exit with ${extra.join(' ') || 'trace_clock=global'}`);
    assert.ok((report.counts.divergences['per-cpu-reserved'] ?? 0) >= 1);
    assert.ok(report.findings.some((f) => f.checkId === 'model-divergence' && f.line === 16 && !f.inconclusive));
  }
});

test('a put stamped further before the rollover than the bound is a divergence, not an adopted order', async () => {
  // With --skew-bound 40 the put at 1.000050 is 51 µs from the probe: no allowed order puts it
  // after the flush, and nothing else within the bound changes the probe's answer.
  const { code, report } = await analyze(rolloverTrace(put(1, 50) + dRollsOver), ['--skew-bound', '40']);
  assert.equal(code, 1);
  assert.ok(report.findings.some((f) => f.checkId === 'model-divergence' && f.line === 16 && !f.inconclusive));
  assert.equal(diagnostic(report, 'cross-cpu-skew'), undefined);
});

test('an entry that read the new generation before the rollover was stamped is moved after it', async () => {
  // A's reload on CPU 1 is stamped at 1.000090, before D's entry (1.000100), but its entry
  // probe read gen=8: vmid_generation only grows, so the rollover came first. In stamped
  // order its id 5 would still be current (fast path, id 5); its return says 9 (reserved keep).
  const trace =
    header() +
    create(1, vmA) +
    create(2, vmB) +
    create(3, vmC) +
    create(4, vmD) +
    entry(1, 10, vmA, 0) +
    ret(1, 11, vmA, 5) +
    entry(0, 20, vmB, 0) +
    ret(0, 21, vmB, 6) +
    put(0, 22) +
    entry(0, 30, vmC, 0) +
    ret(0, 31, vmC, 7) +
    put(0, 32) +
    entry(1, 90, vmA, 5, ' gen=8') +
    ret(1, 91, vmA, 9) +
    dRollsOver +
    put(1, 300);
  const { code, report } = await analyze(trace);
  assert.equal(code, 0);
  assert.deepEqual(report.counts.divergences, {});
  assert.equal(diagnostic(report, 'cross-cpu-skew')?.count, 1);
  const strict = await analyze(trace, ['--skew-bound', '0']);
  assert.ok((strict.report.counts.divergences['generation'] ?? 0) >= 1, 'gen= at the entry is compared');
});

test("another CPU's next-but-one active VMID in a snapshot is skew within the bound, a divergence beyond it", async () => {
  // CPU 1's return probe reads every CPU's active VMID (act=). CPU 0 runs B (6), is put (4,
  // VMID_ACTIVE_INVALID) and runs C (7) within 30 µs after the snapshot, which shows 7 already:
  // CPU 0's next-but-one value, which it holds 30 µs later by its own stamps.
  const trace = (bound: string) =>
    header() +
    create(1, vmA) +
    create(2, vmB) +
    create(3, vmC) +
    entry(0, 10, vmB, 0) +
    ret(0, 11, vmB, 5) +
    entry(1, 20, vmA, 0) +
    ret(1, 21, vmA, 6, ' act={7,6}') +
    put(0, 40) +
    entry(0, 50, vmC, 0) +
    ret(0, 51, vmC, 7) +
    put(0, 60) +
    put(1, 61) +
    bound;
  const within = await analyze(trace(''), ['--skew-bound', '100']);
  assert.deepEqual(within.report.counts.divergences, {});
  assert.equal(diagnostic(within.report, 'snapshot-skew')?.count, 1);
  const beyond = await analyze(trace(''), ['--skew-bound', '10']);
  assert.deepEqual(beyond.report.counts.divergences, { 'per-cpu-active': 1 });
});
