/**
 * `--assign ratio=R` picks each VM independently with probability R, by a hash of its pointer
 * and lifetime with the seed. Real pointers differ in a few middle hex digits (slab objects
 * 0x1000 apart); the pick must still be a fair sample, or `ratio=0.05` silently means 0.4 %.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventBase } from '../../src/events/common.js';
import { AssignmentPlanner, parseAssign } from '../../src/whatif/assign.js';

const at = { span: { file: 't', line: 1, offset: 0 }, source: { text: '' }, cpu: 0, tsUs: 0, tsNs: 0 } as unknown as EventBase;

/**
 * How many of `count` VM lifetimes the planner gives a device, on the churn capture's shape:
 * 20 pointers 0x1000 apart (`0xffff000002d039c8`), each reused lifetime after lifetime.
 */
function picked(ratio: number, seed: number, count: number): number {
  let attaches = 0;
  const planner = new AssignmentPlanner(parseAssign(`ratio=${ratio}`, seed), 1, (op) => {
    if (op.op === 'attach') attaches += 1;
  });
  for (let n = 0; n < count; n++) planner.push({ op: 'create', vm: `0xffff0000${(0x2d030 + (n % 20)).toString(16).padStart(5, '0')}9c8`, at });
  return attaches;
}

test('ratio=R picks about R of the VMs, whatever the seed (within 4 standard deviations of a fair sample)', () => {
  const count = 2000;
  for (const ratio of [0.05, 0.25, 0.5, 0.9]) {
    const sd = Math.sqrt(count * ratio * (1 - ratio));
    for (const seed of [1, 7, 12345]) {
      const got = picked(ratio, seed, count);
      assert.ok(Math.abs(got - count * ratio) <= 4 * sd, `ratio ${ratio} seed ${seed}: ${got} of ${count}`);
    }
  }
});

test('ratio=R is reproducible, and another seed picks other VMs', () => {
  assert.equal(picked(0.3, 5, 500), picked(0.3, 5, 500));
  const vms = (seed: number) => {
    const chosen: string[] = [];
    const planner = new AssignmentPlanner(parseAssign('ratio=0.3', seed), 1, (op) => {
      if (op.op === 'attach') chosen.push(op.vm);
    });
    for (let n = 0; n < 200; n++) planner.push({ op: 'create', vm: `0xffff00000${(0x1000 * (n + 1)).toString(16).padStart(7, '0')}`, at });
    return chosen;
  };
  assert.notDeepEqual(vms(1), vms(2));
  assert.deepEqual(vms(1), vms(1));
});
