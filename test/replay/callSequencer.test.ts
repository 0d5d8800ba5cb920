/** Where allocator calls are replayed: at returns when the trace has them, else at entries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

const vm1 = '0xffff000010001000';
const vm2 = '0xffff000010002000';
const header = '# vmid-replay: vmid_bits=3 cpus=2 variant=rfc-v2\n';
const line = (cpu: number, ts: number, rest: string) => `       qemu-system-aar-4711 [00${cpu}] d..1.     1.${String(ts).padStart(6, '0')}: ${rest}\n`;
const create = (cpu: number, ts: number, vm: string) => line(cpu, ts, `vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=${vm}`);
const upd = (cpu: number, ts: number, vm: string, id: number) => line(cpu, ts, `vmid_update: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=${vm} id=${id}`);
const ret = (cpu: number, ts: number, vm: string | undefined, id: number) =>
  line(cpu, ts, `vmid_update_ret: (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update)${vm === undefined ? '' : ` kvm_vmid=${vm}`} id=${id}`);
const put = (cpu: number, ts: number) => line(cpu, ts, 'vmid_clear_active: (kvm_arm_vmid_clear_active+0x0/0x34)');

async function decisions(trace: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['replay', '-'], trace);
  assert.ok(result.code === 0 || result.code === 2, result.stderr);
  return result.stdout.trimEnd().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>);
}

async function report(trace: string): Promise<{ verdict: string; diagnostics: { code: string; count: number }[]; findings: { checkId: string }[] }> {
  const result = await runCli(['analyze', '-', '--format', 'json'], trace);
  return JSON.parse(result.stdout) as { verdict: string; diagnostics: { code: string; count: number }[]; findings: { checkId: string }[] };
}

test('racing CPUs are replayed in the order of their returns, not their entries', async () => {
  // CPU 0 enters first but CPU 1 takes the lock first: CPU 1's VM gets index 1.
  const trace = header + create(0, 1, vm1) + create(0, 2, vm2) + upd(0, 3, vm1, 0) + upd(1, 4, vm2, 0) + ret(1, 5, vm2, 9) + ret(0, 6, vm1, 10);
  const loads = (await decisions(trace)).filter((d) => d['op'] === 'load');
  assert.deepEqual(
    loads.map((d) => [d['line'], d['vm'], d['vmid']]),
    [
      [6, vm2, 1],
      [7, vm1, 2],
    ],
  );
  assert.deepEqual((await report(trace)).findings, []);
});

test('with entry probes only, calls are replayed at their entries', async () => {
  const trace = header + create(0, 1, vm1) + create(0, 2, vm2) + upd(0, 3, vm1, 0) + upd(1, 4, vm2, 0) + put(0, 5) + put(1, 6);
  const loads = (await decisions(trace)).filter((d) => d['op'] === 'load');
  assert.deepEqual(
    loads.map((d) => [d['line'], d['vm'], d['vmid']]),
    [
      [4, vm1, 1],
      [5, vm2, 2],
    ],
  );
});

test('a return without the VM pointer (kretprobe before 6.9) pairs with its entry', async () => {
  const trace = header + create(0, 1, vm1) + upd(0, 2, vm1, 0) + ret(0, 3, undefined, 9) + put(0, 4);
  const loads = (await decisions(trace)).filter((d) => d['op'] === 'load');
  assert.deepEqual(loads, [{ line: 4, op: 'load', vm: vm1, cpu: 0, vmid: 1, gen: 1, flushes: 0, slow: true, vm_id_after: '9' }]);
  assert.equal((await report(trace)).verdict, 'ok');
});

test('a rollover probe between an entry and its return does not split the call', async () => {
  // 3-bit VMIDs: seven VMs take indexes 1..7 (ids 9..15) on CPU 0; the eighth finds no zero
  // bit from cur_idx 7, so new_vmid() bumps vmid_generation to 16 and flush_context() runs
  // (the probe after it reads gen=16); the search from 1 gives index 1: id 17. Lines: header
  // 1, creates 2-9, the seven loads 10-30, the eighth's entry 31, rollover 32, return 33.
  const pointers = Array.from({ length: 8 }, (_, i) => `0xffff0000100${i + 1}0000`);
  let trace = header + pointers.map((vm, i) => create(0, i + 1, vm)).join('');
  pointers.slice(0, 7).forEach((vm, i) => {
    trace += upd(0, 10 + 3 * i, vm, 0) + ret(0, 11 + 3 * i, vm, 9 + i) + put(0, 12 + 3 * i);
  });
  const last = pointers[7] as string;
  trace += upd(0, 40, last, 0) + line(0, 41, `vmid_rollover: (kvm_arm_vmid_update+0x28c/0x46c) gen=16`) + ret(0, 42, last, 17) + put(0, 43);
  const r = await report(trace);
  assert.equal(r.verdict, 'ok');
  assert.ok(!r.diagnostics.some((d) => d.code === 'missing-return'));
  const loads = (await decisions(trace)).filter((d) => d['op'] === 'load');
  assert.equal(loads.length, 8);
  assert.deepEqual(loads.at(-1), { line: 33, op: 'load', vm: last, cpu: 0, vmid: 1, gen: 2, flushes: 1, slow: true, vm_id_after: '17' });
});

test('a rollover probe inside a call that cannot roll over is a divergence', async () => {
  // A VM's first load with index 1 free takes it without a rollover: a probe placed after
  // flush_context() cannot fire in that call.
  const rollover = line(0, 3, `vmid_rollover: (kvm_arm_vmid_update+0x28c/0x46c) gen=16`);
  const trace = header + create(0, 1, vm1) + upd(0, 2, vm1, 0) + rollover + ret(0, 4, vm1, 9) + put(0, 5);
  const r = await report(trace);
  assert.equal(r.verdict, 'findings');
  assert.deepEqual(r.findings.map((f) => f.checkId), ['model-divergence']);
  assert.equal((await decisions(trace)).filter((d) => d['op'] === 'load').length, 1);
});

test('an entry whose return never comes is replayed at its entry and makes the rest inconclusive', async () => {
  const trace = header + create(0, 1, vm1) + create(0, 2, vm2) + upd(0, 3, vm1, 0) + ret(0, 4, vm1, 9) + upd(0, 5, vm2, 0) + put(0, 6);
  const r = await report(trace);
  assert.equal(r.verdict, 'inconclusive');
  assert.equal(r.diagnostics.find((d) => d.code === 'missing-return')?.count, 1);
  const loads = (await decisions(trace)).filter((d) => d['op'] === 'load');
  assert.deepEqual(loads.map((d) => [d['line'], d['vmid']]), [
    [5, 1],
    [6, 2],
  ]);
});

test('a pin returning on another CPU is one pin, paired by VM', async () => {
  const pin = line(0, 2, `vmid_pin: (kvm_arm_pinned_vmid_get+0x0/0x110) kvm_vmid=${vm1}`);
  const pinRet = line(1, 3, `vmid_pin_ret: (iommufd_viommu_alloc+0x88/0x1f0 <- kvm_arm_pinned_vmid_get) kvm_vmid=${vm1} ret=1`);
  const unpin = line(0, 5, `vmid_unpin: (kvm_arm_pinned_vmid_put+0x0/0x90) kvm_vmid=${vm1}`);
  const trace = header + create(0, 1, vm1) + pin + pinRet + upd(0, 4, vm1, 9) + ret(0, 5, vm1, 9) + unpin;
  const pins = (await decisions(trace)).filter((d) => d['op'] === 'pin' || d['op'] === 'unpin');
  assert.deepEqual(pins.map((d) => [d['op'], d['line'], d['nr_pinned']]), [
    ['pin', 4, 1],
    ['unpin', 7, 0],
  ]);
  const r = await report(trace);
  assert.equal(r.verdict, 'ok');
  assert.deepEqual(r.findings, []);
});

test('a return with no entry and no VM pointer is an orphan and data loss', async () => {
  const trace = header + create(0, 1, vm1) + ret(0, 2, undefined, 9) + put(0, 3);
  const r = await report(trace);
  assert.equal(r.diagnostics.find((d) => d.code === 'orphan-return')?.count, 1);
  assert.equal(r.verdict, 'inconclusive');
});

test('an observed rollover generation is compared strictly, with or without return probes', async () => {
  // 2-bit VMIDs, one CPU: the 4th VM rolls over to generation 2 (id 8 = 2 << 2).
  const h = '# vmid-replay: vmid_bits=2 cpus=1 variant=mainline\n';
  const vms = ['0xffff000010001000', '0xffff000010002000', '0xffff000010003000', '0xffff000010004000'];
  const build = (withReturns: boolean, gen: number) => {
    let text = h;
    let ts = 1;
    vms.forEach((vm, i) => {
      text += create(0, ts++, vm) + upd(0, ts++, vm, 0);
      if (i === 3) text += line(0, ts++, `vmid_rollover: (kvm_arm_vmid_update+0x28c/0x46c) gen=${gen}`);
      if (withReturns) text += ret(0, ts++, vm, i === 3 ? 9 : 5 + i);
      text += put(0, ts++);
    });
    return text;
  };
  for (const withReturns of [true, false]) {
    const good = await report(build(withReturns, 8));
    assert.deepEqual(good.findings, [], `returns ${withReturns}: gen=8 is right`);
    for (const wrong of [4, 12]) {
      const bad = await report(build(withReturns, wrong));
      assert.deepEqual(bad.findings.map((f) => f.checkId), ['model-divergence'], `returns ${withReturns}: gen=${wrong}`);
    }
  }
});
