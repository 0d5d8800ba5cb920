/**
 * The generated script as text: POSIX sh syntax (`sh -n`, dash), shellcheck clean as `sh`,
 * for every shape the generator emits; and the `capture-script` command around it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateCaptureScript, type CaptureScriptOptions } from '../../src/capture/captureScript.js';
import { kernel } from '../../src/capture/kernelVersion.js';
import { probeSets } from '../../src/capture/probeSets.js';
import { runCli } from '../helpers/cli.js';

const variants: readonly (CaptureScriptOptions & { readonly label: string })[] = [
  { label: 'every set, trace_pipe', durationSeconds: 60, traceCmd: false, generatedBy: 'test' },
  { label: 'every set, trace-cmd', durationSeconds: 0, traceCmd: true, generatedBy: 'test' },
  ...probeSets.map((set) => ({ label: `--kernel ${set.id}`, kernel: set.intervals[0]?.from ?? kernel(0, 0), durationSeconds: 5, traceCmd: false, generatedBy: 'test' })),
];

test('the script parses as POSIX sh (sh -n, and dash -n)', () => {
  assert.ok(variants.length >= 8);
  for (const variant of variants) {
    const script = generateCaptureScript(variant);
    for (const shell of ['sh', 'dash']) {
      const result = spawnSync(shell, ['-n'], { input: script, encoding: 'utf8' });
      assert.equal(result.status, 0, `${variant.label}, ${shell} -n: ${result.stderr}`);
    }
  }
});

test('the script passes shellcheck -s sh with no finding', () => {
  const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, 'shellcheck is not installed: apt-get install -y shellcheck (.ci/run installs it)');
  for (const variant of variants) {
    const result = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: generateCaptureScript(variant), encoding: 'utf8' });
    assert.equal(result.status, 0, `${variant.label}:\n${result.stdout}${result.stderr}`);
  }
});

test('shellcheck catches a bashism, so the check above can fail', () => {
  const script = `${generateCaptureScript(variants[0] ?? { durationSeconds: 0, traceCmd: false, generatedBy: 'test' })}\nif [[ -n "$OUT" ]]; then echo x; fi\n`;
  const result = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: script, encoding: 'utf8' });
  assert.notEqual(result.status, 0);
  assert.match(result.stdout, /SC3010/);
});

test('the script carries its settings: duration, recorder, and the command that made it', () => {
  const script = generateCaptureScript({ durationSeconds: 300, traceCmd: true, generatedBy: 'vmid-replay capture-script --duration 300 --trace-cmd' });
  assert.ok(script.startsWith('#!/bin/sh\n'));
  assert.match(script, /^DURATION=\$\{DURATION:-300\}$/m);
  assert.match(script, /^RECORDER=\$\{RECORDER:-trace-cmd\}$/m);
  assert.match(script, /^# {3}vmid-replay capture-script --duration 300 --trace-cmd$/m);
  assert.match(script, /^main "\$@"\n$/m);
  for (const set of probeSets) assert.ok(script.includes(`\nprobes_${set.id.replaceAll('.', '_')}() {\n`), set.id);
});

test('capture-script prints the script, or writes it with -o', async () => {
  const printed = await runCli(['capture-script']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.ok(printed.stdout.startsWith('#!/bin/sh\n'));
  assert.match(printed.stdout, /^DURATION=\$\{DURATION:-60\}$/m);
  assert.match(printed.stdout, /^# {3}vmid-replay capture-script --duration 60$/m);

  const written = await runCli(['capture-script', '--kernel', '6.12.18', '--duration', '0', '--trace-cmd', '-o', 'capture.sh']);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout, '');
  const script = written.files.get('capture.sh') ?? '';
  assert.match(script, /^# {3}vmid-replay capture-script --kernel 6\.12\.18 --duration 0 --trace-cmd$/m);
  assert.deepEqual(script.match(/^probes_\w+\(\)/gm), ['probes_6_12()']);
  assert.match(script, /^ {2}KCODE=6012018$/m);
  assert.match(script, /^RECORDER=\$\{RECORDER:-trace-cmd\}$/m);
});

test('capture-script refuses bad options with exit 64', async () => {
  for (const argv of [
    ['capture-script', '--kernel', '5.15'],
    ['capture-script', '--kernel', 'latest'],
    ['capture-script', '--duration', '-1'],
    ['capture-script', '--duration', 'ten'],
    ['capture-script', '--frobnicate'],
  ]) {
    const result = await runCli(argv);
    assert.equal(result.code, 64, argv.join(' '));
    assert.ok(result.stderr.length > 0, argv.join(' '));
  }
  const old = await runCli(['capture-script', '--kernel', '5.15']);
  assert.match(old.stderr, /older than 5\.18\.0, the first with arch\/arm64\/kvm\/vmid\.c/);
});

test('capture-script --help explains the script and gives an example', async () => {
  const result = await runCli(['capture-script', '--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /Usage: vmid-replay capture-script \[options\]/);
  assert.match(result.stdout, /--kernel <version>/);
  assert.match(result.stdout, /\$ vmid-replay capture-script -o vmid-capture\.sh/);
});
