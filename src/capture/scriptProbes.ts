/**
 * The generated part of the capture script: the probe sets as shell functions of `plan`
 * calls, the choice of set by kernel version, the call site of the update, and what each
 * missing event costs (`assess`). Everything here comes from `probeSets.ts`.
 */
import { formatVersion, inInterval, versionCode, type KernelVersion, type VersionInterval } from './kernelVersion.js';
import { absentReasons, capabilities, captureEvents, contextTracepoints, oldestSupportedKernel, updateInVcpuLoad, vmidBitsProbe, type ProbeSet } from './probeSets.js';
import { shellId, shellQuote } from './shellText.js';

/** A shell condition true when `$KCODE` lies in one of the intervals. */
function versionCondition(intervals: readonly VersionInterval[], variable = 'KCODE'): string {
  const parts = intervals.map((interval) => {
    const from = `[ "$${variable}" -ge ${versionCode(interval.from)} ]`;
    return interval.until === undefined ? from : `{ ${from} && [ "$${variable}" -lt ${versionCode(interval.until)} ]; }`;
  });
  return parts.join(' || ');
}

function renderProbeSet(set: ProbeSet): string {
  const lines = [`# Kernels ${set.label}: ${set.why}.`, `probes_${shellId(set.id)}() {`];
  for (const event of captureEvents) {
    if (set.probes.some((probe) => probe.event === event)) continue;
    const reason = absentReasons[event];
    if (reason === undefined) throw new Error(`probe set ${set.id} has no ${event} and no reason why`);
    lines.push(`  mark_missing ${event} ${shellQuote(reason)}`);
  }
  for (const probe of set.probes) {
    lines.push(`  # ${probe.cites}`);
    const alternatives = probe.alternatives.map((alt) => `    ${shellQuote(alt.requires.join(' '))} ${alt.func} ${shellQuote(alt.definition)}`);
    lines.push(`  plan ${probe.event} \\`, `${alternatives.join(' \\\n')}`);
  }
  lines.push('}');
  return lines.join('\n');
}

function setInfo(set: ProbeSet): string {
  return `PROBE_SET=${set.id}; PROBE_SET_LABEL=${shellQuote(set.label)}; PROBE_SET_WHY=${shellQuote(set.why)}`;
}

/** Detection by `uname -r` at run time, over every set. */
function renderDetectingSelection(sets: readonly ProbeSet[]): string {
  const oldest = sets[0];
  if (oldest === undefined) throw new Error('no probe sets');
  const branches = sets.map((set, i) => `  ${i === 0 ? 'if' : 'elif'} ${versionCondition(set.intervals)}; then\n    ${setInfo(set)}`);
  return `select_probe_set() {
  KERNEL_NOTE=""
  KCODE=$(kernel_code "$UNAME_R") || refuse "cannot read a kernel version in '$UNAME_R'; set UNAME_R=X.Y.Z"
${branches.join('\n')}
  else
    # Older than ${formatVersion(oldestSupportedKernel)}: only a backport has kvm_arm_vmid_update, so take the oldest set.
    ${setInfo(oldest)}
    KERNEL_NOTE="; $UNAME_R predates ${formatVersion(oldestSupportedKernel)}, so the oldest set is used (set UNAME_R to choose another)"
  fi
}`;
}

/** `--kernel`: one set, chosen when the script was generated; the running kernel is only compared. */
function renderFixedSelection(set: ProbeSet, version: KernelVersion): string {
  return `select_probe_set() {
  ${setInfo(set)}
  KCODE=${versionCode(version)}
  KERNEL_NOTE="; probes chosen for ${formatVersion(version)} (--kernel)"
  RUNNING=$(kernel_code "$UNAME_R") || RUNNING=0
  if ! { ${versionCondition(set.intervals, 'RUNNING')}; }; then
    say "warning: this script carries the probes for ${formatVersion(version)} (kernels ${set.label}) and this host runs $UNAME_R: they are used anyway"
    KERNEL_NOTE="; probes chosen for ${formatVersion(version)} (--kernel), not for the running kernel"
  fi
}`;
}

function renderCallSite(): string {
  return `call_site() {
  if ${versionCondition(updateInVcpuLoad)}; then
    CALL_SITE="kvm_arch_vcpu_load() (fa808ed4e199)"
  else
    CALL_SITE="kvm_arch_vcpu_ioctl_run() (the KVM_RUN loop)"
  fi
}`;
}

function renderAssess(): string {
  const lines = ['assess() {', `  printf '' > "$WORK/unavailable"`, `  printf '' > "$WORK/unavailable.ids"`];
  for (const capability of capabilities) {
    const test = capability.when === 'all' ? 'missing_all' : 'missing_any';
    const covered = capability.coveredBy === undefined ? '' : ` && ! is_unavailable ${capability.coveredBy}`;
    const events = capability.events.join(' ');
    lines.push(`  if ${test} ${events}${covered}; then unavailable ${capability.id} ${shellQuote(capability.message)} ${events}; fi`);
  }
  lines.push('}');
  return lines.join('\n');
}

/** Every kernel symbol the script looks up in kallsyms. */
function probeFunctions(sets: readonly ProbeSet[]): string[] {
  const names = new Set<string>([vmidBitsProbe.symbol, vmidBitsProbe.trigger]);
  for (const set of sets) for (const probe of set.probes) for (const alt of probe.alternatives) names.add(alt.func);
  return [...names].sort();
}

export function renderProbePart(sets: readonly ProbeSet[], fixed: KernelVersion | undefined): string {
  const fixedSet = fixed === undefined ? undefined : sets.find((set) => set.intervals.some((interval) => inInterval(fixed, interval)));
  if (fixed !== undefined && fixedSet === undefined) throw new Error(`no probe set for ${formatVersion(fixed)}`);
  const emitted = fixedSet === undefined ? sets : [fixedSet];
  const dispatch = emitted.map((set) => `    ${set.id}) probes_${shellId(set.id)} ;;`).join('\n');
  return [
    `PROBE_FUNCTIONS=${shellQuote(probeFunctions(emitted).join(' '))}`,
    `VMID_BITS_DEFINITION=${shellQuote(vmidBitsProbe.definition)}`,
    `CONTEXT_TRACEPOINTS=${shellQuote(contextTracepoints.join(' '))}`,
    '',
    ...emitted.map(renderProbeSet).flatMap((text) => [text, '']),
    fixed === undefined || fixedSet === undefined ? renderDetectingSelection(sets) : renderFixedSelection(fixedSet, fixed),
    '',
    renderCallSite(),
    '',
    `plan_probes() {
  call_site
  case $PROBE_SET in
${dispatch}
  esac
}`,
    '',
    renderAssess(),
    '',
  ].join('\n');
}
