/**
 * The dynamic events the capture script creates, as data: one probe set per kernel range,
 * each entry naming the kernel function it probes. Every definition here is one of those in
 * docs/trace-format.md ("Capturing a trace"); the tool recognises its lines by the event
 * names (`vmid_update`, `smmu_cmd`, ...), see `src/events/decode.ts`.
 *
 * An event may have several alternatives, tried in order: the BTF form (fprobe with argument
 * names) first where the range supports it, the register form (kprobe) after it. The script
 * keeps the alternatives whose function is in kallsyms and whose run-time requirements hold,
 * and falls back to the next one when the kernel rejects a definition.
 */
import { formatVersion, inInterval, kernel, type KernelVersion, type VersionInterval } from './kernelVersion.js';

export type CaptureEventName =
  | 'vm_create'
  | 'vm_destroy'
  | 'vmid_update'
  | 'vmid_update_ret'
  | 'vmid_clear_active'
  | 'vmid_pin'
  | 'vmid_pin_ret'
  | 'vmid_unpin'
  | 'smmu_cmd'
  | 'smmu_ste'
  | 'cpu_tlbi_vmid'
  | 'cpu_tlbi_ipa'
  | 'cpu_tlbi_all';

/**
 * What the host must offer, checked by the script at run time (the kernel version is
 * already settled by the choice of probe set):
 * - `fprobe`: fprobe events (`f[:[<group>/][<event>]] <func-name>` in tracefs README, i.e.
 *   CONFIG_FPROBE_EVENTS), kernel BTF (`/sys/kernel/btf/vmlinux`), and the function in
 *   `available_filter_functions`;
 * - `btf-fields`: struct member access in BTF arguments (`<argname>[->field...]` in README);
 * - `hw-mmu-offset`: `VCPU_HW_MMU_OFFSET` given (offset of `vcpu->arch.hw_mmu`, build-specific);
 * - `vhe`: KVM not known to run in nVHE or protected mode (EL2 code is not probeable there);
 * - `pin-v2`: `VARIANT` is not `rfc-v3` (whose pin functions take a `struct kvm *`).
 */
export type Requirement = 'fprobe' | 'btf-fields' | 'hw-mmu-offset' | 'vhe' | 'pin-v2';

export interface ProbeAlternative {
  /** The kernel function that must be in kallsyms (exact name, not a `.isra.0` clone). */
  readonly func: string;
  readonly requires: readonly Requirement[];
  /** The tracefs definition; `{hw_mmu}` is replaced with `VCPU_HW_MMU_OFFSET`. */
  readonly definition: string;
}

export interface ProbeSpec {
  readonly event: CaptureEventName;
  /** The kernel source this mirrors: function, signature, file. */
  readonly cites: string;
  readonly alternatives: readonly ProbeAlternative[];
}

export interface ProbeSet {
  /** Shell-safe id once dots become underscores: `6.6.59` gives `probes_6_6_59`. */
  readonly id: string;
  readonly label: string;
  readonly intervals: readonly VersionInterval[];
  /** What distinguishes this range from the one before it. */
  readonly why: string;
  readonly probes: readonly ProbeSpec[];
}

const kp = (func: string, definition: string, requires: readonly Requirement[] = []): ProbeAlternative => ({ func, requires, definition });

// --- Allocator: arch/arm64/kvm/vmid.c and its callers (arch/arm64/kvm/arm.c, mmu.c) ---

const vmCreate = (btf: boolean): ProbeSpec => ({
  event: 'vm_create',
  cites: 'int kvm_init_stage2_mmu(struct kvm *kvm, struct kvm_s2_mmu *mmu, ...), arch/arm64/kvm/mmu.c; mmu->vmid is the VM pointer',
  alternatives: [
    ...(btf ? [kp('kvm_init_stage2_mmu', 'f:vmid/vm_create kvm_init_stage2_mmu mmu=mmu', ['fprobe'])] : []),
    kp('kvm_init_stage2_mmu', 'p:vmid/vm_create kvm_init_stage2_mmu kvm=%x0 mmu=%x1'),
  ],
});

const vmDestroy = (fields: boolean): ProbeSpec => ({
  event: 'vm_destroy',
  cites: 'void kvm_free_stage2_pgd(struct kvm_s2_mmu *mmu), arch/arm64/kvm/mmu.c; struct kvm_s2_mmu starts with struct kvm_vmid vmid',
  alternatives: [
    ...(fields ? [kp('kvm_free_stage2_pgd', 'f:vmid/vm_destroy kvm_free_stage2_pgd mmu=mmu id=mmu->vmid.id.counter:u64', ['fprobe', 'btf-fields'])] : []),
    kp('kvm_free_stage2_pgd', 'p:vmid/vm_destroy kvm_free_stage2_pgd mmu=%x0 id=+0(%x0):u64'),
  ],
});

const vmidUpdate = (fields: boolean): ProbeSpec => ({
  event: 'vmid_update',
  cites: 'kvm_arm_vmid_update(struct kvm_vmid *kvm_vmid), arch/arm64/kvm/vmid.c (void; bool from 6.7 until fa808ed4e199)',
  alternatives: [
    ...(fields ? [kp('kvm_arm_vmid_update', 'f:vmid/vmid_update kvm_arm_vmid_update kvm_vmid=kvm_vmid id=kvm_vmid->id.counter:u64', ['fprobe', 'btf-fields'])] : []),
    kp('kvm_arm_vmid_update', 'p:vmid/vmid_update kvm_arm_vmid_update kvm_vmid=%x0 id=+0(%x0):u64'),
  ],
});

/**
 * Before `$argN` works in return probes, the id after an update is read at the next call of
 * the KVM_RUN loop, `kvm_pmu_flush_hwstate(vcpu)`: right only while the update is in that loop
 * (before 6.12.18 / 6.13.6 / 6.14), and only where KVM's PMU emulation is built.
 */
const updateReturnViaPmu = (fields: boolean): ProbeSpec => ({
  event: 'vmid_update_ret',
  cites: 'kvm_arch_vcpu_ioctl_run(), arch/arm64/kvm/arm.c: kvm_arm_vmid_update() is followed by kvm_pmu_flush_hwstate(vcpu) (include/kvm/arm_pmu.h)',
  alternatives: [
    ...(fields ? [kp('kvm_pmu_flush_hwstate', 'f:vmid/vmid_update_ret kvm_pmu_flush_hwstate mmu=vcpu->arch.hw_mmu id=vcpu->arch.hw_mmu->vmid.id.counter:u64', ['fprobe', 'btf-fields'])] : []),
    kp('kvm_pmu_flush_hwstate', 'p:vmid/vmid_update_ret kvm_pmu_flush_hwstate vcpu=%x0 mmu=+{hw_mmu}(%x0):x64 id=+0(+{hw_mmu}(%x0)):u64', ['hw-mmu-offset']),
  ],
});

/** "tracing/probes: Support $argN in return probe (kprobe and fprobe)": 6.9, 6.6.59. */
const updateReturnViaRetprobe: ProbeSpec = {
  event: 'vmid_update_ret',
  cites: 'return of kvm_arm_vmid_update(), arch/arm64/kvm/vmid.c, read with $argN at return (6.9, backported to 6.6.59)',
  alternatives: [
    kp('kvm_arm_vmid_update', 'f:vmid/vmid_update_ret kvm_arm_vmid_update%return kvm_vmid=kvm_vmid id=kvm_vmid->id.counter:u64', ['fprobe', 'btf-fields']),
    kp('kvm_arm_vmid_update', 'r:vmid/vmid_update_ret kvm_arm_vmid_update kvm_vmid=$arg1 id=+0($arg1):u64'),
  ],
};

const clearActive: ProbeSpec = {
  event: 'vmid_clear_active',
  cites: 'void kvm_arm_vmid_clear_active(void), arch/arm64/kvm/vmid.c, called at the end of kvm_arch_vcpu_put()',
  alternatives: [kp('kvm_arm_vmid_clear_active', 'p:vmid/vmid_clear_active kvm_arm_vmid_clear_active')],
};

// --- RFC v2 pinned VMIDs (20240208151837.35068-1-shameerali.kolothum.thodi@huawei.com) ---

const pinGet: ProbeSpec = {
  event: 'vmid_pin',
  cites: 'unsigned long kvm_arm_pinned_vmid_get(struct kvm_vmid *kvm_vmid), RFC v2 arch/arm64/kvm/vmid.c',
  alternatives: [kp('kvm_arm_pinned_vmid_get', 'p:vmid/vmid_pin kvm_arm_pinned_vmid_get kvm_vmid=%x0 id=+0(%x0):u64', ['pin-v2'])],
};

const pinGetReturn = (argsAtReturn: boolean): ProbeSpec => ({
  event: 'vmid_pin_ret',
  cites: 'return of kvm_arm_pinned_vmid_get(): the index, or 0 when nr_pinned_vmids >= max_pinned_vmids (RFC v2)',
  alternatives: [
    argsAtReturn
      ? kp('kvm_arm_pinned_vmid_get', 'r:vmid/vmid_pin_ret kvm_arm_pinned_vmid_get kvm_vmid=$arg1 ret=$retval:s64', ['pin-v2'])
      : // Without $argN at return the line names no VM; the replay pairs it with the pending pin.
        kp('kvm_arm_pinned_vmid_get', 'r:vmid/vmid_pin_ret kvm_arm_pinned_vmid_get ret=$retval:s64', ['pin-v2']),
  ],
});

const pinPut: ProbeSpec = {
  event: 'vmid_unpin',
  cites: 'void kvm_arm_pinned_vmid_put(struct kvm_vmid *kvm_vmid), RFC v2 arch/arm64/kvm/vmid.c',
  alternatives: [kp('kvm_arm_pinned_vmid_put', 'p:vmid/vmid_unpin kvm_arm_pinned_vmid_put kvm_vmid=%x0', ['pin-v2'])],
};

// --- SMMUv3: drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c ---

/** An array fetch holds fewer than 64 elements; 16 dwords are 8 commands, longer lists decode as truncated. */
const smmuCmdBefore612: ProbeSpec = {
  event: 'smmu_cmd',
  cites: 'arm_smmu_cmdq_issue_cmdlist(struct arm_smmu_device *smmu, u64 *cmds, int n, bool sync), before 6.12',
  alternatives: [kp('arm_smmu_cmdq_issue_cmdlist', 'p:vmid/smmu_cmd arm_smmu_cmdq_issue_cmdlist smmu=%x0 cmds=+0(%x1):x64[16] n=%x2:s32 sync=%x3:u8')],
};

/** 56ae8866f3b4 ("iommu/arm-smmu-v3: Issue a batch of commands to the same cmdq"), 6.12. */
const smmuCmdSince612: ProbeSpec = {
  event: 'smmu_cmd',
  cites: 'arm_smmu_cmdq_issue_cmdlist(struct arm_smmu_device *smmu, struct arm_smmu_cmdq *cmdq, u64 *cmds, int n, bool sync), 6.12 (56ae8866f3b4)',
  alternatives: [kp('arm_smmu_cmdq_issue_cmdlist', 'p:vmid/smmu_cmd arm_smmu_cmdq_issue_cmdlist smmu=%x0 cmds=+0(%x2):x64[16] n=%x3:s32 sync=%x4:u8')],
};

/** 7da51af9125c ("Make STE programming independent of the callers"), 6.9; `master->smmu` is the first member. */
const smmuSte: ProbeSpec = {
  event: 'smmu_ste',
  cites: 'arm_smmu_write_ste(struct arm_smmu_master *master, u32 sid, struct arm_smmu_ste *ste, const struct arm_smmu_ste *target), 6.9 (7da51af9125c)',
  alternatives: [kp('arm_smmu_write_ste', 'p:vmid/smmu_ste arm_smmu_write_ste smmu=+0(%x0):x64 sid=%x1:u32 ste0=+0(%x3):x64 ste2=+16(%x3):x64')],
};

// --- CPU broadcast TLBIs: arch/arm64/kvm/hyp/vhe/tlb.c, ordinary kernel functions under VHE only ---

const cpuTlbi: readonly ProbeSpec[] = [
  {
    event: 'cpu_tlbi_vmid',
    cites: 'void __kvm_tlb_flush_vmid(struct kvm_s2_mmu *mmu), arch/arm64/kvm/hyp/vhe/tlb.c (TLBI VMALLS12E1IS)',
    alternatives: [kp('__kvm_tlb_flush_vmid', 'p:vmid/cpu_tlbi_vmid __kvm_tlb_flush_vmid mmu=%x0 id=+0(%x0):u64', ['vhe'])],
  },
  {
    event: 'cpu_tlbi_ipa',
    cites: 'void __kvm_tlb_flush_vmid_ipa(struct kvm_s2_mmu *mmu, phys_addr_t ipa, int level), arch/arm64/kvm/hyp/vhe/tlb.c (TLBI IPAS2E1IS)',
    alternatives: [kp('__kvm_tlb_flush_vmid_ipa', 'p:vmid/cpu_tlbi_ipa __kvm_tlb_flush_vmid_ipa mmu=%x0 id=+0(%x0):u64 ipa=%x1 level=%x2:s32', ['vhe'])],
  },
  {
    event: 'cpu_tlbi_all',
    cites: 'void __kvm_flush_vm_context(void), arch/arm64/kvm/hyp/vhe/tlb.c (TLBI ALLE1IS, issued by flush_context() at a rollover)',
    alternatives: [kp('__kvm_flush_vm_context', 'p:vmid/cpu_tlbi_all __kvm_flush_vm_context', ['vhe'])],
  },
];

interface RangeFeatures {
  /** fprobe events with BTF argument names (6.5). */
  readonly btfArgs: boolean;
  /** Struct member access in BTF arguments (6.6). */
  readonly btfFields: boolean;
  /** `$argN` in return probes (6.9; 6.6.59 in 6.6.y). */
  readonly argsAtReturn: boolean;
  readonly steWrites: boolean;
  readonly cmdqArgument: boolean;
}

function probesFor(features: RangeFeatures): ProbeSpec[] {
  return [
    vmCreate(features.btfArgs),
    vmDestroy(features.btfFields),
    vmidUpdate(features.btfFields),
    features.argsAtReturn ? updateReturnViaRetprobe : updateReturnViaPmu(features.btfFields),
    clearActive,
    pinGet,
    pinGetReturn(features.argsAtReturn),
    pinPut,
    features.cmdqArgument ? smmuCmdSince612 : smmuCmdBefore612,
    ...(features.steWrites ? [smmuSte] : []),
    ...cpuTlbi,
  ];
}

/** Ordered oldest first; every supported kernel falls in exactly one set. */
export const probeSets: readonly ProbeSet[] = [
  {
    id: '5.18',
    label: '5.18 to 6.4',
    intervals: [{ from: kernel(5, 18), until: kernel(6, 5) }],
    why: 'vmid.c (5.18); kprobes with register fetches only; no STE-write function',
    probes: probesFor({ btfArgs: false, btfFields: false, argsAtReturn: false, steWrites: false, cmdqArgument: false }),
  },
  {
    id: '6.5',
    label: '6.5',
    intervals: [{ from: kernel(6, 5), until: kernel(6, 6) }],
    why: 'fprobe events with BTF argument names',
    probes: probesFor({ btfArgs: true, btfFields: false, argsAtReturn: false, steWrites: false, cmdqArgument: false }),
  },
  {
    id: '6.6',
    label: '6.6.0 to 6.6.58, 6.7 to 6.8',
    intervals: [
      { from: kernel(6, 6), until: kernel(6, 6, 59) },
      { from: kernel(6, 7), until: kernel(6, 9) },
    ],
    why: 'struct member access in BTF arguments',
    probes: probesFor({ btfArgs: true, btfFields: true, argsAtReturn: false, steWrites: false, cmdqArgument: false }),
  },
  {
    id: '6.6.59',
    label: '6.6.59 and later 6.6.y',
    intervals: [{ from: kernel(6, 6, 59), until: kernel(6, 7) }],
    why: '$argN in return probes, backported to 6.6.59',
    probes: probesFor({ btfArgs: true, btfFields: true, argsAtReturn: true, steWrites: false, cmdqArgument: false }),
  },
  {
    id: '6.9',
    label: '6.9 to 6.11',
    intervals: [{ from: kernel(6, 9), until: kernel(6, 12) }],
    why: '$argN in return probes; arm_smmu_write_ste() (STE rework)',
    probes: probesFor({ btfArgs: true, btfFields: true, argsAtReturn: true, steWrites: true, cmdqArgument: false }),
  },
  {
    id: '6.12',
    label: '6.12 and later',
    intervals: [{ from: kernel(6, 12) }],
    why: 'arm_smmu_cmdq_issue_cmdlist() takes the cmdq as its second argument',
    probes: probesFor({ btfArgs: true, btfFields: true, argsAtReturn: true, steWrites: true, cmdqArgument: true }),
  },
];

/** Why a set has no definition for an event (the script reports the event as missing). */
export const absentReasons: Partial<Record<CaptureEventName, string>> = {
  smmu_ste: 'no STE-write function before 6.9: arm_smmu_write_strtab_ent() computes the entry inside, so an entry probe sees the old one',
};

/** Every event a set may define, in the order the script creates them. */
export const captureEvents: readonly CaptureEventName[] = [
  'vm_create',
  'vm_destroy',
  'vmid_update',
  'vmid_update_ret',
  'vmid_clear_active',
  'vmid_pin',
  'vmid_pin_ret',
  'vmid_unpin',
  'smmu_cmd',
  'smmu_ste',
  'cpu_tlbi_vmid',
  'cpu_tlbi_ipa',
  'cpu_tlbi_all',
];

/** The oldest kernel with `arch/arm64/kvm/vmid.c`; earlier allocators are not modelled. */
export const oldestSupportedKernel = kernel(5, 18);

/**
 * Kernels where `kvm_arm_vmid_update()` runs in `kvm_arch_vcpu_load()`: fa808ed4e199 ("KVM:
 * arm64: Ensure a VMID is allocated before programming VTTBR_EL2"), 6.14-rc, 6.13.6, 6.12.18.
 * Elsewhere it runs in the KVM_RUN loop. Recorded in the header; the probes are the same.
 */
export const updateInVcpuLoad: readonly VersionInterval[] = [
  { from: kernel(6, 12, 18), until: kernel(6, 13) },
  { from: kernel(6, 13, 6) },
];

/**
 * The one-shot probe that reads `kvm_arm_vmid_bits` (a global in vmid.c, in kallsyms with
 * CONFIG_KALLSYMS_ALL): fired once by running `uname`, read back from `trace`, removed. Named
 * `vmid_config` so that its line, `vmid_config: (...) vmid_bits=8`, is a system fact too.
 */
export const vmidBitsProbe = {
  event: 'vmid_config',
  symbol: 'kvm_arm_vmid_bits',
  trigger: '__arm64_sys_newuname',
  definition: 'p:vmid/vmid_config __arm64_sys_newuname vmid_bits=@kvm_arm_vmid_bits:u32',
} as const;

/**
 * Existing tracepoints worth having beside the probes: rare, and they tell a reviewer which
 * device moved between domains (around STE writes) and which device faulted. The tool counts
 * them as unused. `kvm:kvm_entry`/`kvm:kvm_exit` are left out: they fire on every guest entry
 * and exit, outnumber the VMID events by orders of magnitude and are what makes a buffer
 * overflow, and a loss makes the findings after it inconclusive. `EXTRA_EVENTS` adds them.
 */
export const contextTracepoints: readonly string[] = ['iommu:attach_device_to_domain', 'iommu:io_page_fault'];

export interface Capability {
  readonly id: string;
  readonly events: readonly CaptureEventName[];
  /** `all`: unavailable when every event is missing; `any`: when one is. */
  readonly when: 'all' | 'any';
  /** Skip this one when that capability is already reported unavailable. */
  readonly coveredBy?: string;
  readonly message: string;
}

/** What the replay loses when events are missing, in the order the script reports it. */
export const capabilities: readonly Capability[] = [
  {
    id: 'update-return',
    events: ['vmid_update_ret'],
    when: 'any',
    message: 'return points of kvm_arm_vmid_update(): the replay orders allocator calls by their entry (entry mode), and racing slow paths show as entry-race diagnostics',
  },
  {
    id: 'vcpu-put',
    events: ['vmid_clear_active'],
    when: 'any',
    message: 'vCPU puts (kvm_arm_vmid_clear_active): the model keeps every CPU active, so rollovers reserve the wrong VMIDs and model-divergence findings are unreliable',
  },
  {
    id: 'vm-lifetime',
    events: ['vm_create', 'vm_destroy'],
    when: 'any',
    message: 'VM lifetimes: a freed and reused struct kvm_vmid pointer is taken for the same VM, and pin-leaked cannot see a VM destroyed while pinned',
  },
  {
    id: 'pins',
    events: ['vmid_pin', 'vmid_pin_ret', 'vmid_unpin'],
    when: 'any',
    message: 'pin checks (pin-exhausted, pin-leaked, pin-released-while-bound, vm-two-vmids): no pinned-VMID calls are recorded',
  },
  {
    id: 'smmu',
    events: ['smmu_cmd', 'smmu_ste'],
    when: 'all',
    message: 'SMMU checks (ste-vmid-zero, vmid-changed-under-bound-ste, vmid-reuse-without-invalidation, ste-switch-without-invalidation, pin-released-while-bound, vmid-width-mismatch): no SMMUv3 events are recorded',
  },
  {
    id: 'smmu-cmd',
    events: ['smmu_cmd'],
    when: 'any',
    coveredBy: 'smmu',
    message: 'SMMU invalidations: vmid-reuse-without-invalidation and ste-switch-without-invalidation cannot see them, so their findings are not to be trusted',
  },
  {
    id: 'smmu-ste',
    events: ['smmu_ste'],
    when: 'any',
    coveredBy: 'smmu',
    message: 'STE checks (ste-vmid-zero, vmid-changed-under-bound-ste, ste-switch-without-invalidation, pin-released-while-bound, vmid-width-mismatch): no STE writes are recorded',
  },
  {
    id: 'cpu-tlbi',
    events: ['cpu_tlbi_vmid', 'cpu_tlbi_ipa', 'cpu_tlbi_all'],
    when: 'any',
    message: 'CPU broadcast TLBIs: with BTM on, an SMMU VMID cleaned by a CPU TLBI looks uncleaned (the rollover TLBI ALLE1IS is still applied by the model)',
  },
];

/** Why a kernel version cannot be given to `--kernel`, or undefined when it can. */
export function unsupportedKernel(version: KernelVersion): string | undefined {
  if (probeSets.some((set) => set.intervals.some((interval) => inInterval(version, interval)))) return undefined;
  return `kernel ${formatVersion(version)} is older than ${formatVersion(oldestSupportedKernel)}, the first with arch/arm64/kvm/vmid.c; its VMID allocator is not modelled`;
}
