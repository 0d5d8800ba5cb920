/**
 * The capture script refuses when nothing useful can be captured, and undoes its changes
 * after a failure midway, on SIGINT and on SIGTERM, in the recording and before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allFunctions, makeFakeHost, runScript, runScriptWithSignal } from './fakeHost.js';
import { assertRestored, assertUntouched, probeLog, stableHeader } from './assertions.js';

const kvmFunctions = allFunctions.filter((name) => !name.startsWith('arm_smmu_'));

test('refuses, exit 2, changing nothing, when kvm_arm_vmid_update cannot be probed', () => {
  const host = makeFakeHost({ release: '6.12.18', functions: kvmFunctions.filter((name) => name !== 'kvm_arm_vmid_update'), kvmMode: 'vhe', recordedVmidBits: 8 });
  const run = runScript(host);
  assert.equal(run.status, 2);
  assert.match(
    run.stderr,
    new RegExp(`refusing to run: nothing useful can be captured: kvm_arm_vmid_update is not in ${host.root}/proc/kallsyms \\(KVM is not built in, or the kernel predates 5\\.18`),
  );
  assertUntouched(host, run.writes);
  assert.ok(!host.exists('out/capture.txt'));
});

test('a kernel before 5.18 without the allocator is refused; only a compiler clone of it is refused too', () => {
  const old = makeFakeHost({ release: '5.15.0-91-generic', functions: ['kvm_init_stage2_mmu', 'kvm_free_stage2_pgd'], kvmMode: 'vhe' });
  const run = runScript(old);
  assert.equal(run.status, 2);
  assert.match(run.stderr, /refusing to run: nothing useful can be captured/);
  assertUntouched(old, run.writes);

  const clone = makeFakeHost({ release: '6.6.0', functions: ['kvm_arm_vmid_clear_active'], clones: ['kvm_arm_vmid_update'], kvmMode: 'vhe' });
  const cloneRun = runScript(clone);
  assert.equal(cloneRun.status, 2);
  assert.match(cloneRun.stderr, /only a compiler clone of kvm_arm_vmid_update \(kvm_arm_vmid_update\.isra\.0\)/);
  assertUntouched(clone, cloneRun.writes);
});

test('refuses when probes of group vmid already exist, when OUT exists, and on a bad setting', () => {
  const stale = 'p:vmid/vmid_update kvm_arm_vmid_update kvm_vmid=%x0\n';
  const leftover = makeFakeHost({ release: '6.1.0', functions: kvmFunctions, kprobeEvents: stale });
  const run = runScript(leftover);
  assert.equal(run.status, 2);
  assert.match(run.stderr, /events of group vmid already exist in .*kprobe_events \(an earlier run killed with SIGKILL\?\)/);
  assertUntouched(leftover, run.writes, stale);

  const existing = makeFakeHost({ release: '6.1.0', functions: kvmFunctions });
  writeFileSync(existing.out, 'an earlier capture\n');
  const clobber = runScript(existing);
  assert.equal(clobber.status, 2);
  assert.match(clobber.stderr, /already exists/);
  assert.equal(existing.read('out/capture.txt'), 'an earlier capture\n');
  assertUntouched(existing, clobber.writes);

  for (const [name, value] of [
    ['DURATION', 'soon'],
    ['VARIANT', 'rfc-v9'],
    ['KVM_MODE', 'hvhe'],
    ['BUFFER_KB', '1G'],
    ['EXTRA_EVENTS', 'kvm_entry'],
  ] as const) {
    const host = makeFakeHost({ release: '6.1.0', functions: kvmFunctions });
    const bad = runScript(host, {}, { [name]: value });
    assert.equal(bad.status, 2, `${name}=${value}`);
    assert.match(bad.stderr, new RegExp(`refusing to run: ${name} `));
    assertUntouched(host, bad.writes);
  }
});

test('DRY_RUN=1 prints the plan and changes nothing', () => {
  const host = makeFakeHost({ release: '6.9.0', functions: allFunctions, btf: 'fields', kvmMode: 'vhe' });
  const run = runScript(host, {}, { DRY_RUN: '1' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^# dry run: the definitions this host can take, in order of preference\n/);
  assert.ok(run.stdout.includes('vmid_update_ret\tf:vmid/vmid_update_ret kvm_arm_vmid_update%return kvm_vmid=kvm_vmid id=kvm_vmid->id.counter:u64\n'));
  assert.ok(run.stdout.includes('vmid_update_ret\tr:vmid/vmid_update_ret kvm_arm_vmid_update kvm_vmid=$arg1 id=+0($arg1):u64\n'));
  assertUntouched(host, run.writes);
  assert.ok(!host.exists('out/capture.txt'));
});

test('a failure midway (the kernel makes no events/vmid/smmu_cmd) undoes every change, exit 1', () => {
  const host = makeFakeHost({ release: '6.12.18', functions: allFunctions, kvmMode: 'vhe', recordedVmidBits: 8, missingEventDirs: ['smmu_cmd'] });
  const run = runScript(host);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /error: the kernel took vmid\/smmu_cmd but made no .*events\/vmid\/smmu_cmd\/enable/);
  const { created, removed } = probeLog(host, 'kprobe_events');
  assert.deepEqual(created, ['vmid_config', 'vm_create', 'vm_destroy', 'vmid_update', 'vmid_update_ret', 'vmid_clear_active', 'smmu_cmd']);
  assert.deepEqual(removed, ['vmid_config', 'smmu_cmd', 'vmid_clear_active', 'vmid_update_ret', 'vmid_update', 'vm_destroy', 'vm_create']);
  // The enables made before the failure are undone before the removal.
  const disable = run.writes.indexOf("echo '0' > events/vmid/vm_create/enable");
  assert.ok(disable !== -1 && disable < run.writes.indexOf("echo '-:vmid/vm_create' >> kprobe_events"));
  assertRestored(host);
  assert.match(run.stderr, /cleaned up: removed 6 probes/);
});

test('SIGINT while recording ends the recording normally: exit 0, the capture complete, everything undone', async () => {
  const host = makeFakeHost({ release: '6.1.0', functions: kvmFunctions, kvmMode: 'nvhe', recordedVmidBits: 8, tracePipe: 'fifo' });
  const run = await runScriptWithSignal(host, 'recording into', 'SIGINT', { DRAIN_SECONDS: '1' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /SIGINT: stopping the recording/);
  const capture = host.read('out/capture.txt');
  assert.equal(stableHeader(capture)[0], '# vmid-replay: vmid_bits=8 cpus=4 variant=mainline trace_clock=global');
  assert.match(capture, /# capture end: 0 events lost/);
  assertRestored(host);
});

test('SIGTERM while recording also keeps the capture, undoes everything, and exits 143', async () => {
  const host = makeFakeHost({ release: '6.1.0', functions: kvmFunctions, kvmMode: 'nvhe', recordedVmidBits: 8, tracePipe: 'fifo' });
  const run = await runScriptWithSignal(host, 'recording for 30 s', 'SIGTERM', { DURATION: '30', DRAIN_SECONDS: '1' });
  assert.equal(run.status, 143, run.stderr);
  assert.match(host.read('out/capture.txt'), /# capture end: /);
  assertRestored(host);
});

test('SIGINT during setup aborts: exit 130, the one-shot probe removed, settings restored', async () => {
  const host = makeFakeHost({ release: '6.1.0', functions: kvmFunctions, kvmMode: 'nvhe', traceFifo: true });
  // The one-shot probe is live once tracing is turned on for it; its read of the trace then
  // blocks on the FIFO until a writer comes and goes, and the signal is handled after it.
  const fifo = join(host.tracefs, 'trace');
  let poll: NodeJS.Timeout | undefined;
  const unblock = () => {
    poll = setInterval(() => {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        clearInterval(poll);
      } catch {
        // ENXIO: no reader yet (or the script handled the signal before reading).
      }
    }, 50);
  };
  const run = await runScriptWithSignal(host, "+ echo '1' > tracing_on", 'SIGINT', {}, unblock);
  clearInterval(poll);
  assert.equal(run.status, 130, run.stderr);
  assert.match(run.stderr, /SIGINT: stopping; undoing what was changed so far/);
  assert.equal(host.read('tracefs/kprobe_events'), 'p:vmid/vmid_config __arm64_sys_newuname vmid_bits=@kvm_arm_vmid_bits:u32\n-:vmid/vmid_config\n');
  assert.equal(host.read('tracefs/events/vmid/vmid_config/enable'), '0\n');
  assert.equal(host.read('tracefs/tracing_on'), '1\n');
  assert.equal(host.read('tracefs/buffer_size_kb'), '1408\n');
  assert.equal(host.read('tracefs/trace_clock'), 'local\n');
  assert.ok(!host.exists('out/capture.txt'));
  assert.deepEqual(host.workDirs(), []);
});
