/**
 * The device planner (`--assign`, `--scale`): which VMs get devices, and the trace line each
 * attach and detach is charged to, as the what-if documents them: `all` at the VM's creation
 * and destruction, `first-run` at its first vCPU load, `ratio=R` a seeded choice by VM
 * identity, `vms=` the named pointers, `devices=N` N devices each, `trace` the trace's own
 * attaches; `--scale K` K copies of every VM, the copies named POINTER~K.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventBase } from '../../src/events/common.js';
import { AssignmentPlanner, parseAssign, type AssignSpec, type PlannedOp } from '../../src/whatif/assign.js';
import type { WorkloadOp } from '../../src/whatif/workload.js';
import { vmPointer } from '../helpers/traceWriter.js';

const [a, b, c] = [vmPointer(1), vmPointer(2), vmPointer(3)];

/** A workload step's place: line `line` of a trace, one microsecond a line. */
function at(line: number, cpu = 0): EventBase {
  return { span: { file: 't', line, offset: 0 }, source: { text: '' }, cpu, tsUs: line, tsNs: 0 };
}

const name = (vm: string) => (vm.startsWith(a) ? vm.replace(a, 'A') : vm.startsWith(b) ? vm.replace(b, 'B') : vm.startsWith(c) ? vm.replace(c, 'C') : vm);

/** A planned step as `op VM [detail] @line`. */
function show(op: PlannedOp): string {
  switch (op.op) {
    case 'create':
      return `create ${name(op.vm)} devices=${op.devices} @${op.at.span.line}`;
    case 'destroy':
      return `destroy ${name(op.vm)} @${op.at.span.line}`;
    case 'load':
      return `load ${name(op.vm)} cpu${op.cpu} @${op.at.span.line}`;
    case 'put':
      return `put cpu${op.cpu} @${op.at.span.line}`;
    case 'attach':
    case 'detach':
      return `${op.op} ${name(op.vm)} ${op.device.smmu}/0x${op.device.sid.toString(16)} @${op.at.span.line}`;
    case 'loss':
      return `loss @${op.at.span.line}`;
  }
}

interface Planned {
  readonly steps: string[];
  readonly peak: number;
  readonly peakAt: number | undefined;
}

function plan(spec: AssignSpec | string, workload: readonly WorkloadOp[], scale = 1): Planned {
  const steps: string[] = [];
  const planner = new AssignmentPlanner(typeof spec === 'string' ? parseAssign(spec) : spec, scale, (op) => steps.push(show(op)));
  for (const op of workload) planner.push(op);
  return { steps, peak: planner.peakHolding, peakAt: planner.peakAt?.span.line };
}

/**
 * A trace's workload: A and B created (lines 2, 3); A loaded on CPU 0 (5) and put (6); B
 * loaded on CPU 1 (8) and put (9); A loaded again (11) and put (12); A destroyed (14), B (15).
 */
const twoVms: readonly WorkloadOp[] = [
  { op: 'create', vm: a, at: at(2) },
  { op: 'create', vm: b, at: at(3) },
  { op: 'load', vm: a, cpu: 0, at: at(5) },
  { op: 'put', cpu: 0, at: at(6) },
  { op: 'load', vm: b, cpu: 1, at: at(8, 1) },
  { op: 'put', cpu: 1, at: at(9, 1) },
  { op: 'load', vm: a, cpu: 0, at: at(11) },
  { op: 'put', cpu: 0, at: at(12) },
  { op: 'destroy', vm: a, at: at(14) },
  { op: 'destroy', vm: b, at: at(15) },
];

/** The loads and puts of `twoVms`, which every --assign leaves as they are. */
const twoVmsRun = ['load A cpu0 @5', 'put cpu0 @6', 'load B cpu1 @8', 'put cpu1 @9', 'load A cpu0 @11', 'put cpu0 @12'];

describe('--assign all: a device per VM from its creation to its destruction', () => {
  it('attaches at the creation line, detaches at the destruction line, on SIDs from 0x100 in order of attach', () => {
    assert.deepEqual(plan('all', twoVms), {
      steps: [
        'create A devices=1 @2',
        'attach A smmu0/0x100 @2',
        'create B devices=1 @3',
        'attach B smmu0/0x101 @3',
        ...twoVmsRun,
        'detach A smmu0/0x100 @14',
        'destroy A @14',
        'detach B smmu0/0x101 @15',
        'destroy B @15',
      ],
      // Both hold a device from line 3 to line 14.
      peak: 2,
      peakAt: 3,
    });
  });

  it('a VM the trace never shows created (it existed before the capture) is created, and attached, at its first load', () => {
    const { steps } = plan('all', [{ op: 'load', vm: c, cpu: 2, at: at(7, 2) }, { op: 'destroy', vm: c, at: at(9) }]);
    assert.deepEqual(steps, ['create C devices=1 @7', 'attach C smmu0/0x100 @7', 'load C cpu2 @7', 'detach C smmu0/0x100 @9', 'destroy C @9']);
  });

  it("ignores the trace's own attaches: they are --assign trace's", () => {
    const { steps } = plan('all', [{ op: 'create', vm: a, at: at(2) }, { op: 'attach', vm: a, device: { smmu: 'smmu1', sid: 7 }, at: at(3) }, { op: 'destroy', vm: a, at: at(4) }]);
    assert.deepEqual(steps, ['create A devices=1 @2', 'attach A smmu0/0x100 @2', 'detach A smmu0/0x100 @4', 'destroy A @4']);
  });
});

describe('first-run: the attach moves to the first vCPU load', () => {
  it('attaches just before the first load runs, once; a VM that never runs gets nothing', () => {
    const workload: WorkloadOp[] = [...twoVms.slice(0, 8), { op: 'create', vm: c, at: at(13) }, ...twoVms.slice(8), { op: 'destroy', vm: c, at: at(16) }];
    assert.deepEqual(plan('all,first-run', workload), {
      steps: [
        // The creation still says how many devices the VM will get (pin-at-create pins for them).
        'create A devices=1 @2',
        'create B devices=1 @3',
        'attach A smmu0/0x100 @5',
        'load A cpu0 @5',
        'put cpu0 @6',
        'attach B smmu0/0x101 @8',
        'load B cpu1 @8',
        'put cpu1 @9',
        'load A cpu0 @11',
        'put cpu0 @12',
        'create C devices=1 @13',
        'detach A smmu0/0x100 @14',
        'destroy A @14',
        'detach B smmu0/0x101 @15',
        'destroy B @15',
        'destroy C @16',
      ],
      peak: 2,
      peakAt: 8,
    });
  });
});

describe('vms=PTR,...: the named VMs only', () => {
  it('gives B its device and A none; pointers are read as numbers, so case does not matter', () => {
    const { steps, peak } = plan(`vms=${b.toUpperCase().replace('0X', '0x')}`, twoVms);
    assert.deepEqual(
      steps.filter((step) => step.startsWith('attach') || step.startsWith('detach') || step.startsWith('create')),
      ['create A devices=0 @2', 'create B devices=1 @3', 'attach B smmu0/0x100 @3', 'detach B smmu0/0x100 @15'],
    );
    assert.equal(peak, 1);
  });

  it('takes the rest of the list as pointers, after the modifiers', () => {
    const spec = parseAssign(`first-run,devices=2,vms=${a},${c}`);
    assert.deepEqual({ ...spec, mode: spec.mode.kind === 'vms' ? [...spec.mode.pointers] : spec.mode }, { mode: [a, c], firstRun: true, devices: 2, seed: 1 });
  });
});

describe('devices=N: N devices per chosen VM, each a pin reference', () => {
  it('attaches N on SIDs of their own at the same line, detaches all N at the destruction; the peak counts VMs, not devices', () => {
    const { steps, peak } = plan('all,devices=3', twoVms.slice(0, 1).concat(twoVms.slice(8, 9)));
    assert.deepEqual(steps, [
      'create A devices=3 @2',
      'attach A smmu0/0x100 @2',
      'attach A smmu0/0x101 @2',
      'attach A smmu0/0x102 @2',
      'detach A smmu0/0x100 @14',
      'detach A smmu0/0x101 @14',
      'detach A smmu0/0x102 @14',
      'destroy A @14',
    ]);
    assert.equal(peak, 1);
  });
});

describe('trace: the attaches the trace records', () => {
  /** A gets smmu1 SID 7 at line 4 (an STE bound to its VMID) and loses it at line 13. */
  const recorded: WorkloadOp[] = [...twoVms.slice(0, 2), { op: 'attach', vm: a, device: { smmu: 'smmu1', sid: 7 }, at: at(4) }, ...twoVms.slice(2, 8), { op: 'detach', vm: a, device: { smmu: 'smmu1', sid: 7 }, at: at(13) }, ...twoVms.slice(8)];

  it('charges each to its own line, and no VM is given a device ahead', () => {
    assert.deepEqual(plan('trace', recorded), {
      steps: [
        'create A devices=0 @2',
        'create B devices=0 @3',
        'attach A smmu1/0x7 @4',
        ...twoVmsRun,
        'detach A smmu1/0x7 @13',
        'destroy A @14',
        'destroy B @15',
      ],
      peak: 1,
      peakAt: 4,
    });
  });

  it('with devices=2 each recorded attach stands for two, the second above the 32-bit StreamIDs, at SID + 64 * 2^32', () => {
    const { steps } = plan('trace,devices=2', recorded);
    assert.deepEqual(
      steps.filter((step) => step.startsWith('attach') || step.startsWith('detach')),
      ['attach A smmu1/0x7 @4', 'attach A smmu1/0x4000000007 @4', 'detach A smmu1/0x7 @13', 'detach A smmu1/0x4000000007 @13'],
    );
  });
});

describe('ratio=R: a seeded, reproducible fraction of the VMs', () => {
  /** 400 VMs, each created and destroyed. */
  const many: { readonly op: 'create' | 'destroy'; readonly vm: string; readonly at: EventBase }[] = Array.from({ length: 400 }, (_, i) => [
    { op: 'create' as const, vm: vmPointer(100 + i), at: at(2 * i + 2) },
    { op: 'destroy' as const, vm: vmPointer(100 + i), at: at(2 * i + 3) },
  ]).flat();

  function chosen(ratio: number, seed: number, workload: readonly WorkloadOp[] = many): string[] {
    const picked: string[] = [];
    const planner = new AssignmentPlanner(parseAssign(`ratio=${ratio}`, seed), 1, (op) => {
      if (op.op === 'attach') picked.push(op.vm);
    });
    for (const op of workload) planner.push(op);
    return picked.sort();
  }

  it('picks about R of the VMs: 0.3 of 400 is 120, and a binomial spread of 9 puts it within 90..150', () => {
    const count = chosen(0.3, 1).length;
    assert.ok(count >= 90 && count <= 150, String(count));
    assert.equal(chosen(0, 1).length, 0);
    assert.equal(chosen(1, 1).length, 400);
  });

  it('the same seed picks the same VMs, another seed others, and a VM is picked by its identity alone', () => {
    assert.deepEqual(chosen(0.3, 1), chosen(0.3, 1));
    assert.notDeepEqual(chosen(0.3, 1), chosen(0.3, 2));
    // Half the VMs gone, the rest in reverse order: whether a VM is picked does not change.
    const half = many.filter((op) => Number.parseInt(op.vm.slice(-5), 16) % 0x2000 === 0).reverse();
    assert.ok(half.length > 0 && half.length < many.length);
    const kept = new Set(half.map((op) => op.vm));
    assert.deepEqual(
      chosen(0.3, 1, half),
      chosen(0.3, 1).filter((vm) => kept.has(vm)),
    );
  });

  it("a pointer's next lifetime is a VM of its own, picked afresh", () => {
    // One pointer, 200 lifetimes: if the choice ignored the lifetime it would be all or none.
    const lives: WorkloadOp[] = Array.from({ length: 200 }, (_, i) => [
      { op: 'create' as const, vm: a, at: at(2 * i + 2) },
      { op: 'destroy' as const, vm: a, at: at(2 * i + 3) },
    ]).flat();
    const count = chosen(0.5, 1, lives).length;
    assert.ok(count > 0 && count < 200, String(count));
  });
});

describe('--scale K: K copies of every VM, side by side', () => {
  it('creates, attaches and destroys POINTER~2 with the VM, its device on the next SID of a block of 2; a load runs each copy in turn on the CPU', () => {
    const { steps, peak, peakAt } = plan('all', [twoVms[0] as WorkloadOp, ...twoVms.slice(2, 4), twoVms[8] as WorkloadOp], 2);
    assert.deepEqual(steps, [
      'create A devices=1 @2',
      'create A~2 devices=1 @2',
      'attach A smmu0/0x100 @2',
      'attach A~2 smmu0/0x101 @2',
      'load A cpu0 @5',
      'put cpu0 @5',
      'load A~2 cpu0 @5',
      'put cpu0 @6',
      'detach A smmu0/0x100 @14',
      'detach A~2 smmu0/0x101 @14',
      'destroy A @14',
      'destroy A~2 @14',
    ]);
    // Copies are counted as VMs holding devices: 2 from line 2.
    assert.deepEqual([peak, peakAt], [2, 2]);
  });

  it("copies the trace's own attaches too, above the 32-bit StreamIDs a trace can hold: copy K at SID + (K - 1) * 2^32", () => {
    const { steps } = plan('trace', [twoVms[0] as WorkloadOp, { op: 'attach', vm: a, device: { smmu: 'smmu1', sid: 7 }, at: at(4) }], 3);
    assert.deepEqual(
      steps.filter((step) => step.startsWith('attach')),
      ['attach A smmu1/0x7 @4', 'attach A~2 smmu1/0x100000007 @4', 'attach A~3 smmu1/0x200000007 @4'],
    );
  });

  it('gives every device of every copy a SID of its own: B, created after A, starts after A\'s block', () => {
    const { steps } = plan('all,devices=2', twoVms.slice(0, 2), 2);
    assert.deepEqual(
      steps.filter((step) => step.startsWith('attach')),
      ['attach A smmu0/0x100 @2', 'attach A~2 smmu0/0x101 @2', 'attach A smmu0/0x102 @2', 'attach A~2 smmu0/0x103 @2', 'attach B smmu0/0x104 @3', 'attach B~2 smmu0/0x105 @3', 'attach B smmu0/0x106 @3', 'attach B~2 smmu0/0x107 @3'],
    );
  });
});

describe('parseAssign', () => {
  it('defaults to all when only modifiers are given', () => {
    assert.deepEqual(parseAssign('first-run'), { mode: { kind: 'all' }, firstRun: true, devices: 1, seed: 1 });
    assert.deepEqual(parseAssign('devices=4,trace', 9), { mode: { kind: 'trace' }, firstRun: false, devices: 4, seed: 9 });
  });

  it('refuses what it cannot read, saying what it expected', () => {
    for (const [text, expected] of [
      ['everything', /all, ratio=R, vms=PTR,\.\.\., trace, first-run or devices=N \(got "everything"\)/],
      ['ratio=-0.1', /ratio= a fraction from 0 to 1/],
      ['ratio=abc', /ratio= a fraction from 0 to 1/],
      ['devices=65', /devices= a count from 1 to 64/],
      ['devices=1.5', /devices= a count from 1 to 64/],
      ['vms=', /vms= kernel pointers/],
      [`vms=${a},first-run`, /vms= kernel pointers/],
      ['ratio=0.5,all', /got a second/],
    ] as const) {
      assert.throws(() => parseAssign(text), (error: Error) => error instanceof RangeError && expected.test(error.message), text);
    }
  });
});

describe('no two devices live at once share an SMMU StreamID', () => {
  /** Plans `workload` and fails at the first attach to an (SMMU, SID) another live device holds. */
  function assertDistinctLiveSids(spec: string, scale: number, workload: Iterable<WorkloadOp>): number {
    const live = new Map<string, string>();
    let attaches = 0;
    const planner = new AssignmentPlanner(parseAssign(spec), scale, (op) => {
      if (op.op !== 'attach' && op.op !== 'detach') return;
      const key = `${op.device.smmu}/${op.device.sid}`;
      if (op.op === 'detach') {
        assert.equal(live.get(key), op.vm, `detach of ${key} from ${op.vm} at line ${op.at.span.line}`);
        live.delete(key);
        return;
      }
      const holder = live.get(key);
      assert.equal(holder, undefined, `line ${op.at.span.line}: ${op.vm} attached to ${key}, which ${holder ?? ''} holds`);
      live.set(key, op.vm);
      attaches += 1;
    });
    for (const op of workload) planner.push(op);
    return attaches;
  }

  it("--scale 2: a VM alive while 70000 others come and go keeps its copy's SID to itself", () => {
    // Had A's copy sat at a fixed distance above A's SID (0x100 + 0x10000), the 65281st VM
    // after it, given the next SID up each time, would have landed on it while A lives.
    function* workload(): Generator<WorkloadOp> {
      yield { op: 'create', vm: a, at: at(2) };
      for (let i = 0; i < 70_000; i++) {
        yield { op: 'create', vm: b, at: at(3 + 2 * i) };
        yield { op: 'destroy', vm: b, at: at(4 + 2 * i) };
      }
      yield { op: 'destroy', vm: a, at: at(200_000) };
    }
    assert.equal(assertDistinctLiveSids('all', 2, workload()), 2 * 70_001);
  });

  it('--assign trace,devices=2 --scale 17: extra devices, copies and traced SIDs never meet', () => {
    // SID 0x10007 is a traced device's: a copy of SID 7 must not land on it, nor the second
    // device of one copy on a later copy of the first.
    const recorded: WorkloadOp[] = [{ op: 'create', vm: a, at: at(2) }, { op: 'attach', vm: a, device: { smmu: 'smmu1', sid: 7 }, at: at(3) }, { op: 'attach', vm: a, device: { smmu: 'smmu1', sid: 0x10007 }, at: at(4) }];
    assert.equal(assertDistinctLiveSids('trace,devices=2', 17, recorded), 2 * 2 * 17);
  });
});
