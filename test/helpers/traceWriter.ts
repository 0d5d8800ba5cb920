/**
 * Writes ftrace text lines in the documented format (docs/trace-format.md), for tests and
 * bundled traces. Timestamps advance by one microsecond per line unless given.
 */

export interface LineOptions {
  readonly cpu: number;
  readonly task?: string;
  readonly pid?: number;
}

export class TraceWriter {
  private readonly lines: string[] = [];
  private tsUs = 1_000_000;

  header(fields: string): this {
    this.lines.push(`# vmid-replay: ${fields}`);
    return this;
  }

  /** Lets `us` microseconds pass before the next line (beyond its usual one). */
  wait(us: number): this {
    this.tsUs += us;
    return this;
  }

  raw(line: string): this {
    this.lines.push(line);
    return this;
  }

  event(name: string, body: string, options: LineOptions): this {
    this.tsUs += 1;
    const secs = Math.floor(this.tsUs / 1_000_000);
    const usecs = String(this.tsUs % 1_000_000).padStart(6, '0');
    const task = `${options.task ?? `CPU ${options.cpu}/KVM`}-${options.pid ?? 4000 + options.cpu}`;
    const cpu = String(options.cpu).padStart(3, '0');
    this.lines.push(`${task.padStart(22)} [${cpu}] d..1. ${String(secs).padStart(5)}.${usecs}: ${name}: ${body}`);
    return this;
  }

  vmCreate(vm: string, cpu = 0): this {
    return this.event('vm_create', `(kvm_init_stage2_mmu+0x0/0x1a0) mmu=${vm}`, { cpu, task: 'qemu-system-aar', pid: 4711 });
  }
  vmDestroy(vm: string, id?: number, cpu = 0): this {
    return this.event('vm_destroy', `(kvm_free_stage2_pgd+0x0/0xdc) mmu=${vm}${id === undefined ? '' : ` id=${id}`}`, { cpu, task: 'qemu-system-aar', pid: 4711 });
  }
  update(vm: string, cpu: number, idBefore?: number): this {
    return this.event('vmid_update', `(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=${vm}${idBefore === undefined ? '' : ` id=${idBefore}`}`, { cpu });
  }
  updateReturn(vm: string, cpu: number, idAfter?: number): this {
    return this.event('vmid_update_ret', `(kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=${vm}${idAfter === undefined ? '' : ` id=${idAfter}`}`, { cpu });
  }
  load(vm: string, cpu: number, idBefore?: number, idAfter?: number): this {
    return this.update(vm, cpu, idBefore).updateReturn(vm, cpu, idAfter);
  }
  put(cpu: number): this {
    return this.event('vmid_clear_active', '(kvm_arm_vmid_clear_active+0x0/0x34)', { cpu });
  }
  pin(vm: string, ret?: number, cpu = 0): this {
    this.event('vmid_pin', `(kvm_arm_pinned_vmid_get+0x0/0x110) kvm_vmid=${vm}`, { cpu, task: 'qemu-system-aar', pid: 4711 });
    return this.event('vmid_pin_ret', `(iommufd_viommu_alloc+0x88/0x1f0 <- kvm_arm_pinned_vmid_get) kvm_vmid=${vm}${ret === undefined ? '' : ` ret=${ret}`}`, {
      cpu,
      task: 'qemu-system-aar',
      pid: 4711,
    });
  }
  unpin(vm: string, cpu = 0): this {
    return this.event('vmid_unpin', `(kvm_arm_pinned_vmid_put+0x0/0x90) kvm_vmid=${vm}`, { cpu, task: 'qemu-system-aar', pid: 4711 });
  }
  ste(smmu: string, sid: number, cfg: string, s2vmid: number, vm?: string, cpu = 0): this {
    return this.event('smmu_ste', `smmu=${smmu} sid=${sid} cfg=${cfg} s2vmid=${s2vmid}${vm === undefined ? '' : ` vm=${vm}`}`, { cpu, task: 'qemu-system-aar', pid: 4711 });
  }
  cmd(smmu: string, fields: string, cpu = 0): this {
    return this.event('smmu_cmd', `smmu=${smmu} ${fields}`, { cpu, task: 'qemu-system-aar', pid: 4711 });
  }
  smmuVmid(kind: 'alloc' | 'free', smmu: string, vmid: number, cpu = 0): this {
    return this.event(`smmu_vmid_${kind}`, `smmu=${smmu} vmid=${vmid}`, { cpu, task: 'qemu-system-aar', pid: 4711 });
  }

  /** `__kvm_tlb_flush_vmid()`: TLBI VMALLS12E1IS by VMID index (a BTM SMMU obeys it too). */
  tlbiVmid(vmid: number, vm?: string, cpu = 0): this {
    return this.event('cpu_tlbi_vmid', `(__kvm_tlb_flush_vmid+0x0/0x64)${vm === undefined ? '' : ` mmu=${vm}`} vmid=${vmid}`, { cpu });
  }
  /** `__kvm_tlb_flush_vmid_ipa()`: TLBI IPAS2E1IS, one IPA of one VMID. */
  tlbiIpa(vmid: number, ipa: bigint, vm?: string, cpu = 0): this {
    return this.event('cpu_tlbi_ipa', `(__kvm_tlb_flush_vmid_ipa+0x0/0x7c)${vm === undefined ? '' : ` mmu=${vm}`} vmid=${vmid} ipa=0x${ipa.toString(16)}`, { cpu });
  }
  /** `__kvm_flush_vm_context()`: TLBI ALLE1IS. */
  tlbiAll(cpu = 0): this {
    return this.event('cpu_tlbi_all', '(__kvm_flush_vm_context+0x0/0x38)', { cpu });
  }
  /** The ring buffer's lost-events marker: `CPU:0 [LOST 5 EVENTS]`. */
  lost(cpu: number, count: number): this {
    return this.raw(`CPU:${cpu} [LOST ${count} EVENTS]`);
  }

  lineCount(): number {
    return this.lines.length;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** A VM pointer for test VM number `n`: distinct, kernel-looking, 8-byte aligned. */
export function vmPointer(n: number): string {
  return `0xffff0000${(0x10000000 + n * 0x1000).toString(16)}`;
}
