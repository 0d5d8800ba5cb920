import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeTargets, verdictTable, type MeasuredRow } from '../../bench/targets.js';

const row = (density: MeasuredRow['density'], size: string, format: string, mibPerSecond: number, eventLinesPerSecond: number, maxRssMiB: number): MeasuredRow => ({
  density,
  size,
  format,
  mibPerSecond,
  eventLinesPerSecond,
  maxRssMiB,
  timesWcL: 10,
});

test('each target judges only its own rows, at its own threshold', () => {
  const rows = [
    row('dense', '256M', 'text', 249.9, 2e6, 120),
    row('dense', '1G', 'text', 250, 2e6, 125),
    row('sparse', '256M', 'text', 599, 6e6, 101),
    row('sparse', '1G', 'text', 821, 8e6, 102),
    row('sparse', '1G', 'gzip', 367, 3e6, 163),
    row('dense', '1G', 'msgpack', 155, 1.29e6, 171),
    row('sparse', '1G', 'msgpack', 767, 10e6, 300),
  ];
  const verdicts = judgeTargets(rows);
  const byTarget = (name: string) => verdicts.filter((verdict) => verdict.target.startsWith(name)).map((verdict) => `${verdict.trace} ${verdict.format} ${verdict.met}`);
  assert.deepEqual(byTarget('dense text'), ['dense 256M text false', 'dense 1G text true']);
  assert.deepEqual(byTarget('sparse text'), ['sparse 256M text false', 'sparse 1G text true']);
  assert.deepEqual(byTarget('MessagePack'), ['dense 1G msgpack false', 'sparse 1G msgpack true']);
  // Memory is judged on every row, gzip included.
  assert.equal(byTarget('peak RSS').length, rows.length);
  assert.deepEqual(
    verdicts.filter((verdict) => verdict.target.startsWith('peak RSS') && !verdict.met).map((verdict) => `${verdict.trace} ${verdict.format}`),
    ['sparse 1G msgpack'],
  );
});

test('an unmeasured peak RSS is not a met target', () => {
  const [verdict] = judgeTargets([row('dense', '256M', 'gzip', 100, 1e6, Number.NaN)]);
  assert.equal(verdict?.target, 'peak RSS ≤ 256 MiB');
  assert.equal(verdict?.met, false);
});

test('the table shows what was measured, the ratio to wc -l and how many targets were met', () => {
  const lines = verdictTable(judgeTargets([row('dense', '256M', 'msgpack', 139.7, 1.17e6, 133)]));
  assert.deepEqual(lines.slice(2, 4), [
    '| MessagePack ≥ 10 M events/s | dense 256M | msgpack | 1.17 M event lines/s | **no** | 10.0 |',
    '| peak RSS ≤ 256 MiB | dense 256M | msgpack | 133 MiB | yes | 10.0 |',
  ]);
  assert.equal(lines.at(-1), '1 of 2 met.');
});
