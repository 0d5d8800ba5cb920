import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CpuSlots } from '../../src/replay/sequence/cpuSlots.js';

test('CpuSlots keeps insertion order across array slots and out-of-range CPU numbers, as a Map does', () => {
  const slots = new CpuSlots<{ name: string }>();
  slots.set(3, { name: 'a' });
  slots.set(-1, { name: 'b' });
  slots.set(1, { name: 'c' });
  slots.set(1.5, { name: 'd' });
  slots.set(3, { name: 'e' }); // replaced, keeps its place
  assert.deepEqual(
    slots.values().map((entry) => entry.name),
    ['e', 'b', 'c', 'd'],
  );
  assert.equal(slots.size, 4);
  assert.equal(slots.delete(3), true);
  assert.equal(slots.delete(3), false);
  assert.equal(slots.get(-1)?.name, 'b');
  assert.equal(slots.get(2), undefined);
  slots.clear();
  assert.equal(slots.size, 0);
  assert.deepEqual(slots.values(), []);
});

test('property: CpuSlots answers every get, size and values() as a Map with the same operations', () => {
  const cpu = fc.oneof(fc.integer({ min: 0, max: 7 }), fc.constantFrom(-1, 4095, 4096, 1e9, 0.5));
  const op = fc.oneof(
    fc.record({ type: fc.constant('set' as const), cpu, value: fc.nat() }),
    fc.record({ type: fc.constant('delete' as const), cpu }),
    fc.record({ type: fc.constant('clear' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const slots = new CpuSlots<{ value: number }>();
      const map = new Map<number, { value: number }>();
      for (const step of ops) {
        if (step.type === 'set') {
          const entry = { value: step.value };
          slots.set(step.cpu, entry);
          map.set(step.cpu, entry);
        } else if (step.type === 'delete') {
          assert.equal(slots.delete(step.cpu), map.delete(step.cpu));
        } else {
          slots.clear();
          map.clear();
        }
        assert.equal(slots.size, map.size);
        assert.deepEqual(slots.values(), [...map.values()]);
        assert.deepEqual(slots.cpus(), new Set(map.keys()));
      }
      for (const key of [0, 1, 7, -1, 4095, 4096, 1e9, 0.5]) assert.equal(slots.get(key), map.get(key));
    }),
    { numRuns: 2000 },
  );
});
