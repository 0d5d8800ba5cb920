/**
 * Builds the synthetic traces in traces/ (see traces/README.md): a host's workload written as
 * the lines the documented probes print, with every observed id and pin result computed by
 * the same allocator model the replay uses, so the traces are what the kernel would record.
 * Deterministic: running it twice writes the same bytes. Run: npm run build && node dist/scripts/sampleTraces.js
 */
import { writeFileSync } from 'node:fs';
import { TraceWriter, vmPointer } from '../test/helpers/traceWriter.js';
import { VmidAllocator, newKvmVmid, type KvmVmid } from '../src/model/vmidAllocator.js';
import type { AllocatorConfig } from '../src/model/config.js';

/** A host: the allocator model plus the writer, so each call prints what the kernel returned. */
class Host {
  readonly writer = new TraceWriter();
  readonly allocator: VmidAllocator;
  private readonly vms = new Map<number, KvmVmid>();

  constructor(config: AllocatorConfig, smmus: readonly string[] = []) {
    this.allocator = new VmidAllocator(config);
    this.writer.header(`vmid_bits=${config.vmidBits} cpus=${config.cpus} variant=${config.variant}`);
    for (const smmu of smmus) this.writer.header(smmu);
  }

  create(vm: number): void {
    this.vms.set(vm, newKvmVmid());
    this.writer.vmCreate(vmPointer(vm));
  }
  destroy(vm: number): void {
    this.writer.vmDestroy(vmPointer(vm), this.kvm(vm).id);
    this.vms.delete(vm);
  }
  private kvm(vm: number): KvmVmid {
    const state = this.vms.get(vm);
    if (state === undefined) throw new Error(`VM ${vm} not created`);
    return state;
  }
  /** A vCPU load: returns the VMID index it runs with. */
  load(vm: number, cpu: number): number {
    const before = this.kvm(vm).id;
    const outcome = this.allocator.update(this.kvm(vm), cpu);
    this.writer.load(vmPointer(vm), cpu, before, outcome.idAfter);
    this.writer.event('kvm_entry', 'PC: 0x0000000040000018', { cpu });
    this.writer.event('kvm_exit', 'TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0000000040000018', { cpu });
    return outcome.vmid;
  }
  put(cpu: number): void {
    this.allocator.clearActive(cpu);
    this.writer.put(cpu);
  }
  run(vm: number, cpu: number): number {
    const vmid = this.load(vm, cpu);
    this.put(cpu);
    return vmid;
  }
  pin(vm: number, recordedRet?: number): number {
    const outcome = this.allocator.pinGet(this.kvm(vm));
    this.writer.pin(vmPointer(vm), recordedRet ?? outcome.ret);
    return outcome.ret;
  }
  unpin(vm: number): void {
    this.allocator.pinPut(this.kvm(vm));
    this.writer.unpin(vmPointer(vm));
  }
  noise(cpu: number, n: number): void {
    for (let i = 0; i < n; i++) {
      this.writer.event('sched_switch', `prev_comm=CPU ${cpu}/KVM prev_pid=${4000 + cpu} prev_prio=120 prev_state=S ==> next_comm=swapper/${cpu} next_pid=0 next_prio=120`, { cpu });
    }
  }
}

/** Device assignment done right: pins before sharing, detach in order, invalidations issued. */
function deviceAssignmentClean(): string {
  const host = new Host({ vmidBits: 16, cpus: 8, variant: 'rfc-v2' }, ['smmu=smmu0 vmid_bits=16 btm=on', 'smmu=smmu1 vmid_bits=16 btm=off']);
  const w = host.writer;
  // Host DMA domains live on smmu1, which does not share KVM VMIDs.
  w.smmuVmid('alloc', 'smmu1', 1).ste('smmu1', 0x8, 's2', 1).cmd('smmu1', 'op=CFGI_STE sid=8').cmd('smmu1', 'op=CMD_SYNC');
  for (let vm = 1; vm <= 12; vm++) {
    host.create(vm);
    host.run(vm, vm % 8);
  }
  // VMs 3, 5 and 7 get a passthrough device each through a vSMMU on smmu0 (nested, BTM on).
  const devices: [number, number][] = [
    [3, 0x100],
    [5, 0x101],
    [7, 0x102],
  ];
  for (const [vm, sid] of devices) {
    const vmid = host.pin(vm);
    w.ste('smmu0', sid, 'nested', vmid, vmPointer(vm)).cmd('smmu0', `op=CFGI_STE sid=${sid}`).cmd('smmu0', 'op=CMD_SYNC');
  }
  for (let round = 0; round < 40; round++) {
    for (let vm = 1; vm <= 12; vm++) host.run(vm, (vm + round) % 8);
    host.noise(round % 8, 3);
  }
  // VM 5 detaches: STE to abort, invalidate its VMID, then unpin; then it is destroyed.
  const vmid5 = host.run(5, 2);
  w.ste('smmu0', 0x101, 'abort', 0).cmd('smmu0', 'op=CFGI_STE sid=257').cmd('smmu0', `op=TLBI_S12_VMALL vmid=${vmid5}`).cmd('smmu0', 'op=CMD_SYNC');
  host.unpin(5);
  host.destroy(5);
  // A new VM takes over the device after the old VMID was invalidated.
  host.create(13);
  host.run(13, 4);
  const vmid13 = host.pin(13);
  w.ste('smmu0', 0x101, 'nested', vmid13, vmPointer(13)).cmd('smmu0', 'op=CFGI_STE sid=257').cmd('smmu0', 'op=CMD_SYNC');
  for (let round = 0; round < 10; round++) for (const vm of [3, 7, 13]) host.run(vm, round % 8);
  // Orderly teardown of everything.
  for (const [vm, sid] of [
    [3, 0x100],
    [7, 0x102],
    [13, 0x101],
  ] as [number, number][]) {
    const vmid = host.run(vm, 1);
    w.ste('smmu0', sid, 'abort', 0).cmd('smmu0', `op=CFGI_STE sid=${sid}`).cmd('smmu0', `op=TLBI_S12_VMALL vmid=${vmid}`).cmd('smmu0', 'op=CMD_SYNC');
    host.unpin(vm);
  }
  for (const vm of [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13]) host.destroy(vm);
  return w.toString();
}

/** One host doing every hazard the tool knows, each once, on narrow 4-bit VMIDs. */
function mixedHazards(): string {
  const host = new Host({ vmidBits: 4, cpus: 4, variant: 'rfc-v2' }, ['smmu=smmu0 vmid_bits=16 btm=off']);
  const w = host.writer;
  w.raw('# 4-bit VMIDs (15 usable, 10 pinnable with 4 CPUs) so that exhaustion and rollovers show in a short trace.');
  // VMs 1..10 are device-assigned and pin; the 11th pin fails (pin-exhausted) and the caller
  // programs S2VMID 0 (ste-vmid-zero).
  for (let vm = 1; vm <= 11; vm++) {
    host.create(vm);
    host.run(vm, vm % 4);
    const ret = host.pin(vm);
    w.ste('smmu0', 0x200 + vm, 'nested', ret, vmPointer(vm)).cmd('smmu0', `op=CFGI_STE sid=${0x200 + vm}`);
  }
  // VM 12 shares its VMID with the SMMU without pinning (vmid-changed-under-bound-ste once a
  // rollover moves it).
  host.create(12);
  const shared = host.run(12, 0);
  w.ste('smmu0', 0x300, 's2', shared, vmPointer(12)).cmd('smmu0', 'op=CFGI_STE sid=768');
  // VM 2 is unpinned while its STE still uses the VMID (pin-released-while-bound).
  host.unpin(2);
  // VM 4 is destroyed while pinned (pin-leaked).
  host.destroy(4);
  // VM 21 takes the pin slot VM 2 freed, but its device attach is abandoned (no STE).
  host.create(21);
  host.run(21, 3);
  host.pin(21);
  // Churn until a rollover moves VM 12 to another index.
  let churn = 30;
  for (let moved = false; !moved; ) {
    if (churn > 200) throw new Error('VM 12 never moved: the scenario no longer shows the hazard');
    for (let i = 0; i < 6; i++, churn++) {
      host.create(churn);
      host.run(churn, churn % 4);
    }
    moved = host.run(12, 1) !== shared;
  }
  // RFC v2 leaves pinned VM 21 with its old-generation id after the rollover. It is loaded
  // on CPU 2, unpinned while still loaded there, then loaded on CPU 3: it cannot take back
  // its index (the pinned copy kept the bit) and runs under two VMIDs (vm-two-vmids).
  host.load(21, 2);
  host.unpin(21);
  host.load(21, 3);
  host.put(2);
  host.put(3);
  // A capture from a kernel that behaves differently shows up as a divergence: this pin
  // result is recorded as VMID 0 (what an exhausted pool returns), but the pool has room.
  host.create(22);
  host.run(22, 0);
  host.pin(22, 0);
  // An SMMU domain moves SID 0x400 from VMID 20 to 21 and frees 20 without invalidating
  // (ste-switch-without-invalidation); then VMID 20 is reused by another domain without an
  // invalidation either (vmid-reuse-without-invalidation).
  w.smmuVmid('alloc', 'smmu0', 20).ste('smmu0', 0x400, 's2', 20).cmd('smmu0', 'op=CFGI_STE sid=1024');
  w.smmuVmid('alloc', 'smmu0', 21).ste('smmu0', 0x400, 's2', 21).cmd('smmu0', 'op=CFGI_STE sid=1024');
  w.smmuVmid('free', 'smmu0', 20);
  w.smmuVmid('alloc', 'smmu0', 20).ste('smmu0', 0x401, 's2', 20).cmd('smmu0', 'op=CFGI_STE sid=1025');
  return w.toString();
}

const outputs: [string, string][] = [
  ['traces/device-assignment-clean.trace', deviceAssignmentClean()],
  ['traces/mixed-hazards.trace', mixedHazards()],
];
for (const [path, text] of outputs) writeFileSync(path, text);
