/**
 * `generate --probes capture-6.1`: the lines the real 6.1 captures in ../shared/captures write
 * (a57-8bit-nvhe-full: its kprobe_defs.txt and trace.txt.gz), for the allocator calls the
 * workload makes. Their kernel (Debian 6.1.0-56-arm64) updates the VMID in the KVM_RUN loop,
 * once per guest entry, so a vCPU load is `vcpu_load` and then, per entry,
 *
 *   update -> [rollover] -> [new_alloc | new_keep] -> [update_slow] -> update_ret -> after_update
 *   -> kvm_entry -> kvm_exit
 *
 * (the fast path: update -> update_ret), and a put is `vcpu_put`, `clear_active`, then the
 * thread's way out: `kvm_userspace_exit` (an MMIO exit) or a `sched_switch` (preempted). The
 * in-function probes sit at that build's offsets in `kvm_arm_vmid_update()` (0x46c bytes, with
 * `new_vmid()` and `flush_context()` inlined) and read what the kernel's state was there: every
 * value below is the allocator model's, which is the kernel's (src/model/vmidAllocator.ts).
 */
import { flushSnapshotAfter } from '../replay/models/flushSnapshot.js';
import { VmidAllocator, type UpdateOutcome } from '../model/vmidAllocator.js';
import { kernelFunction, type LineFormatter, type LineSource } from './lineFormat.js';
import type { LineShape } from './options.js';
import type { Prng } from './prng.js';
import type { SimVm } from './host.js';
import type { TraceSink } from './traceSink.js';

/** The probed functions, with their sizes as that build prints them (`+0x28c/0x46c`). */
const update = (offset: number) => kernelFunction(0, 'kvm_arm_vmid_update', offset, 0x46c);
export const kfn61 = {
  update: update(0x0),
  /** Right after the inlined `flush_context()`. */
  rollover: update(0x28c),
  /** `new_vmid()` took a fresh index from the bitmap search. */
  newAlloc: update(0x2f0),
  /** `new_vmid()` kept the VM's index: a reservation, or its bit was free. */
  newKeep: update(0x3d8),
  /** After the unlock of the slow path. */
  updateSlow: update(0xc0),
  /** The common exit of the fast and slow paths. */
  updateRet: update(0xc4),
  afterUpdate: kernelFunction(1, 'kvm_pmu_flush_hwstate', 0x0, 0x24),
  clearActive: kernelFunction(2, 'kvm_arm_vmid_clear_active', 0x0, 0x34),
  vcpuLoad: kernelFunction(3, 'kvm_arch_vcpu_load', 0x0, 0x1d4),
  vcpuPut: kernelFunction(4, 'kvm_arch_vcpu_put', 0x0, 0x80),
  initVm: kernelFunction(5, 'kvm_arch_init_vm', 0x0, 0x16c),
  s2Init: kernelFunction(6, 'kvm_init_stage2_mmu', 0x0, 0x1a0),
  destroyVm: kernelFunction(7, 'kvm_arch_destroy_vm', 0x0, 0x50),
  freeS2: kernelFunction(8, 'kvm_free_stage2_pgd', 0x0, 0xdc),
} as const;

/** The probe reads the first 256 bits of `vmid_map` (`map0..map3`), whatever the width. */
const mapWordsRead = 4;

/**
 * Exits as a57-8bit-nvhe-full has them: 7 561 IRQ, 1 817 IABT, 6 320 DABT (each DABT an MMIO
 * exit the VMM handles in userspace) out of 15 698.
 */
const exits = [
  { weight: 48, text: 'IRQ: HSR_EC: 0x0000 (UNKNOWN)' },
  { weight: 12, text: 'TRAP: HSR_EC: 0x0020 (IABT_LOW)' },
  { weight: 40, text: 'TRAP: HSR_EC: 0x0024 (DABT_LOW)' },
] as const;
/** 6 320 of 11 065 puts in that capture were the thread leaving for userspace, the rest preemptions. */
const putsToUserspace = 0.57;

interface Task {
  readonly task: string;
  readonly pid: number;
}

const swapper = (cpu: number): Task => ({ task: `swapper/${cpu}`, pid: 0 });
/** Kernel threads that an idle CPU of the captures switches to and back from. */
const kernelThreads = (cpu: number): Task[] => [
  { task: 'rcu_sched', pid: 14 },
  { task: `kworker/${cpu}:1`, pid: 16 + 7 * cpu },
  { task: `ksoftirqd/${cpu}`, pid: 13 + 7 * cpu },
];

export interface UpdateLines {
  readonly entryLine: number | undefined;
  /** The first in-lock probe when there is one (the point the replay decides the call at), else the return. */
  readonly decisionLine: number | undefined;
  readonly returnLine: number | undefined;
}

/** Prints the 6.1 captures' lines for the simulated host's operations; holds only who runs where. */
export class Capture61Probes {
  /** Per CPU, the task running there, as the next `sched_switch` on it names it as `prev`. */
  private readonly current: Task[];
  /** Per VM, the CPU each vCPU thread last ran on, and whether it left for userspace there. */
  private readonly lastRun = new WeakMap<SimVm, { cpu: number; toUserspace: boolean }[]>();

  constructor(
    private readonly sink: TraceSink,
    private readonly prng: Prng,
    private readonly allocator: VmidAllocator,
  ) {
    this.current = allocator.activeVmids.map((_, cpu) => swapper(cpu));
  }

  private get formatter(): LineFormatter {
    return this.sink.formatter;
  }

  /** `kvm_arch_init_vm()` then `kvm_init_stage2_mmu()`; returns the latter's line (the VM's life starts). */
  vmCreated(vmm: LineSource, vm: SimVm): number | undefined {
    this.sink.event(vmm, 'init_vm', `${this.formatter.location(kfn61.initVm)} kvm=${vm.kvm} type=0x0`);
    return this.sink.event(vmm, 's2_init', `${this.formatter.location(kfn61.s2Init)} kvm=${vm.kvm} mmu=${vm.mmu}`);
  }

  /** `kvm_free_stage2_pgd()` (the MMU's life ends) then `kvm_arch_destroy_vm()`, in the captures' order; returns the former's line. */
  vmDestroyed(vmm: LineSource, vm: SimVm, id: number): number | undefined {
    const line = this.sink.event(vmm, 'free_s2', `${this.formatter.location(kfn61.freeS2)} mmu=${vm.mmu} id=${id}`);
    this.sink.event(vmm, 'destroy_vm', `${this.formatter.location(kfn61.destroyVm)} kvm=${vm.kvm} id=${id}`);
    return line;
  }

  /** The vCPU thread comes to `thread.cpu` (migrated and switched in, unless it is still there back from userspace) and KVM_RUN loads the vCPU. */
  vcpuLoaded(thread: LineSource, vm: SimVm, vcpu: number): void {
    const { cpu } = thread;
    const last = this.lastRun.get(vm)?.[vcpu];
    if (last !== undefined && last.cpu !== cpu) {
      const migration = { task: `migration/${last.cpu}`, pid: 15 + 7 * last.cpu, tgid: 15 + 7 * last.cpu, cpu: last.cpu, irqsOff: true, preemptDepth: 1 };
      this.sink.event(migration, 'sched_migrate_task', `comm=${thread.task} pid=${thread.pid} prio=120 orig_cpu=${last.cpu} dest_cpu=${cpu}`);
      if (this.current[last.cpu]?.pid === thread.pid) this.current[last.cpu] = swapper(last.cpu);
    }
    if (last === undefined || last.cpu !== cpu || !last.toUserspace) this.switchTo(cpu, thread, 'S');
    this.sink.event(thread, 'vcpu_load', `${this.formatter.location(kfn61.vcpuLoad)} vcpu=${vcpuPointer(vm, vcpu)} cpu=${cpu} vcpu_id=${vcpu} mmu=${vm.mmu}`);
  }

  /**
   * One KVM_RUN iteration after `kvm_arm_vmid_update()` returned `outcome` for a VM whose id was
   * `before`: the call's probes with the allocator's state at each, then the guest's entry and exit.
   */
  updated(thread: LineSource, vm: SimVm, vcpu: number, before: number, outcome: UpdateOutcome): UpdateLines {
    const { formatter, allocator } = this;
    const vmid = `vmid=${vm.mmu}`;
    const entryLine = this.sink.event(thread, 'update', `${formatter.location(kfn61.update)} ${vmid} id=${before}`);
    let decisionLine: number | undefined;
    if (outcome.flushes > 0) {
      const flush = flushSnapshotAfter(allocator, outcome.vmid);
      const words = VmidAllocator.bitmapWords(flush.map, mapWordsRead).map((word, i) => `map${i}=0x${word.toString(16)}`);
      const reserved = flush.reserved.map((id, cpu) => `res${cpu}=${id}`);
      const body = `${formatter.location(kfn61.rollover)} ${vmid} newgen=${flush.generation} gen=${allocator.generation} bits=${allocator.config.vmidBits} ${reserved.join(' ')} ${words.join(' ')}`;
      decisionLine = this.sink.event(thread, 'rollover', body);
    }
    if (outcome.path === 'search') {
      decisionLine ??= this.sink.event(thread, 'new_alloc', `${formatter.location(kfn61.newAlloc)} ${vmid} newid=${outcome.activeId} cur_idx=${allocator.curIdx}`);
    } else if (outcome.path === 'reserved' || outcome.path === 'reuse') {
      const hit = outcome.path === 'reserved' ? 1 : 0;
      decisionLine ??= this.sink.event(thread, 'new_keep', `${formatter.location(kfn61.newKeep)} ${vmid} newid=${outcome.activeId} reserved_hit=${hit}`);
    }
    if (outcome.slow) this.sink.event(thread, 'update_slow', `${formatter.location(kfn61.updateSlow)} ${vmid} newid=${outcome.activeId} gen=${allocator.generation}`);
    const active = allocator.activeVmids.map((id, cpu) => `act${cpu}=${id}`);
    const reserved = allocator.reservedVmids.map((id, cpu) => `res${cpu}=${id}`);
    const returnLine = this.sink.event(thread, 'update_ret', `${formatter.location(kfn61.updateRet)} ${vmid} id=${outcome.idAfter} gen=${allocator.generation} ${active.join(' ')} ${reserved.join(' ')}`);
    this.sink.event(thread, 'after_update', `${formatter.location(kfn61.afterUpdate)} vcpu=${vcpuPointer(vm, vcpu)} mmu=${vm.mmu} id=${outcome.idAfter}`);
    this.guestRuns(thread);
    this.idleCpusSwitch();
    return { entryLine, decisionLine: decisionLine ?? returnLine, returnLine };
  }

  /** The entry into the guest and the exit that ends its run (the entry with interrupts off, as `kvm_entry` is printed). */
  private guestRuns(thread: LineSource): void {
    const pc = `0x${(0x40000000 + this.prng.int(0, 0xffff) * 4).toString(16).padStart(16, '0')}`;
    this.sink.event(thread, 'kvm_entry', `PC: ${pc}`);
    let roll = this.prng.int(1, 100);
    const exit = exits.find((candidate) => (roll -= candidate.weight) <= 0) ?? exits[0];
    this.sink.event({ ...thread, irqsOff: false }, 'kvm_exit', `${exit.text}, PC: ${pc}`);
  }

  /** `kvm_arch_vcpu_put()` ending in `kvm_arm_vmid_clear_active()`, then the thread leaves; returns the clear's line. */
  vcpuPut(thread: LineSource, vm: SimVm, vcpu: number): number | undefined {
    this.sink.event(thread, 'vcpu_put', `${this.formatter.location(kfn61.vcpuPut)} vcpu=${vcpuPointer(vm, vcpu)} vcpu_id=${vcpu} mmu=${vm.mmu}`);
    const line = this.sink.event(thread, 'clear_active', this.formatter.location(kfn61.clearActive));
    const toUserspace = this.prng.chance(putsToUserspace);
    if (toUserspace) this.sink.event({ ...thread, irqsOff: false }, 'kvm_userspace_exit', 'reason KVM_EXIT_MMIO (6)');
    else this.switchTo(thread.cpu, swapper(thread.cpu), 'R+');
    let runs = this.lastRun.get(vm);
    if (runs === undefined) {
      runs = [];
      this.lastRun.set(vm, runs);
    }
    runs[vcpu] = { cpu: thread.cpu, toUserspace };
    return line;
  }

  /**
   * What the other CPUs' schedulers print meanwhile: 49 260 `sched_switch` lines in that
   * capture, about three per guest entry beside those of the vCPU threads, most of them idle CPUs
   * running `rcu_sched` or a kworker for a moment.
   */
  private idleCpusSwitch(): void {
    const idle = this.current.flatMap((task, cpu) => (task.pid === 0 || kernelThreads(cpu).some((thread) => thread.pid === task.pid) ? [cpu] : []));
    if (idle.length === 0) return;
    for (let count = this.prng.int(0, 6); count > 0; count--) this.idle(this.prng.pick(idle));
  }

  /** A CPU without a vCPU: its idle task hands over to a kernel thread, or a kernel thread back to it (one line). */
  idle(cpu: number): void {
    const running = this.current[cpu] ?? swapper(cpu);
    this.switchTo(cpu, running.pid === 0 ? this.prng.pick(kernelThreads(cpu)) : swapper(cpu), running.pid === 0 ? 'R' : 'I');
  }

  /** `sched_switch` on `cpu` from whatever runs there to `next`; `state` is the previous task's. */
  private switchTo(cpu: number, next: Task, state: string): void {
    const prev = this.current[cpu] ?? swapper(cpu);
    const source = { task: prev.pid === 0 ? '<idle>' : prev.task, pid: prev.pid, tgid: prev.pid, cpu, irqsOff: true };
    const body = `prev_comm=${prev.task} prev_pid=${prev.pid} prev_prio=120 prev_state=${state} ==> next_comm=${next.task} next_pid=${next.pid} next_prio=120`;
    this.sink.event(source, 'sched_switch', body);
    this.current[cpu] = next;
  }
}

/** `struct kvm_vcpu *`: one allocation per vCPU, reused with its VM's slot. */
function vcpuPointer(vm: SimVm, vcpu: number): string {
  return `0x${(0xffff000020000000n + BigInt(vm.slot) * 0x10000n + BigInt(vcpu) * 0x2ba0n).toString(16)}`;
}

/**
 * The header of the captures' `trace` file: `print_trace_header()`'s entry counts with the CPU
 * count (`#P:4`, the only system fact in it: the VMID width and the trace clock are not named,
 * so `analyze` needs `--vmid-bits` and holds events for its skew search, as for a real capture),
 * then the column legend of `print_func_help_header_irq()`. `generated by:` says what no real
 * capture says, so that the file is never taken for one.
 */
export function capture61Header(shape: LineShape, cpus: number, entries: number, command: string): string[] {
  const lines = ['# tracer: nop', '#', `# entries-in-buffer/entries-written: ${entries}/${entries}   #P:${cpus}`, `# generated by: ${command}`, '#'];
  const pad = shape.tgid ? ' '.repeat(12) : '  ';
  const tgidHead = shape.tgid ? '     TGID   ' : '  ';
  const tgidBar = shape.tgid ? '       |    ' : '  ';
  if (shape.flags === 'none') {
    return [...lines, `#           TASK-PID  ${tgidHead} CPU#     TIMESTAMP  FUNCTION`, `#              | |    ${tgidBar}   |         |         |`];
  }
  const legend = ['  _-----=> irqs-off/BH-disabled', ' / _----=> need-resched', '| / _---=> hardirq/softirq', '|| / _--=> preempt-depth'];
  if (shape.flags === '5') legend.push('||| / _-=> migrate-disable', '|||| /     delay');
  else legend.push('||| /     delay');
  const bars = shape.flags === '5' ? '|||||' : '||||';
  return [
    ...lines,
    ...legend.map((text) => `#                            ${pad}${text}`),
    `#           TASK-PID  ${tgidHead} CPU#  ${bars}  TIMESTAMP  FUNCTION`,
    `#              | |    ${tgidBar}   |   ${bars}     |         |`,
  ];
}
