/**
 * One event, printed the way each line shape prints it. The shapes are the kernel's own
 * (`trace_print_context()` in kernel/trace/trace_output.c):
 *
 *   "%16s-%-7d " TASK-PID, then "(%7d) " with options/record-tgid, "[%03d] " CPU,
 *   the irq-info column ("d..1." since 5.x, "d..1" before migrate-disable, absent with
 *   options/irq-info off), "%5lu.%06lu: " timestamp, then "NAME: BODY".
 *
 *   qemu-system-aar-2016    [002] d.... 100.000123: vmid_pin: (kvm_arm_pinned_vmid_get+0x0/0x110) kvm_vmid=0x...
 *
 * Kernels before the PID column was widened print "%-5d" PIDs and "(%5d)" TGIDs.
 *
 * `trace-cmd report` (trace_show_data() in tracecmd/trace-read.c, libtraceevent's
 * print_event_time()) prints `cpus=N` first and no comment lines, then
 *
 *   "%16s-%-5d [%03d] %5llu.%06llu: NAME: " + (20 - strlen(NAME)) blanks + BODY        default
 *   "%8.8s-%-5d %3d" + latency flags + " %5llu.%06llu: ..."                            with -l
 *
 * (no TGID column), a kprobe's location as the raw address its print format holds ("(%lx)",
 * e.g. `(ffff800008a10000)`, `(ffff800008a1204c <- ffff800008a10000)` for a return probe), and
 * `CPU:2 [37 EVENTS DROPPED]` for lost events. Trace markers are `print` events; the facts the
 * ftrace shapes carry as `# vmid-replay:` comments are written as markers there.
 */
import type { LineShape } from './options.js';

/** A probed kernel function as the probe location prints it: `name+0xOFF/0xSIZE`. */
export interface KernelFunction {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  /** Where trace-cmd's raw `(%lx)` would put the function (a made-up but stable address). */
  readonly address: bigint;
}

export function kernelFunction(slot: number, name: string, offset: number, size: number): KernelFunction {
  return { name, offset, size, address: 0xffff800008a10000n + BigInt(slot) * 0x1000n };
}

/** The functions the generated probes sit on (sizes as in a 6.x arm64 build; not used by the analyzer). */
export const kfn = {
  vmidUpdate: kernelFunction(0, 'kvm_arm_vmid_update', 0x0, 0x1d0),
  vcpuLoad: kernelFunction(1, 'kvm_arch_vcpu_load', 0x4c, 0x1d4),
  clearActive: kernelFunction(2, 'kvm_arm_vmid_clear_active', 0x0, 0x34),
  pinGet: kernelFunction(3, 'kvm_arm_pinned_vmid_get', 0x0, 0x110),
  viommuAlloc: kernelFunction(4, 'iommufd_viommu_alloc', 0x88, 0x1f0),
  pinPut: kernelFunction(5, 'kvm_arm_pinned_vmid_put', 0x0, 0x90),
  initStage2: kernelFunction(6, 'kvm_init_stage2_mmu', 0x0, 0x1a0),
  freeStage2: kernelFunction(7, 'kvm_free_stage2_pgd', 0x0, 0xdc),
  tlbFlushVmid: kernelFunction(8, '__kvm_tlb_flush_vmid', 0x0, 0x64),
  tlbFlushIpa: kernelFunction(9, '__kvm_tlb_flush_vmid_ipa', 0x0, 0x7c),
  /** Inside `kvm_arm_vmid_update()`, right after the inlined `flush_context()`. */
  afterFlushContext: kernelFunction(0, 'kvm_arm_vmid_update', 0x11c, 0x1d0),
} as const;

/** Who printed a line. */
export interface LineSource {
  readonly task: string;
  readonly pid: number;
  readonly tgid: number;
  readonly cpu: number;
  /** Interrupts were off (a kprobe handler runs so): `d` in the irq-info column. */
  readonly irqsOff: boolean;
  /** A VMM or kernel-worker thread rather than a vCPU: work that no allocator probe orders. */
  readonly hostThread?: boolean;
  /** The irq-info column's preempt-depth (`d..1.`: the scheduler's own lines); none: `.`. */
  readonly preemptDepth?: number;
}

function hex(address: bigint): string {
  return address.toString(16);
}

export class LineFormatter {
  constructor(private readonly shape: LineShape) {}

  /** The location of an entry probe on `func`. */
  location(func: KernelFunction): string {
    if (this.shape.style === 'trace-cmd') return `(${hex(func.address + BigInt(func.offset))})`;
    return `(${func.name}+0x${func.offset.toString(16)}/0x${func.size.toString(16)})`;
  }

  /** The location of a return probe on `func`, which returned into `caller`. */
  returnLocation(caller: KernelFunction, func: KernelFunction): string {
    if (this.shape.style === 'trace-cmd') return `(${hex(caller.address + BigInt(caller.offset))} <- ${hex(func.address)})`;
    return `(${caller.name}+0x${caller.offset.toString(16)}/0x${caller.size.toString(16)} <- ${func.name})`;
  }

  event(source: LineSource, tsUs: number, name: string, body: string): string {
    const { shape } = this;
    const time = `${String(Math.floor(tsUs / 1_000_000)).padStart(5)}.${String(tsUs % 1_000_000).padStart(6, '0')}`;
    const depth = source.preemptDepth === undefined ? '.' : String(source.preemptDepth);
    const flags = shape.flags === 'none' ? '' : `${source.irqsOff ? 'd' : '.'}..${depth}${shape.flags === '5' ? '.' : ''}`;
    if (shape.style === 'trace-cmd') {
      const head =
        flags === ''
          ? `${source.task.padStart(16)}-${String(source.pid).padEnd(5)} [${String(source.cpu).padStart(3, '0')}]`
          : `${source.task.slice(0, 8).padStart(8)}-${String(source.pid).padEnd(5)} ${String(source.cpu).padStart(3)}${flags}`;
      return `${head} ${time}: ${name}: ${' '.repeat(Math.max(0, 20 - name.length))}${body}`;
    }
    let line = `${source.task.padStart(16)}-${String(source.pid).padEnd(shape.pidWidth)} `;
    if (shape.tgid) line += `(${String(source.tgid).padStart(shape.pidWidth)}) `;
    line += `[${String(source.cpu).padStart(3, '0')}] `;
    if (flags !== '') line += `${flags} `;
    return `${line}${time}: ${name}: ${body}`;
  }

  /** The ring buffer's marker for events it could not keep. */
  lost(cpu: number, count: number): string {
    return this.shape.style === 'trace-cmd' ? `CPU:${cpu} [${count} EVENTS DROPPED]` : `CPU:${cpu} [LOST ${count} EVENTS]`;
  }

  /**
   * The lines before the first event. ftrace: comments, the system facts among them. trace-cmd:
   * `cpus=N`, then the facts as trace-marker (`print`) events, stamped at the trace's start.
   */
  header(cpus: number, facts: readonly string[], command: string, startUs: number): string[] {
    const { shape } = this;
    if (shape.style === 'trace-cmd') {
      const marker = { task: 'trace-cmd', pid: 1000, tgid: 1000, cpu: 0, irqsOff: false };
      return [`cpus=${cpus}`, ...[...facts.map((fact) => `vmid-replay: ${fact}`), `generated by: ${command}`].map((text) => this.event(marker, startUs, 'print', `tracing_mark_write: ${text}`))];
    }
    // The column legend as print_event_info() and its irq-info variant print it.
    const bars = shape.flags === 'none' ? '' : shape.flags === '5' ? '|||||' : '||||';
    const legend = bars === '' ? ['CPU#     TIMESTAMP  FUNCTION', '  |         |         |'] : [`CPU#  ${bars}  TIMESTAMP  FUNCTION`, `  |   ${bars}     |         |`];
    return [
      '# tracer: nop',
      '#',
      ...facts.map((fact) => `# vmid-replay: ${fact}`),
      `# generated by: ${command}`,
      `#           TASK-PID    ${shape.tgid ? '   TGID   ' : ''} ${legend[0]}`,
      `#              | |      ${shape.tgid ? '     |    ' : ''} ${legend[1]}`,
    ];
  }
}
