/**
 * A seed names one trace: same seed and options, same bytes (trace and sidecar); another seed,
 * another trace; and the command the sidecar records makes the same trace again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/generate/prng.js';
import { runCli } from '../helpers/cli.js';
import { generate } from './helpers.js';

const mix = ['--vmid-bits', '5', '--inject', 'all', '--lost-bursts', '1', '--tgid'];

test('xoshiro128** matches the reference output for state {1, 2, 3, 4}', () => {
  const prng = new Prng(0, [1, 2, 3, 4]);
  const outputs = Array.from({ length: 10 }, () => prng.nextU32());
  assert.deepEqual(outputs, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804]);
});

test('the PRNG stays in range and covers it', () => {
  const prng = new Prng(42);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const value = prng.int(3, 9);
    assert.ok(value >= 3 && value <= 9);
    seen.add(value);
    const float = prng.float();
    assert.ok(float >= 0 && float < 1);
  }
  assert.equal(seen.size, 7);
  assert.notDeepEqual(new Prng(1).nextU32(), new Prng(2).nextU32());
});

test('same seed and options: identical bytes, trace and sidecar', async () => {
  const first = await runCli(['generate', '--seed', '77', ...mix, '-o', '-', '--sidecar', 's.json']);
  const second = await runCli(['generate', '--seed', '77', ...mix, '-o', '-', '--sidecar', 's.json']);
  assert.equal(first.code, 0, first.stderr);
  assert.ok(first.stdout.length > 100_000);
  assert.equal(second.stdout, first.stdout);
  assert.equal(second.files.get('s.json'), first.files.get('s.json'));
});

test('the order options are given in does not matter', async () => {
  const first = await runCli(['generate', '--seed', '5', '--cpus', '3', '--vmid-bits', '6', '-o', '-', '--no-sidecar']);
  const second = await runCli(['generate', '--vmid-bits', '6', '-o', '-', '--no-sidecar', '--cpus', '3', '--seed', '5']);
  assert.equal(first.stdout, second.stdout);
});

test('another seed: another trace', async () => {
  const seven = await generate(['--seed', '7', ...mix]);
  const eight = await generate(['--seed', '8', ...mix]);
  assert.notEqual(seven.trace, eight.trace);
  // Not only the header differs: the workloads do.
  const body = (trace: string) => trace.split('\n').filter((line) => !line.startsWith('#')).join('\n');
  assert.notEqual(body(seven.trace), body(eight.trace));
});

test("the sidecar's command makes the same trace again", async () => {
  const original = await generate(['--seed', '123', '--variant', 'rfc-v3', '--vmid-bits', '6', '--cpus', '3', '--vcpus', '2', '--inject', 'leak-pin=2,missing-s12-vmall', '--flags', '4']);
  const args = original.sidecar.command.split(' ').slice(2);
  assert.equal(original.sidecar.command.split(' ').slice(0, 2).join(' '), 'vmid-replay generate');
  const again = await generate(args);
  assert.equal(again.trace, original.trace);
  assert.deepEqual(again.sidecar.hazards, original.sidecar.hazards);
});
