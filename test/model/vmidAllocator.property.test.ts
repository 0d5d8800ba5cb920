/**
 * Property tests of the VMID allocator model on generated host workloads: VMs are created,
 * their vCPUs run on random CPUs (`kvm_arm_vmid_update()`), are put
 * (`kvm_arm_vmid_clear_active()`), VMs are destroyed, and with the RFC v2 they are pinned and
 * unpinned. The workload is physically sensible like the oracle's (a CPU runs one vCPU at a
 * time; a put follows a run), and calls are serialized. After every call the invariants the
 * kernel's allocator promises are checked on the model's state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VmidAllocator, newKvmVmid, type KvmVmid, type UpdateOutcome } from '../../src/model/vmidAllocator.js';
import { allocatorConfigProblem, type AllocatorConfig } from '../../src/model/config.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { oracleRoot } from '../helpers/oracle.js';

type Op =
  | { readonly k: 'create' }
  | { readonly k: 'run'; readonly vm: number; readonly cpu: number }
  | { readonly k: 'put'; readonly cpu: number }
  | { readonly k: 'destroy'; readonly vm: number; readonly whilePinned: boolean }
  | { readonly k: 'pin'; readonly vm: number }
  | { readonly k: 'unpin'; readonly vm: number };

interface Vm {
  readonly name: number;
  readonly vmid: KvmVmid;
  alive: boolean;
  /** Our own count of successful pins not yet put. */
  pins: number;
  /** The index the first successful pin returned. */
  pinIndex: number | undefined;
  /** (e): the index this VM must get at its next update, set at a rollover. */
  keepIndex: number | undefined;
  everPinned: boolean;
}

interface Counters {
  runs: number;
  rollovers: number;
  pinsTaken: number;
  pinsExhausted: number;
  pinnedUpdates: number;
  keptAcrossRollover: number;
  pinnedUpdatesAfterRollover: number;
  leakedPins: number;
  reservationsChecked: number;
  /** RFC v2: a loaded CPU runs a VM with an index other than its id's (the VM has two VMIDs). */
  twoVmidStates: number;
}

const newCounters = (): Counters => ({
  runs: 0,
  rollovers: 0,
  pinsTaken: 0,
  pinsExhausted: 0,
  pinnedUpdates: 0,
  keptAcrossRollover: 0,
  pinnedUpdatesAfterRollover: 0,
  leakedPins: 0,
  reservationsChecked: 0,
  twoVmidStates: 0,
});

/** Small widths most of the time: rollovers need more VMs than indexes. */
const bitsArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 2, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 5, max: 8 }) });

function configArb(variant: 'mainline' | 'rfc-v2'): fc.Arbitrary<AllocatorConfig> {
  return bitsArb.chain((vmidBits) => {
    const maxCpus = 2 ** vmidBits - 3;
    return fc
      .oneof(fc.integer({ min: 1, max: Math.min(4, maxCpus) }), fc.integer({ min: 1, max: maxCpus }))
      .map((cpus) => ({ vmidBits, cpus, variant }));
  });
}

const pick = fc.nat({ max: 1 << 16 });

function opsArb(withPins: boolean): fc.Arbitrary<Op[]> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.constant<Op>({ k: 'create' }) },
    { weight: 10, arbitrary: fc.record({ k: fc.constant('run' as const), vm: pick, cpu: pick }) },
    { weight: 5, arbitrary: fc.record({ k: fc.constant('put' as const), cpu: pick }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('destroy' as const), vm: pick, whilePinned: fc.boolean() }) },
    { weight: withPins ? 2 : 0, arbitrary: fc.record({ k: fc.constant('pin' as const), vm: pick }) },
    { weight: withPins ? 2 : 0, arbitrary: fc.record({ k: fc.constant('unpin' as const), vm: pick }) },
  );
  return fc.array(op, { minLength: 1, maxLength: 600, size: 'max' });
}

/** Drives one allocator through a workload, checking every invariant after every call. */
class Host {
  readonly alloc: VmidAllocator;
  readonly vms: Vm[] = [];
  /** The VM whose vCPU is loaded on each CPU (it ran there and was not put since). */
  readonly loaded: (Vm | undefined)[];
  private flushesSeen = 0;
  /** What the last `kvm_arm_vmid_update()` returned. */
  lastUpdate: UpdateOutcome | undefined;

  constructor(
    readonly config: AllocatorConfig,
    readonly counters: Counters,
    alloc: VmidAllocator = new VmidAllocator(config),
  ) {
    assert.equal(allocatorConfigProblem(config), undefined);
    this.alloc = alloc;
    this.loaded = new Array<Vm | undefined>(config.cpus).fill(undefined);
  }

  private get rfc(): boolean {
    return this.config.variant !== 'mainline';
  }

  private alive(): Vm[] {
    return this.vms.filter((vm) => vm.alive);
  }

  apply(op: Op): void {
    switch (op.k) {
      case 'create':
        this.vms.push({ name: this.vms.length + 1, vmid: newKvmVmid(), alive: true, pins: 0, pinIndex: undefined, keepIndex: undefined, everPinned: false });
        break;
      case 'run': {
        const alive = this.alive();
        if (alive.length === 0) return;
        this.run(alive[op.vm % alive.length] as Vm, op.cpu % this.config.cpus);
        break;
      }
      case 'put':
        this.put(op.cpu % this.config.cpus);
        break;
      case 'destroy': {
        const idle = this.alive().filter((vm) => !this.loaded.includes(vm));
        if (idle.length === 0) return;
        const vm = idle[op.vm % idle.length] as Vm;
        if (vm.pins > 0 && op.whilePinned) this.counters.leakedPins += 1;
        else while (vm.pins > 0) this.unpin(vm);
        vm.alive = false;
        break;
      }
      case 'pin': {
        const alive = this.alive();
        if (!this.rfc || alive.length === 0) return;
        this.pin(alive[op.vm % alive.length] as Vm);
        break;
      }
      case 'unpin': {
        const pinned = this.alive().filter((vm) => vm.pins > 0);
        if (pinned.length === 0) return;
        this.unpin(pinned[op.vm % pinned.length] as Vm);
        break;
      }
    }
    this.checkState(op);
  }

  private put(cpu: number): void {
    if (this.loaded[cpu] === undefined) return;
    this.alloc.clearActive(cpu);
    this.loaded[cpu] = undefined;
  }

  private run(vm: Vm, cpu: number): void {
    if (this.loaded[cpu] !== vm) this.put(cpu);
    const before = this.snapshotLoaded();
    const outcome = this.alloc.update(vm.vmid, cpu);
    this.lastUpdate = outcome;
    this.loaded[cpu] = vm;
    this.counters.runs += 1;
    const where = `VM ${vm.name} on CPU ${cpu}`;
    // (a) the index a vCPU runs with is never 0, the host's VMID.
    assert.notEqual(outcome.vmid, 0, `${where}: index 0 handed out`);
    assert.equal(outcome.activeId, this.alloc.activeVmids[cpu], where);
    // The id a vCPU runs with is always of the current generation.
    assert.equal(outcome.gen, this.alloc.generation / this.alloc.numUserVmids, `${where}: runs with generation ${outcome.gen}`);
    // (c) a pinned VM runs with its pinned index, whatever the rollovers.
    if (vm.pins > 0) {
      assert.equal(outcome.vmid, vm.pinIndex, `${where}: pinned VM ran with index ${outcome.vmid}, pinned ${vm.pinIndex}`);
      this.counters.pinnedUpdates += 1;
      if (this.alloc.generationOf(vm.vmid.id) < outcome.gen) this.counters.pinnedUpdatesAfterRollover += 1;
    }
    // (e) a VM loaded on a CPU at a rollover keeps its index at its next update (RFC: if never pinned).
    if (vm.keepIndex !== undefined) {
      assert.equal(outcome.vmid, vm.keepIndex, `${where}: was loaded at a rollover with index ${vm.keepIndex}, got ${outcome.vmid}`);
      this.counters.keptAcrossRollover += 1;
      vm.keepIndex = undefined;
    }
    this.afterCall(outcome.flushes, vm, before);
  }

  private pin(vm: Vm): void {
    const before = this.snapshotLoaded();
    const nrBefore = this.alloc.nrPinnedVmids;
    const outcome = this.alloc.pinGet(vm.vmid);
    const where = `pin of VM ${vm.name}`;
    const mustFail = vm.pins === 0 && nrBefore >= this.alloc.maxPinnedVmids;
    assert.equal(outcome.exhausted, mustFail, `${where}: exhausted=${outcome.exhausted} with ${nrBefore}/${this.alloc.maxPinnedVmids} pinned`);
    if (outcome.exhausted) {
      // RFC v2 returns 0 when out of pinnable VMIDs.
      assert.equal(outcome.ret, 0, where);
      this.counters.pinsExhausted += 1;
    } else {
      // (a) a pin hands out a real index, never 0.
      assert.ok(outcome.ret > 0 && outcome.ret < this.alloc.numUserVmids, `${where}: returned ${outcome.ret}`);
      if (vm.pins > 0) assert.equal(outcome.ret, vm.pinIndex, `${where}: a second pin returned another index`);
      else vm.pinIndex = outcome.ret;
      assert.equal(this.alloc.indexOf(vm.vmid.id), outcome.ret, `${where}: the id holds the pinned index`);
      vm.pins += 1;
      vm.everPinned = true;
      this.counters.pinsTaken += 1;
    }
    this.afterCall(outcome.flushes, vm, before);
  }

  private unpin(vm: Vm): void {
    const outcome = this.alloc.pinPut(vm.vmid);
    assert.equal(outcome.vmid, vm.pinIndex, `unpin of VM ${vm.name}`);
    vm.pins -= 1;
    assert.equal(outcome.released, vm.pins === 0);
    if (vm.pins === 0) vm.pinIndex = undefined;
  }

  /**
   * Per CPU, before a call that may roll over: the index of the loaded VM's id, and the index the
   * CPU last ran for it (what a flush would reserve: `active_vmids`, or the reservation a
   * previous flush kept when the vCPU has not entered since); 0 for an idle CPU.
   */
  private snapshotLoaded(): { vmIndex: number; ranIndex: number }[] {
    return this.loaded.map((vm, cpu) => {
      if (vm === undefined) return { vmIndex: 0, ranIndex: 0 };
      const active = this.alloc.activeVmids[cpu] as number;
      return { vmIndex: this.alloc.indexOf(vm.vmid.id), ranIndex: this.alloc.indexOf(active !== 0 ? active : (this.alloc.reservedVmids[cpu] as number)) };
    });
  }

  private afterCall(flushes: number, caller: Vm, before: readonly { vmIndex: number; ranIndex: number }[]): void {
    assert.ok(flushes === 0 || flushes === 1, `${flushes} rollovers in one call`);
    this.flushesSeen += flushes;
    if (flushes === 0) return;
    this.counters.rollovers += 1;
    // (f) a put releases the reservation (VMID_ACTIVE_INVALID): at a rollover an idle CPU
    // reserves nothing (index 0) and a CPU with a loaded vCPU reserves the index of that VM's id
    // (mainline). RFC v2: the index the CPU ran for it, which can differ from the VM's id once a
    // pinned VM with a stale id is unpinned (it then runs under two VMIDs).
    this.alloc.reservedVmids.forEach((reserved, cpu) => {
      const expected = before[cpu] as { vmIndex: number; ranIndex: number };
      assert.equal(this.alloc.indexOf(reserved), this.rfc ? expected.ranIndex : expected.vmIndex, `rollover by VM ${caller.name}: CPU ${cpu} reserved ${reserved}`);
    });
    if (!this.rfc) this.counters.reservationsChecked += before.filter((cpu) => cpu.vmIndex !== 0).length;
    const loadedOthers = new Set(this.loaded.filter((vm): vm is Vm => vm !== undefined && vm !== caller));
    for (const vm of this.vms) if (!loadedOthers.has(vm)) vm.keepIndex = undefined;
    // RFC v2: only for VMs never pinned. A VM pinned while its id went stale (new_vmid()'s pinned
    // branch does not store the new id) is not reserved by the rollover: it keeps its index while
    // pinned, by (c), and loses it if unpinned first (see the fixed scenario below).
    for (const vm of loadedOthers) if (!vm.everPinned) vm.keepIndex = this.alloc.indexOf(vm.vmid.id);
  }

  /** Invariants on the whole state, after every operation. */
  private checkState(op: Op): void {
    const { alloc } = this;
    const where = `after ${JSON.stringify(op)}`;
    // (d) each rollover bumps the generation by one.
    assert.equal(alloc.rollovers, alloc.generation / alloc.numUserVmids - 1, `${where}: ${alloc.rollovers} rollovers, generation ${alloc.generation}`);
    assert.equal(alloc.rollovers, this.flushesSeen, `${where}: the calls reported every flush`);
    assert.equal(alloc.generation % alloc.numUserVmids, 0);

    // (b) no two distinct VMs use one index in the current generation. A VM uses an index when
    // its id is of the current generation, when it is pinned (RFC: even with an id left in an
    // older generation, and even after being destroyed while pinned, the pin leaks), and when
    // one of its vCPUs runs with it (the CPU's active id).
    const users = new Map<number, Set<number>>();
    const use = (index: number, vm: Vm, why: string): void => {
      assert.notEqual(index, 0, `${where}: VM ${vm.name} uses index 0 (${why})`);
      const set = users.get(index) ?? new Set<number>();
      set.add(vm.name);
      users.set(index, set);
      assert.equal(set.size, 1, `${where}: index ${index} used by VMs ${[...set].join(', ')} (${why})`);
    };
    for (const vm of this.vms) {
      if (vm.alive && vm.vmid.id !== 0 && alloc.generationOf(vm.vmid.id) === alloc.generation / alloc.numUserVmids) {
        use(alloc.indexOf(vm.vmid.id), vm, 'current-generation id');
      }
      if (vm.pins > 0) use(vm.pinIndex as number, vm, vm.alive ? 'pinned' : 'pin leaked by destroy');
    }
    this.loaded.forEach((vm, cpu) => {
      if (vm === undefined) return;
      const active = alloc.activeVmids[cpu] as number;
      // 0: a rollover cleared it and the vCPU has not entered since.
      if (active === 0) return;
      assert.equal(alloc.generationOf(active), alloc.generation / alloc.numUserVmids, `${where}: CPU ${cpu} runs an old generation`);
      use(alloc.indexOf(active), vm, `active on CPU ${cpu}`);
      // Mainline: what a CPU runs is exactly its VM's id.
      if (!this.rfc) assert.equal(active, vm.vmid.id, `${where}: CPU ${cpu} runs ${active}, VM ${vm.name} has ${vm.vmid.id}`);
      else if (alloc.indexOf(active) !== alloc.indexOf(vm.vmid.id)) this.counters.twoVmidStates += 1;
    });

    // (c) a pinned VM's index never changes while pinned, and its pinned bit stays set.
    const pinned = this.vms.filter((vm) => vm.pins > 0);
    const pinnedIndexes = alloc.pinnedIndexes();
    for (const vm of pinned) {
      assert.equal(alloc.indexOf(vm.vmid.id), vm.pinIndex, `${where}: pinned VM ${vm.name} moved to index ${alloc.indexOf(vm.vmid.id)}`);
      assert.equal(vm.vmid.pinned, vm.pins, `${where}: refcount of VM ${vm.name}`);
      assert.ok(pinnedIndexes.includes(vm.pinIndex as number), `${where}: pinned bit of VM ${vm.name}`);
    }
    if (this.rfc) {
      assert.equal(alloc.nrPinnedVmids, pinned.length, `${where}: nr_pinned_vmids`);
      assert.ok(alloc.nrPinnedVmids <= alloc.maxPinnedVmids, `${where}: more pins than max_pinned_vmids`);
      assert.equal(pinnedIndexes.length, pinned.length, `${where}: pinned_vmid_map population`);
    }
  }
}

function runWorkload(config: AllocatorConfig, ops: readonly Op[], counters: Counters): Host {
  const host = new Host(config, counters);
  for (const op of ops) host.apply(op);
  return host;
}

test('mainline: generated workloads keep invariants (a) index 0 never handed out, (b) unique indexes, (d) rollover count, (e) loaded VMs keep their index, (f) a put releases', (t) => {
  const counters = newCounters();
  fc.assert(
    fc.property(configArb('mainline'), opsArb(false), (config, ops) => {
      runWorkload(config, ops, counters);
    }),
    { numRuns: 300, includeErrorInReport: true },
  );
  t.diagnostic(JSON.stringify(counters));
  // No vacuous pass: the workloads rolled over, and (e) was checked many times.
  assert.ok(counters.runs > 10_000, `${counters.runs} updates`);
  assert.ok(counters.rollovers > 100, `${counters.rollovers} rollovers`);
  assert.ok(counters.keptAcrossRollover > 50, `(e) checked ${counters.keptAcrossRollover} times`);
  assert.ok(counters.reservationsChecked > 200, `(f) checked ${counters.reservationsChecked} loaded CPUs`);
});

test('mainline boundary: the most CPUs the kernel accepts (2^bits - 2) still never hands out index 0', (t) => {
  const counters = newCounters();
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 5 }), opsArb(false), (vmidBits, ops) => {
      runWorkload({ vmidBits, cpus: 2 ** vmidBits - 2, variant: 'mainline' }, ops, counters);
    }),
    { numRuns: 150, includeErrorInReport: true },
  );
  t.diagnostic(JSON.stringify(counters));
  assert.ok(counters.rollovers > 50, `${counters.rollovers} rollovers`);
  assert.ok(counters.keptAcrossRollover > 50, `(e) checked ${counters.keptAcrossRollover} times`);
});

test('rfc-v2 with pins: (a), (b) no two VMs share an index (ids, pins, active CPUs), (c) pinned index never changes, (d), (e) for never-pinned VMs, (f)', (t) => {
  const counters = newCounters();
  fc.assert(
    fc.property(configArb('rfc-v2'), opsArb(true), (config, ops) => {
      runWorkload(config, ops, counters);
    }),
    { numRuns: 300, includeErrorInReport: true },
  );
  t.diagnostic(JSON.stringify(counters));
  assert.ok(counters.rollovers > 100, `${counters.rollovers} rollovers`);
  assert.ok(counters.pinsTaken > 500, `${counters.pinsTaken} pins`);
  assert.ok(counters.pinsExhausted > 10, `${counters.pinsExhausted} exhausted pins`);
  assert.ok(counters.pinnedUpdates > 500, `${counters.pinnedUpdates} updates of pinned VMs`);
  assert.ok(counters.pinnedUpdatesAfterRollover > 20, `${counters.pinnedUpdatesAfterRollover} pinned updates after a rollover`);
  assert.ok(counters.leakedPins > 10, `${counters.leakedPins} pins leaked by destroy`);
  assert.ok(counters.keptAcrossRollover > 50, `(e) for never-pinned VMs checked ${counters.keptAcrossRollover} times`);
});

test('rfc-v2 without pins behaves as mainline, call for call', () => {
  let compared = 0;
  fc.assert(
    fc.property(configArb('mainline'), opsArb(false), (config, ops) => {
      const mainline = runWorkload(config, ops, newCounters());
      const rfc = runWorkload({ ...config, variant: 'rfc-v2' }, ops, newCounters());
      assert.deepEqual(
        rfc.vms.map((vm) => vm.vmid.id),
        mainline.vms.map((vm) => vm.vmid.id),
      );
      assert.deepEqual([rfc.alloc.generation, rfc.alloc.activeVmids, rfc.alloc.reservedVmids], [mainline.alloc.generation, mainline.alloc.activeVmids, mainline.alloc.reservedVmids]);
      compared += ops.length;
    }),
    { numRuns: 150, includeErrorInReport: true },
  );
  assert.ok(compared > 5000);
});

test('the invariant checks catch a broken allocator', () => {
  // A model that hands the same index to two VMs must fail (b); one that forgets a rollover, (d).
  const config: AllocatorConfig = { vmidBits: 3, cpus: 2, variant: 'mainline' };
  const host = new Host(config, newCounters());
  host.apply({ k: 'create' });
  host.apply({ k: 'create' });
  host.apply({ k: 'run', vm: 0, cpu: 0 });
  host.apply({ k: 'run', vm: 1, cpu: 1 });
  const [first, second] = host.vms as [Vm, Vm];
  assert.notEqual(host.alloc.indexOf(first.vmid.id), host.alloc.indexOf(second.vmid.id));
  second.vmid.id = first.vmid.id;
  assert.throws(() => host.apply({ k: 'put', cpu: 1 }), /index \d used by VMs 1, 2/);

  /** A model whose rollover count is one ahead of its generation. */
  class MiscountingAllocator extends VmidAllocator {
    override get rollovers(): number {
      return super.rollovers + 1;
    }
  }
  const other = new Host(config, newCounters(), new MiscountingAllocator(config));
  assert.throws(() => other.apply({ k: 'create' }), /1 rollovers, generation 8/);

  const pinnedHost = new Host({ vmidBits: 3, cpus: 1, variant: 'rfc-v2' }, newCounters());
  pinnedHost.apply({ k: 'create' });
  pinnedHost.apply({ k: 'pin', vm: 0 });
  const pinned = pinnedHost.vms[0] as Vm;
  pinned.vmid.id += 1;
  assert.throws(() => pinnedHost.apply({ k: 'create' }), /pinned VM 1 moved to index/);
});

test('a VM loaded at a rollover keeps its index: a fixed mainline scenario', () => {
  // 3-bit VMIDs, 2 CPUs: VM 1 stays loaded on CPU 0 while VMs 2..8 churn on CPU 1 until a
  // rollover; VM 1 is then reserved and keeps index 1, while VM 2 (put) loses its index.
  const host = new Host({ vmidBits: 3, cpus: 2, variant: 'mainline' }, newCounters());
  host.apply({ k: 'create' });
  host.apply({ k: 'run', vm: 0, cpu: 0 });
  const outcomes: UpdateOutcome[] = [];
  for (let i = 1; i <= 7; i++) {
    host.apply({ k: 'create' });
    host.apply({ k: 'run', vm: i, cpu: 1 });
    outcomes.push(host.lastUpdate as UpdateOutcome);
    host.apply({ k: 'put', cpu: 1 });
  }
  assert.deepEqual(
    outcomes.map((outcome) => [outcome.vmid, outcome.gen]),
    [
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 1],
      [6, 1],
      [7, 1],
      [2, 2],
    ],
  );
  assert.equal(host.alloc.rollovers, 1);
  assert.equal((host.vms[0] as Vm).keepIndex, 1);
  host.apply({ k: 'run', vm: 0, cpu: 0 });
  assert.equal(host.alloc.activeVmids[0], 2 * 8 + 1);
  assert.equal(host.counters.keptAcrossRollover, 1);
});

test('rfc-v2: a pinned VM whose id went stale is not reserved by a rollover, so once unpinned it changes index', () => {
  // The RFC's new_vmid() returns a pinned VM's new-generation id without storing it. A CPU
  // running that VM reserves the id it ran (17), which is not the VM's kvm_vmid->id (9), so
  // check_update_reserved_vmid() misses it after the next rollover; while pinned the VM keeps
  // index 1 anyway, but unpinned it searches a new one though it was loaded at the rollover.
  // Same mechanism as ../shared/oracle/edge/rfcv2-edge-unpin-stale-two-vmids.jsonl.
  const host = new Host({ vmidBits: 3, cpus: 2, variant: 'rfc-v2' }, newCounters());
  const run = (vm: number, cpu: number): void => host.apply({ k: 'run', vm: vm - 1, cpu });
  const churnOnCpu0 = (from: number, to: number): void => {
    for (let vm = from; vm <= to; vm++) {
      host.apply({ k: 'create' });
      run(vm, 0);
      host.apply({ k: 'put', cpu: 0 });
    }
  };
  host.apply({ k: 'create' });
  host.apply({ k: 'pin', vm: 0 });
  const vm1 = host.vms[0] as Vm;
  assert.deepEqual([vm1.pinIndex, vm1.vmid.id], [1, 9]);
  churnOnCpu0(2, 8);
  assert.equal(host.alloc.rollovers, 1);
  run(1, 1);
  assert.deepEqual([host.alloc.activeVmids[1], vm1.vmid.id], [17, 9], 'runs with generation 2, id left in generation 1');
  churnOnCpu0(9, 14);
  assert.equal(host.alloc.rollovers, 2);
  assert.deepEqual(host.alloc.reservedVmids, [8, 17], 'CPU 1 reserved what it ran, not the id');
  assert.equal(host.loaded[1], vm1, 'VM 1 was loaded on CPU 1 at the rollover');
  host.apply({ k: 'unpin', vm: 0 });
  run(1, 0);
  assert.equal(vm1.vmid.id, 3 * 8 + 3);
  assert.equal(host.alloc.indexOf(vm1.vmid.id), 3, 'index 1 is lost');
  // Mainline has no such case: there a VM's id is always what its CPUs ran (checked above).
});

test('rfc-v2: the oracle\'s unpin-stale-two-vmids scenario through this driver: one VM, two VMIDs, no index shared', () => {
  // ../shared/oracle/edge/rfcv2-edge-unpin-stale-two-vmids.jsonl, recorded from the real vmid.c
  // with the RFC applied: every load of the driver must match it, and (b) must hold throughout.
  const lines = readFileSync(join(oracleRoot, 'edge', 'rfcv2-edge-unpin-stale-two-vmids.jsonl'), 'utf8').trim().split('\n');
  const header = JSON.parse(lines[0] as string) as { vmid_bits: number; cpus: number };
  const host = new Host({ vmidBits: header.vmid_bits, cpus: header.cpus, variant: 'rfc-v2' }, newCounters());
  type Call = { op: string; vm?: number; cpu?: number; vmid?: number; gen?: number; vm_id_after?: string };
  const calls = lines.slice(1, -1).map((line) => JSON.parse(line) as Call);
  assert.ok(calls.length > 20);
  let loads = 0;
  for (const call of calls) {
    const vm = (call.vm ?? 1) - 1;
    const cpu = call.cpu ?? 0;
    if (call.op === 'create') host.apply({ k: 'create' });
    else if (call.op === 'put') host.apply({ k: 'put', cpu });
    else if (call.op === 'pin') host.apply({ k: 'pin', vm });
    else if (call.op === 'unpin') host.apply({ k: 'unpin', vm: 0 });
    else if (call.op === 'load') {
      host.apply({ k: 'run', vm, cpu });
      const outcome = host.lastUpdate as UpdateOutcome;
      assert.deepEqual([outcome.vmid, outcome.gen, String(outcome.idAfter)], [call.vmid, call.gen, call.vm_id_after], JSON.stringify(call));
      loads += 1;
    } else assert.fail(`unexpected call ${call.op}`);
  }
  assert.equal(loads, 11);
  const vm1 = host.vms[0] as Vm;
  assert.deepEqual([host.loaded[0], host.loaded[1]], [vm1, vm1]);
  assert.deepEqual(
    host.alloc.activeVmids.map((id) => host.alloc.indexOf(id)),
    [1, 4],
    'VM 1 runs with index 1 on CPU 0 and index 4 on CPU 1',
  );
  assert.equal(host.counters.twoVmidStates, 1);
});
