/**
 * A fake arm64 KVM host for the capture script: a tracefs tree of regular files (the kernel's
 * side effects, such as events/vmid/NAME/ appearing when a probe is defined, are prepared in
 * advance), a kallsyms, a sysfs, a dmesg and a kernel command line, all in a temp directory
 * the script reaches through its path variables. Writes to regular files keep their last
 * value (or, appended, all of them), which is what the tests read back.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateCaptureScript, type CaptureScriptOptions } from '../../src/capture/captureScript.js';
import { captureEvents } from '../../src/capture/probeSets.js';

/** Every function the probe sets use, as a 6.9-era kernel with KVM and the SMMUv3 driver built in has them. */
export const allFunctions = [
  'kvm_arm_vmid_update',
  'kvm_arm_vmid_clear_active',
  'kvm_init_stage2_mmu',
  'kvm_free_stage2_pgd',
  'kvm_pmu_flush_hwstate',
  '__kvm_tlb_flush_vmid',
  '__kvm_tlb_flush_vmid_ipa',
  '__kvm_flush_vm_context',
  '__arm64_sys_newuname',
  'arm_smmu_cmdq_issue_cmdlist',
  'arm_smmu_write_ste',
] as const;

export const pinFunctions = ['kvm_arm_pinned_vmid_get', 'kvm_arm_pinned_vmid_put'] as const;

/** What `kvm_info()` prints at KVM init, per mode (arch/arm64/kvm/arm.c). */
const dmesgLines = {
  vhe: '[    0.179311] kvm [1]: VHE mode initialized successfully',
  nvhe: '[    0.179311] kvm [1]: Hyp mode initialized successfully',
  protected: '[    0.179311] kvm [1]: Protected nVHE mode initialized successfully',
} as const;

export interface FakeHostOptions {
  readonly release: string;
  /** Function symbols in kallsyms (text, `T`). */
  readonly functions?: readonly string[];
  /** Symbols listed as `NAME [arm_smmu_v3]`, as when the driver is a module. */
  readonly moduleFunctions?: readonly string[];
  /** Listed only as compiler clones (`NAME.isra.0`). */
  readonly clones?: readonly string[];
  /** Whether the data symbol kvm_arm_vmid_bits is in kallsyms (CONFIG_KALLSYMS_ALL). */
  readonly vmidBitsSymbol?: boolean;
  /** The kvm_info() line in dmesg; undefined leaves dmesg without one. */
  readonly kvmMode?: keyof typeof dmesgLines;
  readonly cmdline?: string;
  /** tracefs README lines that advertise fprobe events and BTF member access; plus BTF. */
  readonly btf?: 'none' | 'fprobe' | 'fields';
  readonly smmus?: readonly string[];
  /** /sys/devices/system/cpu/possible [0-3]; null leaves the file out. */
  readonly possibleCpus?: string | null;
  /** Width the one-shot probe "records" in the trace file; undefined: no line. */
  readonly recordedVmidBits?: number | undefined;
  /** Lines trace_pipe yields; `fifo` makes it a FIFO no one writes (reading blocks). */
  readonly tracePipe?: readonly string[] | 'fifo';
  /** Make the trace file a FIFO, so the one-shot read blocks. */
  readonly traceFifo?: boolean;
  /** events/vmid/NAME directories the fake kernel does not create. */
  readonly missingEventDirs?: readonly string[];
  /** dynamic_events as a directory: every write to it fails, as when the kernel refuses. */
  readonly dynamicEventsRefuses?: boolean;
  readonly kprobeEvents?: string;
  readonly overrun?: number;
}

export interface FakeHost {
  readonly root: string;
  readonly tracefs: string;
  readonly out: string;
  readonly env: Record<string, string>;
  read(relative: string): string;
  exists(relative: string): boolean;
  /** Leftovers of the script's work directory under TMPDIR. */
  workDirs(): string[];
}

export const defaultTracePipe = [
  '       CPU 0/KVM-4001    [001] d....     6.000001: vmid_update: (kvm_arm_vmid_update+0x0/0x46c) kvm_vmid=0xffff000010001000 id=0',
  '       CPU 0/KVM-4001    [001] d....     6.000002: vmid_clear_active: (kvm_arm_vmid_clear_active+0x0/0x34)',
];

function write(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function mkfifo(path: string): void {
  const result = spawnSync('mkfifo', [path]);
  if (result.status !== 0) throw new Error(`mkfifo ${path}: ${result.stderr.toString()}`);
}

/** Each test file runs in its own process: its fake hosts go when it exits. */
const roots: string[] = [];
process.on('exit', () => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

export function makeFakeHost(options: FakeHostOptions): FakeHost {
  const root = mkdtempSync(join(tmpdir(), 'vmid-capture-test-'));
  roots.push(root);
  const tracefs = join(root, 'tracefs');
  const t = (relative: string) => join(tracefs, relative);

  write(t('kprobe_events'), options.kprobeEvents ?? '');
  if (options.dynamicEventsRefuses === true) mkdirSync(t('dynamic_events'), { recursive: true });
  else write(t('dynamic_events'), '');
  write(t('tracing_on'), '1\n');
  write(t('buffer_size_kb'), '7 (expanded: 1408)\n');
  write(t('trace_clock'), '[local] global counter uptime perf mono mono_raw boot tai\n');
  write(t('trace_marker'), '');
  write(t('error_log'), '[  100.000000] trace_fprobe: error: Invalid argument\n  Command: f:vmid/x\n             ^\n');
  write(t('kprobe_profile'), '  vmid_update                                                  12               0\n  vmid_update_ret                                              12               3\n');
  const readme = ['tracing mini-HOWTO:', '\t  p[:[<group>/][<event>]] <place> [<args>]'];
  if (options.btf === 'fprobe' || options.btf === 'fields') readme.push('\t           f[:[<group>/][<event>]] <func-name>[%return] [<args>]');
  if (options.btf === 'fields') readme.push('\t           <argname>[->field[->field|.field...]],');
  write(t('README'), `${readme.join('\n')}\n`);
  const functions = [...(options.functions ?? []), ...(options.moduleFunctions ?? [])];
  write(t('available_filter_functions'), functions.map((name) => `${name}${options.moduleFunctions?.includes(name) === true ? ' [arm_smmu_v3]' : ''}\n`).join(''));
  for (const cpu of [0, 1]) {
    write(t(`per_cpu/cpu${cpu}/stats`), `entries: 0\noverrun: ${cpu === 1 ? (options.overrun ?? 0) : 0}\ncommit overrun: 0\nbytes: 0\noldest event ts:     0.000000\nnow ts:     9.000000\ndropped events: 0\nread events: 0\n`);
  }
  const eventDirs = ['vmid_config', ...captureEvents].filter((name) => !(options.missingEventDirs ?? []).includes(name));
  for (const name of eventDirs) write(t(`events/vmid/${name}/enable`), '0\n');
  write(t('events/iommu/attach_device_to_domain/enable'), '0\n');
  write(t('events/iommu/io_page_fault/enable'), '1\n');
  write(t('events/kvm/kvm_entry/enable'), '0\n');

  if (options.traceFifo === true) mkfifo(t('trace'));
  else {
    const bits = options.recordedVmidBits;
    write(t('trace'), bits === undefined ? '# tracer: nop\n' : `# tracer: nop\n           uname-4242    [001] d....     5.000001: vmid_config: (__arm64_sys_newuname+0x0/0x30) vmid_bits=${bits}\n`);
  }
  if (options.tracePipe === 'fifo') mkfifo(t('trace_pipe'));
  else write(t('trace_pipe'), (options.tracePipe ?? defaultTracePipe).map((line) => `${line}\n`).join(''));

  const kallsyms: string[] = [];
  let address = 0xffff800008010000n;
  const symbol = (type: string, name: string, module?: string) => {
    kallsyms.push(`${address.toString(16)} ${type} ${name}${module === undefined ? '' : `\t[${module}]`}`);
    address += 0x100n;
  };
  symbol('T', '_text');
  for (const name of options.functions ?? []) symbol('T', name);
  for (const name of options.moduleFunctions ?? []) symbol('t', name, 'arm_smmu_v3');
  for (const name of options.clones ?? []) symbol('t', `${name}.isra.0`);
  if (options.vmidBitsSymbol ?? true) symbol('d', 'kvm_arm_vmid_bits');
  write(join(root, 'proc/kallsyms'), `${kallsyms.join('\n')}\n`);
  write(join(root, 'proc/cmdline'), `${options.cmdline ?? 'BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro'}\n`);
  write(join(root, 'dev/kvm'), '');
  write(join(root, 'dmesg.txt'), `[    0.000000] Linux version ${options.release}\n${options.kvmMode === undefined ? '' : `${dmesgLines[options.kvmMode]}\n`}`);

  if (options.possibleCpus !== null) write(join(root, 'sys/devices/system/cpu/possible'), `${options.possibleCpus ?? '0-3'}\n`);
  if (options.btf === 'fprobe' || options.btf === 'fields') write(join(root, 'sys/kernel/btf/vmlinux'), 'BTF');
  mkdirSync(join(root, 'sys/class/iommu'), { recursive: true });
  for (const smmu of options.smmus ?? []) mkdirSync(join(root, 'sys/class/iommu', smmu), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  mkdirSync(join(root, 'out'), { recursive: true });

  const out = join(root, 'out/capture.txt');
  return {
    root,
    tracefs,
    out,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      TRACEFS: tracefs,
      PROCFS: join(root, 'proc'),
      SYSFS: join(root, 'sys'),
      DEV_KVM: join(root, 'dev/kvm'),
      DMESG_FILE: join(root, 'dmesg.txt'),
      TMPDIR: join(root, 'tmp'),
      UNAME_R: options.release,
      OUT: out,
      DURATION: '0',
      DRAIN_SECONDS: '0',
      VERBOSE: '1',
    },
    read: (relative) => readFileSync(join(root, relative), 'utf8'),
    exists: (relative) => existsSync(join(root, relative)),
    workDirs: () => readdirSync(join(root, 'tmp')),
  };
}

export interface ScriptRun {
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The tracefs writes, in order, as VERBOSE=1 logs them ("echo '1' > tracing_on"). */
  readonly writes: string[];
}

export function scriptFor(host: FakeHost, options: Partial<CaptureScriptOptions> = {}): string {
  const path = join(host.root, 'capture.sh');
  writeFileSync(path, generateCaptureScript({ durationSeconds: 0, traceCmd: false, generatedBy: 'test', ...options }));
  return path;
}

function writesOf(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('vmid-capture: + '))
    .map((line) => line.slice('vmid-capture: + '.length));
}

/** Runs the generated script with dash, as a POSIX sh, against the fake host. */
export function runScript(host: FakeHost, options: Partial<CaptureScriptOptions> = {}, env: Record<string, string> = {}): ScriptRun {
  const result = spawnSync('dash', [scriptFor(host, options)], { cwd: host.root, env: { ...host.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr, writes: writesOf(result.stderr) };
}

/**
 * Starts the script, sends `signal` once its stderr contains `when`, then calls `after` (e.g.
 * to unblock a FIFO), and resolves when it exits.
 */
export function runScriptWithSignal(
  host: FakeHost,
  when: string,
  signal: NodeJS.Signals,
  env: Record<string, string> = {},
  after: () => void = () => {},
): Promise<ScriptRun> {
  const child = spawn('dash', [scriptFor(host)], { cwd: host.root, env: { ...host.env, ...env } });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!sent && stderr.includes(when)) {
      sent = true;
      child.kill(signal);
      after();
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => {
    child.on('close', (status, exitSignal) => {
      clearTimeout(timer);
      resolve({ status, signal: exitSignal, stdout, stderr, writes: writesOf(stderr) });
    });
  });
}

/** A stand-in for trace-cmd: logs its arguments, turns tracing on, writes the -o file, exits. */
export function fakeTraceCmd(host: FakeHost): string {
  const path = join(host.root, 'bin/trace-cmd');
  write(
    path,
    `#!/bin/sh
printf '%s\\n' "$*" > "${join(host.root, 'trace-cmd.args')}"
echo 1 > "${host.tracefs}/tracing_on"
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then echo 'fake trace.dat' > "$2"; fi
  shift
done
`,
  );
  chmodSync(path, 0o755);
  return path;
}
