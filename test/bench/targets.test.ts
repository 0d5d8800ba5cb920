import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeTargets, median, verdictTable, type MeasuredRow } from '../../bench/targets.js';

const row = (kind: MeasuredRow['kind'], size: string, format: string, figures: Partial<MeasuredRow> = {}): MeasuredRow => ({
  kind,
  trace: `${kind} ${size}`,
  format,
  inputMiB: size === '4G' ? 4096 : size === '1G' ? 1024 : size === '128M' ? 128 : 256,
  rounds: 5,
  mibPerSecond: 100,
  eventLinesPerSecond: 1e6,
  maxRssMiB: 120,
  timesWcL: 10,
  timesGrepC: 20,
  ...figures,
});

test('each target judges only its own rows, at its own threshold (issue 18)', () => {
  const rows = [
    row('dense', '256M', 'text', { mibPerSecond: 249.9 }),
    row('dense', '1G', 'text', { mibPerSecond: 250 }),
    row('sparse', '256M', 'text', { mibPerSecond: 599 }),
    row('sparse', '1G', 'text', { mibPerSecond: 821 }),
    row('sparse', '4G', 'gzip', { maxRssMiB: 163, timesGrepC: Number.NaN }),
    row('dense', '1G', 'msgpack', { eventLinesPerSecond: 4.99e6 }),
    row('dense', '4G', 'msgpack', { eventLinesPerSecond: 5e6, maxRssMiB: 300 }),
    // MessagePack's target is the dense trace's: a sparse one is not judged on it.
    row('sparse', '1G', 'msgpack', { eventLinesPerSecond: 10e6 }),
    row('capture-shaped', '128M', 'text', { timesGrepC: 15 }),
    row('real capture', '25M', 'text', { timesGrepC: 9.9, inputMiB: 25 }),
  ];
  const verdicts = judgeTargets(rows);
  const byTarget = (name: string) => verdicts.filter((verdict) => verdict.target.startsWith(name)).map((verdict) => `${verdict.trace} ${verdict.format} ${verdict.met}`);
  assert.deepEqual(byTarget('dense text'), ['dense 256M text false', 'dense 1G text true']);
  assert.deepEqual(byTarget('sparse text'), ['sparse 256M text false', 'sparse 1G text true']);
  assert.deepEqual(byTarget('MessagePack'), ['dense 1G msgpack false', 'dense 4G msgpack true']);
  // The capture rows: at most 15× grep -c, stretch 10×.
  assert.deepEqual(byTarget("a real capture's shape: "), ['capture-shaped 128M text true', 'real capture 25M text true']);
  assert.deepEqual(byTarget("a real capture's shape, stretch"), ['capture-shaped 128M text false', 'real capture 25M text true']);
  // Memory is judged on the 1 GiB and 4 GiB inputs, every format; not on smaller ones.
  assert.deepEqual(byTarget('peak RSS'), ['dense 1G text true', 'sparse 1G text true', 'sparse 4G gzip true', 'dense 1G msgpack true', 'dense 4G msgpack false', 'sparse 1G msgpack true']);
});

test('an unmeasured figure meets nothing', () => {
  const verdicts = judgeTargets([row('dense', '1G', 'gzip', { maxRssMiB: Number.NaN }), row('capture-shaped', '128M', 'text', { timesGrepC: Number.NaN })]);
  assert.deepEqual(
    verdicts.map((verdict) => `${verdict.target}: ${verdict.met}`),
    ["a real capture's shape: analyze ≤ 15× grep -c: false", "a real capture's shape, stretch: ≤ 10× grep -c: false", 'peak RSS ≤ 256 MiB (1 GiB and 4 GiB inputs): false'],
  );
});

test('fewer rounds than the rule asks meet no target, however good the figure', () => {
  const [verdict] = judgeTargets([row('real capture', '25M', 'text', { timesGrepC: 2, rounds: 4, inputMiB: 25 })]);
  assert.equal(verdict?.met, false);
  assert.equal(verdict?.rounds, 4);
});

test('the table shows what was measured, the rounds, both ratios and how many targets were met', () => {
  const lines = verdictTable(judgeTargets([row('dense', '1G', 'msgpack', { eventLinesPerSecond: 1.17e6, maxRssMiB: 133, timesGrepC: 14.04 })]));
  assert.deepEqual(lines.slice(2, 4), [
    '| MessagePack ≥ 5 M events/s (dense) | dense 1G | msgpack | 1.17 M event lines/s | **no** | 5 | 14.0 | 10.0 |',
    '| peak RSS ≤ 256 MiB (1 GiB and 4 GiB inputs) | dense 1G | msgpack | 133 MiB | yes | 5 | 14.0 | 10.0 |',
  ]);
  assert.equal(lines.at(-1), '1 of 2 met.');
  assert.equal(verdictTable(judgeTargets([row('sparse', '1G', 'gzip', { timesGrepC: Number.NaN })]))[2], '| peak RSS ≤ 256 MiB (1 GiB and 4 GiB inputs) | sparse 1G | gzip | 120 MiB | yes | 5 | - | 10.0 |');
});

test('the median is the middle of the rounds, the mean of the middle two for an even count, and NaN with an unmeasured one', () => {
  assert.equal(median([3, 1, 2, 10, 0.5]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.ok(Number.isNaN(median([1, Number.NaN, 2])));
});
