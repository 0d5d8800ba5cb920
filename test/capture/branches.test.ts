/**
 * The capture script on fake hosts, one per kernel-version branch: the exact definitions
 * written to kprobe_events and dynamic_events, the header, the markers, and the cleanup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allFunctions, defaultTracePipe, fakeTraceCmd, makeFakeHost, pinFunctions, runScript } from './fakeHost.js';
import { assertRestored, probeLog, stableHeader } from './assertions.js';

const kvmFunctions = allFunctions.filter((name) => !name.startsWith('arm_smmu_'));
const smmuSysfs = 'smmu3.0x0000000009050000';

/** The one-shot probe that reads kvm_arm_vmid_bits, and its removal. */
const oneShot = ['p:vmid/vmid_config __arm64_sys_newuname vmid_bits=@kvm_arm_vmid_bits:u32', '-:vmid/vmid_config'];

function lines(...list: string[]): string {
  return list.map((line) => `${line}\n`).join('');
}

/** Creation lines, then their removal, newest first. */
function createdThenRemoved(definitions: readonly string[]): string[] {
  const names = definitions.map((definition) => /^\w:vmid\/(\w+)/.exec(definition)?.[1] ?? '?');
  return [...definitions, ...names.reverse().map((name) => `-:vmid/${name}`)];
}

const kprobe = {
  vmCreate: 'p:vmid/vm_create kvm_init_stage2_mmu kvm=%x0 mmu=%x1',
  vmDestroy: 'p:vmid/vm_destroy kvm_free_stage2_pgd mmu=%x0 id=+0(%x0):u64',
  update: 'p:vmid/vmid_update kvm_arm_vmid_update kvm_vmid=%x0 id=+0(%x0):u64',
  updateRetPmu: 'p:vmid/vmid_update_ret kvm_pmu_flush_hwstate vcpu=%x0 mmu=+2104(%x0):x64 id=+0(+2104(%x0)):u64',
  updateRet: 'r:vmid/vmid_update_ret kvm_arm_vmid_update kvm_vmid=$arg1 id=+0($arg1):u64',
  clearActive: 'p:vmid/vmid_clear_active kvm_arm_vmid_clear_active',
  pin: 'p:vmid/vmid_pin kvm_arm_pinned_vmid_get kvm_vmid=%x0 id=+0(%x0):u64',
  pinRet: 'r:vmid/vmid_pin_ret kvm_arm_pinned_vmid_get kvm_vmid=$arg1 ret=$retval:s64',
  pinRetNoVm: 'r:vmid/vmid_pin_ret kvm_arm_pinned_vmid_get ret=$retval:s64',
  unpin: 'p:vmid/vmid_unpin kvm_arm_pinned_vmid_put kvm_vmid=%x0',
  smmuCmdBefore612: 'p:vmid/smmu_cmd arm_smmu_cmdq_issue_cmdlist smmu=%x0 cmds=+0(%x1):x64[16] n=%x2:s32 sync=%x3:u8',
  smmuCmdSince612: 'p:vmid/smmu_cmd arm_smmu_cmdq_issue_cmdlist smmu=%x0 cmds=+0(%x2):x64[16] n=%x3:s32 sync=%x4:u8',
  smmuSte: 'p:vmid/smmu_ste arm_smmu_write_ste smmu=+0(%x0):x64 sid=%x1:u32 ste0=+0(%x3):x64 ste2=+16(%x3):x64',
  tlbi: [
    'p:vmid/cpu_tlbi_vmid __kvm_tlb_flush_vmid mmu=%x0 id=+0(%x0):u64',
    'p:vmid/cpu_tlbi_ipa __kvm_tlb_flush_vmid_ipa mmu=%x0 id=+0(%x0):u64 ipa=%x1 level=%x2:s32',
    'p:vmid/cpu_tlbi_all __kvm_flush_vm_context',
  ],
};

const fprobe = {
  vmCreate: 'f:vmid/vm_create kvm_init_stage2_mmu mmu=mmu',
  vmDestroy: 'f:vmid/vm_destroy kvm_free_stage2_pgd mmu=mmu id=mmu->vmid.id.counter:u64',
  update: 'f:vmid/vmid_update kvm_arm_vmid_update kvm_vmid=kvm_vmid id=kvm_vmid->id.counter:u64',
  updateRetPmu: 'f:vmid/vmid_update_ret kvm_pmu_flush_hwstate mmu=vcpu->arch.hw_mmu id=vcpu->arch.hw_mmu->vmid.id.counter:u64',
  updateRet: 'f:vmid/vmid_update_ret kvm_arm_vmid_update%return kvm_vmid=kvm_vmid id=kvm_vmid->id.counter:u64',
};

const unavailable = {
  returnPoint: '# unavailable: return points of kvm_arm_vmid_update(): the replay orders allocator calls by their entry (entry mode), and racing slow paths show as entry-race diagnostics',
  pins: '# unavailable: pin checks (pin-exhausted, pin-leaked, pin-released-while-bound, vm-two-vmids): no pinned-VMID calls are recorded',
  smmu: '# unavailable: SMMU checks (ste-vmid-zero, vmid-changed-under-bound-ste, vmid-reuse-without-invalidation, ste-switch-without-invalidation, pin-released-while-bound, vmid-width-mismatch): no SMMUv3 events are recorded',
  ste: '# unavailable: STE checks (ste-vmid-zero, vmid-changed-under-bound-ste, ste-switch-without-invalidation, pin-released-while-bound, vmid-width-mismatch): no STE writes are recorded',
  tlbi: '# unavailable: CPU broadcast TLBIs: with BTM on, an SMMU VMID cleaned by a CPU TLBI looks uncleaned (the rollover TLBI ALLE1IS is still applied by the model)',
};

const smmuNote = [
  '# (the arm-smmu-v3 driver exposes neither IDR0.VMID16 nor CR2.PTM; mainline sets PTM, so BTM is off unless the kernel turns it on.',
  '# SMMU events name an SMMU by its struct arm_smmu_device pointer: give facts to analyze under that name, e.g. --btm 0xffff000004a1c080=on --smmu-vmid-bits 0xffff000004a1c080=16)',
];

test('5.18 to 6.4 (Debian 6.1, nVHE, as the real captures): register kprobes, return point via kvm_pmu_flush_hwstate, no SMMU', () => {
  const host = makeFakeHost({ release: '6.1.0-56-arm64', functions: kvmFunctions, kvmMode: 'nvhe', recordedVmidBits: 8 });
  const run = runScript(host, {}, { VCPU_HW_MMU_OFFSET: '2104' });
  assert.equal(run.status, 0, run.stderr);

  const created = [kprobe.vmCreate, kprobe.vmDestroy, kprobe.update, kprobe.updateRetPmu, kprobe.clearActive];
  assert.equal(host.read('tracefs/kprobe_events'), lines(...oneShot, ...createdThenRemoved(created)));
  assert.equal(host.read('tracefs/dynamic_events'), '');
  const events = ['vm_create', 'vm_destroy', 'vmid_update', 'vmid_update_ret', 'vmid_clear_active'];
  // Every tracefs write, in order: one-shot read of the width, buffer, probes, tracepoints,
  // recording, then the cleanup in reverse.
  assert.deepEqual(run.writes, [
    "echo '0' > tracing_on",
    `echo '${oneShot[0]}' >> kprobe_events`,
    "echo '1' > events/vmid/vmid_config/enable",
    "echo '1' > tracing_on",
    "echo '0' > tracing_on",
    "echo '0' > events/vmid/vmid_config/enable",
    "echo '-:vmid/vmid_config' >> kprobe_events",
    'echo > trace',
    "echo 'global' > trace_clock",
    "echo '32768' > buffer_size_kb",
    ...created.flatMap((definition, i) => [`echo '${definition}' >> kprobe_events`, `echo '1' > events/vmid/${events[i]}/enable`]),
    "echo '1' > events/iommu/attach_device_to_domain/enable",
    "echo '1' > events/iommu/io_page_fault/enable",
    "echo '1' > tracing_on",
    "echo 'vmid-replay: vmid_bits=8 cpus=4 variant=mainline trace_clock=global' >> trace_marker",
    "echo '0' > tracing_on",
    "echo '0' > tracing_on",
    ...[...events].reverse().map((name) => `echo '0' > events/vmid/${name}/enable`),
    "echo '0' > events/iommu/attach_device_to_domain/enable",
    "echo '1' > events/iommu/io_page_fault/enable",
    ...[...events].reverse().map((name) => `echo '-:vmid/${name}' >> kprobe_events`),
    "echo 'local' > trace_clock",
    "echo '1408' > buffer_size_kb",
    "echo '1' > tracing_on",
  ]);

  const capture = host.read('out/capture.txt');
  assert.deepEqual(stableHeader(capture), [
    '# vmid-replay: vmid_bits=8 cpus=4 variant=mainline trace_clock=global',
    `# no SMMUv3 in ${host.root}/sys/class/iommu`,
    '# kernel 6.1.0-56-arm64; probe set 5.18 to 6.4; KVM mode nvhe (dmesg)',
    '# kvm_arm_vmid_update() is called from kvm_arch_vcpu_ioctl_run() (the KVM_RUN loop) on this kernel',
    '# events: vm_create vm_destroy vmid_update vmid_update_ret vmid_clear_active iommu:attach_device_to_domain iommu:io_page_fault',
    unavailable.pins,
    `#   vmid_pin: kvm_arm_pinned_vmid_get is not in ${host.root}/proc/kallsyms`,
    `#   vmid_pin_ret: kvm_arm_pinned_vmid_get is not in ${host.root}/proc/kallsyms`,
    `#   vmid_unpin: kvm_arm_pinned_vmid_put is not in ${host.root}/proc/kallsyms`,
    unavailable.smmu,
    `#   smmu_cmd: arm_smmu_cmdq_issue_cmdlist is not in ${host.root}/proc/kallsyms`,
    '#   smmu_ste: no STE-write function before 6.9: arm_smmu_write_strtab_ent() computes the entry inside, so an entry probe sees the old one',
    unavailable.tlbi,
    '#   cpu_tlbi_vmid: KVM runs in nvhe mode: its TLB maintenance runs at EL2 in the hypervisor object, which cannot be probed',
    '#   cpu_tlbi_ipa: KVM runs in nvhe mode: its TLB maintenance runs at EL2 in the hypervisor object, which cannot be probed',
    '#   cpu_tlbi_all: KVM runs in nvhe mode: its TLB maintenance runs at EL2 in the hypervisor object, which cannot be probed',
  ]);
  // The trace follows the header, then the notes on losses (kprobe_profile says 3 misses).
  assert.ok(capture.endsWith(lines(...defaultTracePipe, '# capture end: 0 events lost in the ring buffer (overrun+dropped per CPU: cpu0=0+0 cpu1=0+0)', '# capture end: probe hits missed (kprobe_profile): vmid_update_ret=3')));
  assert.equal(host.read('tracefs/trace_marker'), 'vmid-replay: vmid_bits=8 cpus=4 variant=mainline trace_clock=global\n');
  // Said up front, before anything is changed.
  const upFront = run.stderr.slice(0, run.stderr.indexOf('+ echo'));
  for (const what of ['unavailable: pin checks', 'unavailable: SMMU checks', 'unavailable: CPU broadcast TLBIs']) assert.ok(upFront.includes(what), what);
  assert.match(run.stderr, /warning: probe hits missed: vmid_update_ret=3/);
  assertRestored(host);
});

test('6.5: vm_create as an fprobe with a BTF argument name; SMMUv3 driver as a module; VHE gets CPU TLBIs', () => {
  const host = makeFakeHost({
    release: '6.5.13',
    functions: kvmFunctions,
    moduleFunctions: ['arm_smmu_cmdq_issue_cmdlist'],
    btf: 'fprobe',
    kvmMode: 'vhe',
    smmus: [smmuSysfs],
    recordedVmidBits: 16,
    possibleCpus: '0-63',
  });
  const run = runScript(host);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(host.read('tracefs/dynamic_events'), lines(fprobe.vmCreate, '-:vmid/vm_create'));
  assert.equal(
    host.read('tracefs/kprobe_events'),
    lines(...oneShot, ...[kprobe.vmDestroy, kprobe.update, kprobe.clearActive, kprobe.smmuCmdBefore612, ...kprobe.tlbi], ...['cpu_tlbi_all', 'cpu_tlbi_ipa', 'cpu_tlbi_vmid', 'smmu_cmd', 'vmid_clear_active', 'vmid_update', 'vm_destroy'].map((name) => `-:vmid/${name}`)),
  );
  assert.deepEqual(stableHeader(host.read('out/capture.txt')), [
    '# vmid-replay: vmid_bits=16 cpus=64 variant=mainline trace_clock=global',
    `# smmu ${smmuSysfs}: vmid_bits unknown, btm unknown`,
    ...smmuNote,
    '# kernel 6.5.13; probe set 6.5; KVM mode vhe (dmesg)',
    '# kvm_arm_vmid_update() is called from kvm_arch_vcpu_ioctl_run() (the KVM_RUN loop) on this kernel',
    '# events: vm_create vm_destroy vmid_update vmid_clear_active smmu_cmd cpu_tlbi_vmid cpu_tlbi_ipa cpu_tlbi_all iommu:attach_device_to_domain iommu:io_page_fault',
    unavailable.returnPoint,
    '#   vmid_update_ret: VCPU_HW_MMU_OFFSET is not set (offsetof(struct kvm_vcpu, arch.hw_mmu), from pahole)',
    unavailable.pins,
    `#   vmid_pin: kvm_arm_pinned_vmid_get is not in ${host.root}/proc/kallsyms`,
    `#   vmid_pin_ret: kvm_arm_pinned_vmid_get is not in ${host.root}/proc/kallsyms`,
    `#   vmid_unpin: kvm_arm_pinned_vmid_put is not in ${host.root}/proc/kallsyms`,
    unavailable.ste,
    '#   smmu_ste: no STE-write function before 6.9: arm_smmu_write_strtab_ent() computes the entry inside, so an entry probe sees the old one',
  ]);
  // 1 GiB over 64 possible CPUs.
  assert.ok(run.writes.includes("echo '16384' > buffer_size_kb"));
  assertRestored(host);
});

test('6.6: BTF member access; the return point read from vcpu->arch.hw_mmu by name; KVM mode unknown keeps the TLBI probes', () => {
  const host = makeFakeHost({ release: '6.6.30-generic', functions: kvmFunctions, btf: 'fields', recordedVmidBits: 8 });
  const run = runScript(host, {}, { EXTRA_EVENTS: 'kvm:kvm_entry kvm:no_such_event' });
  assert.equal(run.status, 0, run.stderr);
  // EXTRA_EVENTS: enabled when the kernel has them, restored afterwards (assertRestored).
  assert.ok(run.writes.includes("echo '1' > events/kvm/kvm_entry/enable"));
  assert.match(run.stderr, /note: this kernel has no tracepoint kvm:no_such_event/);
  assert.equal(host.read('tracefs/dynamic_events'), lines(...createdThenRemoved([fprobe.vmCreate, fprobe.vmDestroy, fprobe.update, fprobe.updateRetPmu])));
  assert.equal(host.read('tracefs/kprobe_events'), lines(...oneShot, ...createdThenRemoved([kprobe.clearActive, ...kprobe.tlbi])));
  const header = stableHeader(host.read('out/capture.txt'));
  assert.ok(header.includes('# kernel 6.6.30-generic; probe set 6.6.0 to 6.6.58, 6.7 to 6.8; KVM mode unknown (no KVM init line in dmesg; set KVM_MODE)'), header.join('\n'));
  assert.ok(!header.includes(unavailable.tlbi));
  assertRestored(host);
});

test('6.7 to 6.8 with PROBES=kprobe: register forms only, the return point needs VCPU_HW_MMU_OFFSET', () => {
  const host = makeFakeHost({ release: '6.8.12', functions: kvmFunctions, btf: 'fields', kvmMode: 'nvhe', recordedVmidBits: 8 });
  const run = runScript(host, {}, { PROBES: 'kprobe', VCPU_HW_MMU_OFFSET: '2104' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(host.read('tracefs/dynamic_events'), '');
  assert.equal(host.read('tracefs/kprobe_events'), lines(...oneShot, ...createdThenRemoved([kprobe.vmCreate, kprobe.vmDestroy, kprobe.update, kprobe.updateRetPmu, kprobe.clearActive])));
  assertRestored(host);
});

test('6.6.59 and later 6.6.y: $arg1 in kretprobes (backport); RFC pin functions present, variant unknown', () => {
  const host = makeFakeHost({ release: '6.6.59', functions: [...kvmFunctions, ...pinFunctions, 'arm_smmu_cmdq_issue_cmdlist'], kvmMode: 'nvhe', recordedVmidBits: 8 });
  const run = runScript(host);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(host.read('tracefs/dynamic_events'), '');
  assert.equal(
    host.read('tracefs/kprobe_events'),
    lines(...oneShot, ...createdThenRemoved([kprobe.vmCreate, kprobe.vmDestroy, kprobe.update, kprobe.updateRet, kprobe.clearActive, kprobe.pin, kprobe.pinRet, kprobe.unpin, kprobe.smmuCmdBefore612])),
  );
  const header = stableHeader(host.read('out/capture.txt'));
  assert.deepEqual(header.slice(0, 2), [
    '# vmid-replay: vmid_bits=8 cpus=4 trace_clock=global',
    '# variant unknown: kvm_arm_pinned_vmid_get is in kallsyms, so this kernel carries the RFC pinned-VMID series (rfc-v2 or rfc-v3): set VARIANT, or pass --variant to analyze',
  ]);
  assert.equal(host.read('tracefs/trace_marker'), 'vmid-replay: vmid_bits=8 cpus=4 trace_clock=global\n');
  assertRestored(host);
});

test('6.9 to 6.11: fprobe return with BTF names, STE writes, pins with $arg1; VARIANT given; nothing unavailable', () => {
  const host = makeFakeHost({
    release: '6.9.0',
    functions: [...allFunctions, ...pinFunctions],
    btf: 'fields',
    kvmMode: 'vhe',
    smmus: [smmuSysfs],
    recordedVmidBits: 16,
  });
  const run = runScript(host, {}, { VARIANT: 'rfc-v2' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(host.read('tracefs/dynamic_events'), lines(...createdThenRemoved([fprobe.vmCreate, fprobe.vmDestroy, fprobe.update, fprobe.updateRet])));
  assert.equal(
    host.read('tracefs/kprobe_events'),
    lines(...oneShot, ...createdThenRemoved([kprobe.clearActive, kprobe.pin, kprobe.pinRet, kprobe.unpin, kprobe.smmuCmdBefore612, kprobe.smmuSte, ...kprobe.tlbi])),
  );
  const header = stableHeader(host.read('out/capture.txt'));
  assert.equal(header[0], '# vmid-replay: vmid_bits=16 cpus=4 variant=rfc-v2 trace_clock=global');
  assert.deepEqual(
    header.filter((line) => line.includes('unavailable')),
    [],
  );
  assert.ok(!run.stderr.includes('unavailable'));
  assertRestored(host);
});

test('6.12 and later: the cmdq argument moves cmds to %x2; from 6.12.18 the update runs in kvm_arch_vcpu_load()', () => {
  const host = makeFakeHost({ release: '6.12.18-arm64', functions: allFunctions, kvmMode: 'nvhe', smmus: [smmuSysfs], recordedVmidBits: 8 });
  const run = runScript(host);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(host.read('tracefs/kprobe_events'), lines(...oneShot, ...createdThenRemoved([kprobe.vmCreate, kprobe.vmDestroy, kprobe.update, kprobe.updateRet, kprobe.clearActive, kprobe.smmuCmdSince612, kprobe.smmuSte])));
  const header = stableHeader(host.read('out/capture.txt'));
  assert.ok(header.includes('# kvm_arm_vmid_update() is called from kvm_arch_vcpu_load() (fa808ed4e199) on this kernel'), header.join('\n'));
  assertRestored(host);

  const before = makeFakeHost({ release: '6.12.17', functions: allFunctions, kvmMode: 'nvhe', recordedVmidBits: 8 });
  assert.equal(runScript(before).status, 0);
  assert.ok(stableHeader(before.read('out/capture.txt')).includes('# kvm_arm_vmid_update() is called from kvm_arch_vcpu_ioctl_run() (the KVM_RUN loop) on this kernel'));
});

test('6.13 and 6.14: load path from 6.13.6; protected KVM (from the command line) has no CPU TLBI events', () => {
  for (const [release, site] of [
    ['6.13.5', 'kvm_arch_vcpu_ioctl_run() (the KVM_RUN loop)'],
    ['6.13.6', 'kvm_arch_vcpu_load() (fa808ed4e199)'],
    ['6.14.0', 'kvm_arch_vcpu_load() (fa808ed4e199)'],
  ] as const) {
    const host = makeFakeHost({ release, functions: kvmFunctions, cmdline: 'root=/dev/vda kvm-arm.mode=protected', recordedVmidBits: 8 });
    const run = runScript(host);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(host.read('tracefs/kprobe_events'), lines(...oneShot, ...createdThenRemoved([kprobe.vmCreate, kprobe.vmDestroy, kprobe.update, kprobe.updateRet, kprobe.clearActive])));
    const header = stableHeader(host.read('out/capture.txt'));
    assert.ok(header.includes(`# kvm_arm_vmid_update() is called from ${site} on this kernel`), `${release}: ${header.join('\n')}`);
    assert.ok(header.includes(`# kernel ${release}; probe set 6.12 and later; KVM mode protected (${host.root}/proc/cmdline)`), header.join('\n'));
    assert.ok(header.includes('#   cpu_tlbi_all: KVM runs in protected mode: its TLB maintenance runs at EL2 in the hypervisor object, which cannot be probed'));
    assertRestored(host);
  }
});

test('--kernel carries one probe set only; the running kernel is compared and a mismatch warned about', () => {
  const host = makeFakeHost({ release: '6.13.6', functions: allFunctions, kvmMode: 'vhe', recordedVmidBits: 8 });
  const fixed = { kernel: { major: 6, minor: 13, patch: 6 } };
  const run = runScript(host, fixed);
  assert.equal(run.status, 0, run.stderr);
  const script = host.read('capture.sh');
  assert.deepEqual(script.match(/^probes_\w+\(\)/gm), ['probes_6_12()']);
  assert.ok(!script.includes('kernel_code "$UNAME_R") || refuse'), 'no run-time choice of set');
  assert.ok(!run.stderr.includes('warning: this script carries'));
  assert.ok(stableHeader(host.read('out/capture.txt')).includes('# kernel 6.13.6; probe set 6.12 and later; KVM mode vhe (dmesg); probes chosen for 6.13.6 (--kernel)'));

  const other = makeFakeHost({ release: '6.1.0-56-arm64', functions: allFunctions, kvmMode: 'vhe', recordedVmidBits: 8 });
  const mismatched = runScript(other, fixed);
  assert.equal(mismatched.status, 0, mismatched.stderr);
  assert.match(mismatched.stderr, /warning: this script carries the probes for 6\.13\.6 \(kernels 6\.12 and later\) and this host runs 6\.1\.0-56-arm64: they are used anyway/);
  // The 6.12 definitions (cmds in %x2) are used, and the header says whose they are.
  assert.ok(probeLog(other, 'kprobe_events').created.includes('smmu_cmd'));
  assert.ok(other.read('tracefs/kprobe_events').includes(kprobe.smmuCmdSince612));
  assert.ok(stableHeader(other.read('out/capture.txt')).some((line) => line.endsWith('probes chosen for 6.13.6 (--kernel), not for the running kernel')));
  assertRestored(other);
});

test('VARIANT=rfc-v3: pin probes are left out (its pin takes a struct kvm *), and the header says rfc-v3', () => {
  const host = makeFakeHost({ release: '6.14.0', functions: [...kvmFunctions, ...pinFunctions], kvmMode: 'nvhe', recordedVmidBits: 8 });
  const run = runScript(host, {}, { VARIANT: 'rfc-v3' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(probeLog(host, 'kprobe_events').created, ['vmid_config', 'vm_create', 'vm_destroy', 'vmid_update', 'vmid_update_ret', 'vmid_clear_active']);
  const header = stableHeader(host.read('out/capture.txt'));
  assert.equal(header[0], '# vmid-replay: vmid_bits=8 cpus=4 variant=rfc-v3 trace_clock=global');
  assert.ok(header.includes("#   vmid_pin: VARIANT=rfc-v3: its kvm_arm_pinned_vmid_get() takes a struct kvm *, not the struct kvm_vmid * the tool names VMs by"));
  assertRestored(host);
});

test('a definition the kernel refuses falls back to the next one: fprobes refused, kprobes used', () => {
  const host = makeFakeHost({ release: '6.9.5', functions: kvmFunctions, btf: 'fields', kvmMode: 'nvhe', dynamicEventsRefuses: true, recordedVmidBits: 8 });
  const run = runScript(host);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(host.read('tracefs/kprobe_events'), lines(...oneShot, ...createdThenRemoved([kprobe.vmCreate, kprobe.vmDestroy, kprobe.update, kprobe.updateRet, kprobe.clearActive])));
  // Each f: definition was tried first.
  assert.equal(run.writes.filter((write) => write.endsWith('>> dynamic_events')).length, 4);
  assert.ok(!run.stderr.includes('not created'));
  assertRestored(host);
});

test('unknown facts are left out of the vmid-replay line and said in plain comments', () => {
  const noSymbol = makeFakeHost({ release: '6.1.0', functions: kvmFunctions, kvmMode: 'nvhe', vmidBitsSymbol: false, possibleCpus: null, recordedVmidBits: 8 });
  assert.equal(runScript(noSymbol).status, 0);
  assert.deepEqual(stableHeader(noSymbol.read('out/capture.txt')).slice(0, 3), [
    '# vmid-replay: variant=mainline trace_clock=global',
    `# vmid_bits unknown: kvm_arm_vmid_bits is not in ${noSymbol.root}/proc/kallsyms (data symbols need CONFIG_KALLSYMS_ALL); pass --vmid-bits to analyze`,
    `# cpus unknown: ${noSymbol.root}/sys/devices/system/cpu/possible is missing or unreadable; pass --cpus to analyze`,
  ]);
  assert.ok(!noSymbol.read('tracefs/kprobe_events').includes('vmid_config'), 'no one-shot probe without the symbol');
  assert.equal(noSymbol.read('tracefs/trace_marker'), 'vmid-replay: variant=mainline trace_clock=global\n');
  assertRestored(noSymbol);

  const nothingRecorded = makeFakeHost({ release: '6.1.0', functions: kvmFunctions, kvmMode: 'nvhe', recordedVmidBits: undefined });
  assert.equal(runScript(nothingRecorded).status, 0);
  assert.deepEqual(stableHeader(nothingRecorded.read('out/capture.txt')).slice(0, 2), [
    '# vmid-replay: cpus=4 variant=mainline trace_clock=global',
    '# vmid_bits unknown: the one-shot probe on __arm64_sys_newuname recorded no vmid_bits; pass --vmid-bits to analyze',
  ]);
  assertRestored(nothingRecorded);
});

test('lost events are counted per CPU at the end and warned about', () => {
  const host = makeFakeHost({ release: '6.1.0', functions: kvmFunctions, kvmMode: 'nvhe', recordedVmidBits: 8, overrun: 5 });
  const run = runScript(host);
  assert.equal(run.status, 0, run.stderr);
  assert.ok(host.read('out/capture.txt').includes('# capture end: 5 events lost in the ring buffer (overrun+dropped per CPU: cpu0=0+0 cpu1=5+0)\n'));
  assert.match(run.stderr, /warning: 5 events were lost; findings after a loss are inconclusive/);
  assertRestored(host);
});

test('--duration: the recording lasts that long and then stops', () => {
  const host = makeFakeHost({ release: '6.1.0', functions: kvmFunctions, kvmMode: 'nvhe', recordedVmidBits: 8 });
  const started = Date.now();
  const run = runScript(host, { durationSeconds: 1 }, { DURATION: '' });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(Date.now() - started >= 1000, 'slept for the duration');
  assert.match(run.stderr, /recording for 1 s into /);
  assert.ok(host.read('out/capture.txt').includes(defaultTracePipe.join('\n')));
  assertRestored(host);
});

test('--trace-cmd: trace-cmd record gets the events, buffer and clock; the header goes beside its file', () => {
  const host = makeFakeHost({ release: '6.12.18', functions: allFunctions, kvmMode: 'vhe', recordedVmidBits: 8 });
  const out = `${host.root}/out/capture.dat`;
  const run = runScript(host, { traceCmd: true }, { TRACE_CMD: fakeTraceCmd(host), OUT: out });
  assert.equal(run.status, 0, run.stderr);
  const events = ['vm_create', 'vm_destroy', 'vmid_update', 'vmid_update_ret', 'vmid_clear_active', 'smmu_cmd', 'smmu_ste', 'cpu_tlbi_vmid', 'cpu_tlbi_ipa', 'cpu_tlbi_all'];
  assert.equal(
    host.read('trace-cmd.args'),
    `record -o ${out} -b 32768 -C global ${[...events.map((name) => `vmid:${name}`), 'iommu:attach_device_to_domain', 'iommu:io_page_fault'].map((name) => `-e ${name}`).join(' ')}\n`,
  );
  assert.equal(host.read('out/capture.dat'), 'fake trace.dat\n');
  const header = host.read('out/capture.dat.header.txt');
  assert.equal(stableHeader(header)[0], '# vmid-replay: vmid_bits=8 cpus=4 variant=mainline trace_clock=global');
  assert.match(header, /# capture end: 0 events lost/);
  assert.equal(host.read('tracefs/trace_marker'), 'vmid-replay: vmid_bits=8 cpus=4 variant=mainline trace_clock=global\n');
  // trace-cmd enables the events itself: before it starts, the script enables none but the one-shot.
  const beforeTraceCmd = run.writes.slice(0, run.writes.findIndex((write) => write.includes('trace-cmd record')));
  assert.ok(beforeTraceCmd.length > 0);
  assert.deepEqual(beforeTraceCmd.filter((write) => write.startsWith("echo '1' > events/")), ["echo '1' > events/vmid/vmid_config/enable"]);
  assert.ok(!run.writes.includes("echo '32768' > buffer_size_kb"));
  assert.equal(host.read('tracefs/buffer_size_kb'), '1408\n');
  assertRestored(host);
});
