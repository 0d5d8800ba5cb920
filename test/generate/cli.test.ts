/** `vmid-replay generate` on the command line: help, outputs, and the option checks (exit 64). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { faultCatalog, faultKinds } from '../../src/generate/faults.js';
import { parseInjectList, parseRange, parseSize, parseSmmuSpec } from '../../src/generate/options.js';
import { runCli } from '../helpers/cli.js';

test('--help shows examples and every fault kind with the checks it triggers', async () => {
  const result = await runCli(['generate', '--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /Examples:\n {2}\$ vmid-replay generate --seed 7 -o clean\.trace/);
  for (const kind of faultKinds) assert.match(result.stdout, new RegExp(`^ {2}${kind} +${faultCatalog[kind].checks('rfc-v2').join(' \\+ ')}`, 'm'));
});

test('-o FILE writes FILE.hazards.json next to it and a summary on stderr; --sidecar and --no-sidecar', async () => {
  const plain = await runCli(['generate', '--vms', '3', '-o', 'out.trace', '--inject', 'leak-pin']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual([...plain.files.keys()].sort(), ['out.trace', 'out.trace.hazards.json']);
  assert.match(plain.stderr, /^vmid-replay generate: out\.trace: \d+ lines, \d+ bytes, 1 injected hazard\(s\), 1 expected finding\(s\); hazards in out\.trace\.hazards\.json\n$/);
  const sidecar = JSON.parse(plain.files.get('out.trace.hazards.json') ?? '') as { trace: string; hazards: unknown[] };
  assert.equal(sidecar.trace, 'out.trace');
  assert.equal(sidecar.hazards.length, 1);
  const named = await runCli(['generate', '--vms', '3', '-o', 'out.trace', '--sidecar', 'elsewhere.json', '--quiet']);
  assert.deepEqual([...named.files.keys()].sort(), ['elsewhere.json', 'out.trace']);
  assert.equal(named.stderr, '');
  const none = await runCli(['generate', '--vms', '3', '-o', 'out.trace', '--no-sidecar', '--quiet']);
  assert.deepEqual([...none.files.keys()], ['out.trace']);
  const stdout = await runCli(['generate', '--vms', '3']);
  assert.equal(stdout.files.size, 0, 'no sidecar for stdout unless asked');
  assert.match(stdout.stdout, /^# tracer: nop\n/);
});

const usageErrors: readonly (readonly [readonly string[], RegExp])[] = [
  [['--size', '12Q'], /expected a size such as 1G/],
  [['--vcpus', '3-1'], /expected N or MIN-MAX/],
  [['--smmu', 'smmu0:99'], /--smmu: expected an SMMU VMID width from 2 to 16/],
  [['--inject', 'nope'], /expected a fault kind/],
  [['--variant', 'mainline', '--inject', 'leak-pin'], /leak-pin needs the RFC pinning calls/],
  [['--inject', 'width-mismatch=3'], /width-mismatch can be reported at most 1 time\(s\)/],
  [['--vmid-bits', '16', '--inject', 'unpinned-share'], /unpinned-share forces a KVM rollover/],
  [['--vmid-bits', '16', '--inject', 'pin-exhausted'], /pin-exhausted fills all 65530 pinnable VMIDs/],
  [['--vmid-bits', '8', '--smmu', 'smmu0:16:on:kvm'], /SMMU smmu0 shares KVM VMIDs with 16-bit VMIDs but KVM has 8/],
  [['--variant', 'mainline', '--smmu', 'smmu0:8:on:kvm'], /SMMU smmu0 shares KVM VMIDs, which needs pinning/],
  [['--inject-rate', '0.1'], /--inject-rate needs --inject/],
  [['--vmid-bits', '3', '--cpus', '8'], /3-bit VMIDs leave 7 indexes/],
  [['--cpus', '1', '--inject', 'stale-unpin-two-vmids'], /use --cpus 2 or more/],
];

for (const [args, message] of usageErrors) {
  test(`usage error (exit 64): generate ${args.join(' ')}`, async () => {
    const result = await runCli(['generate', ...args]);
    assert.equal(result.code, 64);
    assert.match(result.stderr, message);
    assert.equal(result.stdout, '', 'nothing generated');
  });
}

test('an output that cannot be written is an error naming the path and the cause, not a crash', async () => {
  const result = await runCli(['generate', '-o', '/nonexistent-dir/x.trace'], '', { disk: true });
  assert.equal(result.code, 73);
  assert.equal(result.stderr, 'vmid-replay: /nonexistent-dir/x.trace: cannot write the output (ENOENT) [OUTPUT_UNWRITABLE]\n');
});

test('option parsers: sizes in binary units, ranges, SMMU specs, fault lists', () => {
  assert.equal(parseSize('1G'), 2 ** 30);
  assert.equal(parseSize('256M'), 256 * 2 ** 20);
  assert.equal(parseSize('1.5KiB'), 1536);
  assert.equal(parseSize('4096'), 4096);
  assert.throws(() => parseSize('0'), RangeError);
  assert.deepEqual(parseRange('2-5', 1, 15), { min: 2, max: 5 });
  assert.deepEqual(parseRange('3', 1, 15), { min: 3, max: 3 });
  assert.throws(() => parseRange('0-2', 1, 15), RangeError);
  assert.deepEqual(parseSmmuSpec('smmu0', 8), { name: 'smmu0', vmidBits: 8, btm: false, role: 'own' });
  assert.deepEqual(parseSmmuSpec('s1:16:on:kvm', 8), { name: 's1', vmidBits: 16, btm: true, role: 'kvm' });
  assert.throws(() => parseSmmuSpec('s1:16:maybe', 8), RangeError);
  assert.deepEqual(parseInjectList('leak-pin=3, ste-vmid-zero'), [
    { kind: 'leak-pin', count: 3 },
    { kind: 'ste-vmid-zero', count: 1 },
  ]);
  assert.equal(parseInjectList('all=2').length, faultKinds.length);
  assert.throws(() => parseInjectList('leak-pin=0'), RangeError);
});
