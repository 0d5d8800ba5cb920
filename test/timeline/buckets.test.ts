/**
 * The bucket grid covers any length in a fixed number of buckets: when a time falls past the
 * last bucket, the width doubles and neighbours merge, keeping every sum (time, counts) and
 * each counter's least, most and last value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketGrid, CountSeries, CounterSeries, OccupancySeries } from '../../src/timeline/buckets.js';

test('a grid of 4 buckets starts 1 µs wide at the first time and doubles until a time fits', () => {
  const grid = new BucketGrid(4);
  grid.cover(100);
  assert.equal(grid.startUs, 100);
  assert.equal(grid.bucketUs, 1);
  // 100..103 fit in 4 buckets of 1 µs; 104 needs 2 µs buckets (100..107); 120 needs 8 µs (100..131).
  grid.cover(103);
  assert.equal(grid.bucketUs, 1);
  grid.cover(104);
  assert.equal(grid.bucketUs, 2);
  grid.cover(120);
  assert.equal(grid.bucketUs, 8);
  assert.equal(grid.indexOf(99), 0, 'a time before the start is clamped to the first bucket');
  assert.equal(grid.indexOf(131), 3);
  assert.throws(() => new BucketGrid(6), /power of two/);
});

test('merging keeps the occupied time per owner, the changes, the counts and the counter extremes', () => {
  const grid = new BucketGrid(4);
  const lane = new OccupancySeries(grid, 2);
  const rollovers = new CountSeries(grid);
  const pinned = new CounterSeries(grid);
  grid.cover(0);
  grid.cover(3);
  // A holds 0..2, B holds 2..4: each bucket of 1 µs has one owner.
  lane.occupy('A', 0, 2);
  lane.change(0);
  lane.occupy('B', 2, 4);
  lane.change(2);
  rollovers.add(1, 1);
  rollovers.add(3, 2);
  pinned.sample(0, 5);
  pinned.sample(1, 2);
  pinned.sample(2, 7);
  pinned.sample(3, 4);
  grid.cover(7);
  // Now 2 µs buckets: bucket 0 = 0..1 (A 2 µs), bucket 1 = 2..3 (B 2 µs).
  assert.deepEqual(
    [...lane.entries()].map((cell) => [cell.bucket, cell.busyUs, cell.changes, cell.owners]),
    [
      [0, 2, 1, [['A', 2]]],
      [1, 2, 1, [['B', 2]]],
    ],
  );
  assert.deepEqual(rollovers.entries(), [
    { bucket: 0, count: 1 },
    { bucket: 1, count: 2 },
  ]);
  assert.deepEqual(pinned.entries(), [
    { bucket: 0, min: 2, max: 5, last: 2 },
    { bucket: 1, min: 4, max: 7, last: 4 },
  ]);
  grid.cover(15);
  // 4 µs buckets: everything in bucket 0; A and B 2 µs each, changes 2, rollovers 3.
  const [only] = [...lane.entries()];
  assert.deepEqual(only, { bucket: 0, busyUs: 4, changes: 2, owners: [['A', 2], ['B', 2]], otherUs: 0 });
  assert.deepEqual(rollovers.entries(), [{ bucket: 0, count: 3 }]);
  assert.deepEqual(pinned.entries(), [{ bucket: 0, min: 2, max: 7, last: 4 }]);
});

test('a slice across buckets is split at their edges, and a bucket keeps its main owners, the rest as other time', () => {
  const grid = new BucketGrid(4);
  const lane = new OccupancySeries(grid, 2);
  grid.cover(0);
  grid.cover(39);
  assert.equal(grid.bucketUs, 16);
  // 10..40 spans bucket 0 (10..16: 6), 1 (16..32: 16) and 2 (32..40: 8).
  lane.occupy('A', 10, 40);
  // Bucket 3 (48..64): C 5, B 3, D 1: with room for two owners, D's microsecond is other time.
  lane.occupy('C', 48, 53);
  lane.occupy('B', 53, 56);
  lane.occupy('D', 56, 57);
  assert.deepEqual(
    [...lane.entries()].map((cell) => [cell.bucket, cell.busyUs, cell.owners, cell.otherUs]),
    [
      [0, 6, [['A', 6]], 0],
      [1, 16, [['A', 16]], 0],
      [2, 8, [['A', 8]], 0],
      [3, 9, [['C', 5], ['B', 3]], 1],
    ],
  );
});
