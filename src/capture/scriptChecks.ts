/**
 * Shell functions of the capture script that look at the host without changing it:
 * settings, tracefs, kallsyms, kernel version arithmetic, KVM mode, CPUs, SMMUs, probe
 * features, and the planning of definitions (`plan`, `assess`).
 */
import { sh } from './shellText.js';

export const checkFunctions = sh`
# Messages go to fd 3, a copy of the original stderr made by main: a trap can run while a
# command's stderr is sent to /dev/null, and its messages must still be seen.
say() { printf 'vmid-capture: %s\n' "$*" >&3; }
die() { say "error: $*"; exit 1; }
refuse() { say "refusing to run: $*"; exit 2; }

# tw VALUE FILE is "echo VALUE > FILE", ta VALUE FILE is "echo VALUE >> FILE". Definitions
# are always appended: a truncating write to kprobe_events or dynamic_events deletes every
# dynamic event on the system.
tw() {
  if [ "$VERBOSE" = 1 ]; then say "+ echo '$1' > \${2#"$TRACEFS"/}"; fi
  { printf '%s\n' "$1" > "$2"; } 2>/dev/null
}
ta() {
  if [ "$VERBOSE" = 1 ]; then say "+ echo '$1' >> \${2#"$TRACEFS"/}"; fi
  { printf '%s\n' "$1" >> "$2"; } 2>/dev/null
}
rd() { cat "$1" 2>/dev/null; }

is_count() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }

check_settings() {
  is_count "$DURATION" || refuse "DURATION must be a number of seconds, not '$DURATION'"
  is_count "$DRAIN_SECONDS" || refuse "DRAIN_SECONDS must be a number of seconds, not '$DRAIN_SECONDS'"
  [ -z "$BUFFER_KB" ] || is_count "$BUFFER_KB" || refuse "BUFFER_KB must be a number, not '$BUFFER_KB'"
  [ -z "$VCPU_HW_MMU_OFFSET" ] || is_count "$VCPU_HW_MMU_OFFSET" || refuse "VCPU_HW_MMU_OFFSET must be a decimal byte offset, not '$VCPU_HW_MMU_OFFSET'"
  case $RECORDER in trace_pipe | trace-cmd) ;; *) refuse "RECORDER must be trace_pipe or trace-cmd, not '$RECORDER'" ;; esac
  case $KVM_MODE in '' | vhe | nvhe | protected) ;; *) refuse "KVM_MODE must be vhe, nvhe or protected, not '$KVM_MODE'" ;; esac
  case $VARIANT in '' | mainline | rfc-v2 | rfc-v3) ;; *) refuse "VARIANT must be mainline, rfc-v2 or rfc-v3, not '$VARIANT'" ;; esac
  case $PROBES in auto | kprobe) ;; *) refuse "PROBES must be auto or kprobe, not '$PROBES'" ;; esac
  for cs_event in $EXTRA_EVENTS; do
    case $cs_event in *?:?*) ;; *) refuse "EXTRA_EVENTS takes SYSTEM:EVENT names, not '$cs_event'" ;; esac
  done
  if [ "$RECORDER" = trace-cmd ] && ! command -v "$TRACE_CMD" > /dev/null 2>&1; then
    refuse "RECORDER=trace-cmd but $TRACE_CMD is not installed"
  fi
}

find_tracefs() {
  if [ -z "$TRACEFS" ]; then
    for ft_dir in /sys/kernel/tracing /sys/kernel/debug/tracing; do
      if [ -e "$ft_dir/kprobe_events" ]; then TRACEFS=$ft_dir; break; fi
    done
  fi
  if [ -z "$TRACEFS" ] || [ ! -d "$TRACEFS" ]; then
    refuse "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing), or set TRACEFS"
  fi
  [ -e "$TRACEFS/kprobe_events" ] || refuse "there is no $TRACEFS/kprobe_events: this kernel has no kprobe events (CONFIG_KPROBE_EVENTS)"
  [ -w "$TRACEFS/kprobe_events" ] || refuse "cannot write $TRACEFS/kprobe_events: run as root"
}

make_workdir() {
  WORK=\${TMPDIR:-/tmp}/vmid-capture.$$
  mkdir -m 700 "$WORK" 2>/dev/null || refuse "cannot create the work directory $WORK"
  printf '' > "$WORK/plan"
  printf '' > "$WORK/missing"
  printf '' > "$WORK/enables"
}

# kernel_code RELEASE: "6.12.18-arm64" -> 6012018, the number the probe sets are ranges of.
kernel_code() {
  kc_v=\${1%%[!0-9.]*}
  kc_major=\${kc_v%%.*}
  kc_rest=\${kc_v#"$kc_major"}
  kc_rest=\${kc_rest#.}
  kc_minor=\${kc_rest%%.*}
  kc_rest=\${kc_rest#"$kc_minor"}
  kc_rest=\${kc_rest#.}
  kc_patch=\${kc_rest%%.*}
  is_count "$kc_major" && is_count "$kc_minor" || return 1
  is_count "\${kc_patch:-0}" || return 1
  [ "$kc_minor" -lt 1000 ] && [ "\${kc_patch:-0}" -lt 1000 ] || return 1
  echo $((kc_major * 1000000 + kc_minor * 1000 + \${kc_patch:-0}))
}

# count_cpus LIST: "0-3,8-11" -> 8 (the format of /sys/devices/system/cpu/possible).
count_cpus() {
  cc_n=0
  for cc_part in $(printf '%s' "$1" | tr ',' ' '); do
    case $cc_part in
      *[!0-9-]*) return 1 ;;
      *-*) cc_n=$((cc_n + \${cc_part#*-} - \${cc_part%-*} + 1)) ;;
      *) cc_n=$((cc_n + 1)) ;;
    esac
  done
  [ "$cc_n" -gt 0 ] || return 1
  echo "$cc_n"
}

# One pass over kallsyms for every symbol the probe sets may use: "sym NAME" for the exact
# name, "clone NAME NAME.isra.0" for a compiler clone, whose arguments may have changed.
index_symbols() {
  awk -v names="$*" '
    BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
    { s = $3; if (s in want) { print "sym " s; next }
      b = s; sub(/\..*/, "", b); if (b != s && (b in want)) print "clone " b " " s }' "$KALLSYMS" > "$WORK/symbols"
}
has_sym() { grep -q "^sym $1\$" "$WORK/symbols"; }
clone_of() { awk -v f="$1" '$1 == "clone" && $2 == f { print $3; exit }' "$WORK/symbols"; }

detect_kvm_mode() {
  if [ -n "$KVM_MODE" ]; then KVM_MODE_FROM="KVM_MODE"; return 0; fi
  if [ -n "$DMESG_FILE" ]; then rd "$DMESG_FILE" > "$WORK/dmesg"; else dmesg > "$WORK/dmesg" 2>/dev/null; fi
  # kvm_info() in arch/arm64/kvm/arm.c at init: "VHE mode initialized successfully", "Hyp
  # mode ..." or "Hyp nVHE mode ..." (nVHE), "Protected nVHE mode ..." or "Protected hVHE
  # mode ..." (pKVM: EL2 code stays out of reach of probes).
  if grep -q 'Protected [nh]VHE mode initialized' "$WORK/dmesg"; then
    KVM_MODE=protected
  elif grep -q -e 'nVHE mode initialized' -e 'Hyp mode initialized' "$WORK/dmesg"; then
    KVM_MODE=nvhe
  elif grep -q ']: VHE mode initialized' "$WORK/dmesg"; then
    KVM_MODE=vhe
  fi
  if [ -n "$KVM_MODE" ]; then KVM_MODE_FROM=dmesg; return 0; fi
  case " $(rd "$PROCFS/cmdline") " in
    *" kvm-arm.mode=nvhe "*) KVM_MODE=nvhe ;;
    *" kvm-arm.mode=protected "*) KVM_MODE=protected ;;
  esac
  if [ -n "$KVM_MODE" ]; then KVM_MODE_FROM="$PROCFS/cmdline"; return 0; fi
  KVM_MODE=unknown
  KVM_MODE_FROM="no KVM init line in dmesg; set KVM_MODE"
}

detect_cpus() {
  CPUS=$(count_cpus "$(rd "$SYSFS/devices/system/cpu/possible")") || CPUS=""
  CPUS_WHY="$SYSFS/devices/system/cpu/possible is missing or unreadable; pass --cpus to analyze"
}

# SMMUv3 instances register as /sys/class/iommu/smmu3.<MMIO address> (arm_smmu_device_probe()).
detect_smmus() {
  SMMUS=""
  for ds_dir in "$SYSFS"/class/iommu/smmu3.*; do
    if [ -e "$ds_dir" ]; then SMMUS="$SMMUS \${ds_dir##*/}"; fi
  done
}

detect_variant() {
  VARIANT_WHY=""
  if [ -n "$VARIANT" ]; then
    VARIANT_FACT=$VARIANT
  elif has_sym kvm_arm_pinned_vmid_get; then
    VARIANT_FACT=""
    VARIANT_WHY="kvm_arm_pinned_vmid_get is in kallsyms, so this kernel carries the RFC pinned-VMID series (rfc-v2 or rfc-v3): set VARIANT, or pass --variant to analyze"
  else
    VARIANT_FACT=mainline
  fi
}

# fprobe events with BTF argument names need CONFIG_FPROBE_EVENTS (its syntax line in the
# tracefs README) and kernel BTF; struct member access has its own README line (6.6).
detect_probe_features() {
  HAVE_FPROBE=0
  HAVE_FIELDS=0
  if [ "$PROBES" = kprobe ]; then
    FPROBE_WHY="PROBES=kprobe"
  elif [ ! -e "$TRACEFS/dynamic_events" ]; then
    FPROBE_WHY="there is no $TRACEFS/dynamic_events"
  elif ! grep -qF 'f[:[<group>/][<event>]] <func-name>' "$TRACEFS/README" 2>/dev/null; then
    FPROBE_WHY="$TRACEFS/README shows no fprobe events (CONFIG_FPROBE_EVENTS)"
  elif [ ! -e "$SYSFS/kernel/btf/vmlinux" ]; then
    FPROBE_WHY="there is no kernel BTF, $SYSFS/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)"
  else
    HAVE_FPROBE=1
    awk -v names="$PROBE_FUNCTIONS" '
      BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
      ($1 in want) { print $1 }' "$TRACEFS/available_filter_functions" > "$WORK/ftrace_functions" 2>/dev/null
  fi
  FIELDS_WHY=$FPROBE_WHY
  if [ "$HAVE_FPROBE" = 1 ]; then
    if grep -qF '<argname>[->field' "$TRACEFS/README"; then HAVE_FIELDS=1; else FIELDS_WHY="$TRACEFS/README shows no struct member access in BTF arguments"; fi
  fi
}

check_group_free() {
  for cg_file in kprobe_events dynamic_events; do
    if awk -v g="$GROUP" 'index($1, ":" g "/") > 0' "$TRACEFS/$cg_file" 2>/dev/null | grep -q .; then
      refuse "events of group $GROUP already exist in $TRACEFS/$cg_file (an earlier run killed with SIGKILL?): remove each with echo '-:$GROUP/NAME' >> $TRACEFS/$cg_file"
    fi
  done
}

# reqs_met REQUIREMENTS FUNCTION: 0 when the host meets each one, else REASON says why not.
reqs_met() {
  for rm_req in $1; do
    case $rm_req in
      fprobe)
        if [ "$HAVE_FPROBE" != 1 ]; then REASON=$FPROBE_WHY; return 1; fi
        if ! grep -qx "$2" "$WORK/ftrace_functions"; then REASON="$2 is not in available_filter_functions"; return 1; fi
        ;;
      btf-fields)
        if [ "$HAVE_FIELDS" != 1 ]; then REASON=$FIELDS_WHY; return 1; fi
        ;;
      hw-mmu-offset)
        if [ -z "$VCPU_HW_MMU_OFFSET" ]; then REASON="VCPU_HW_MMU_OFFSET is not set (offsetof(struct kvm_vcpu, arch.hw_mmu), from pahole)"; return 1; fi
        ;;
      vhe)
        case $KVM_MODE in nvhe | protected)
          REASON="KVM runs in $KVM_MODE mode: its TLB maintenance runs at EL2 in the hypervisor object, which cannot be probed"
          return 1
          ;;
        esac
        ;;
      pin-v2)
        if [ "$VARIANT" = rfc-v3 ]; then REASON="VARIANT=rfc-v3: its kvm_arm_pinned_vmid_get() takes a struct kvm *, not the struct kvm_vmid * the tool names VMs by"; return 1; fi
        ;;
    esac
  done
  return 0
}

# plan EVENT [REQUIREMENTS FUNCTION DEFINITION]...: keeps, in order of preference, the
# definitions this host can take; the first one the kernel accepts is used.
plan() {
  pl_event=$1
  shift
  pl_kept=0
  pl_why=""
  while [ $# -ge 3 ]; do
    pl_reqs=$1
    pl_func=$2
    pl_def=$3
    shift 3
    if ! has_sym "$pl_func"; then
      pl_clone=$(clone_of "$pl_func")
      if [ -n "$pl_clone" ]; then
        REASON="only a compiler clone of $pl_func ($pl_clone) is in $KALLSYMS, and its arguments may differ"
      else
        REASON="$pl_func is not in $KALLSYMS"
      fi
    elif reqs_met "$pl_reqs" "$pl_func"; then
      case $pl_def in *'{hw_mmu}'*) pl_def=$(printf '%s\n' "$pl_def" | sed "s/{hw_mmu}/$VCPU_HW_MMU_OFFSET/g") ;; esac
      printf '%s\t%s\n' "$pl_event" "$pl_def" >> "$WORK/plan"
      pl_kept=$((pl_kept + 1))
      continue
    fi
    case "; $pl_why;" in *"; $REASON;"*) ;; *) pl_why="$pl_why\${pl_why:+; }$REASON" ;; esac
  done
  if [ "$pl_kept" -eq 0 ]; then mark_missing "$pl_event" "$pl_why"; else PLANNED="$PLANNED $pl_event"; fi
}

mark_missing() { printf '%s\t%s\n' "$1" "$2" >> "$WORK/missing"; }
is_missing() { grep -q "^$1$TAB" "$WORK/missing"; }
missing_reason() { awk -F "$TAB" -v e="$1" '$1 == e { print $2; exit }' "$WORK/missing"; }
missing_all() {
  for ma_event in "$@"; do is_missing "$ma_event" || return 1; done
  return 0
}
missing_any() {
  for ma_event in "$@"; do is_missing "$ma_event" && return 0; done
  return 1
}
# unavailable ID MESSAGE EVENT...: records what the replay loses, with each missing event's reason.
unavailable() {
  printf '%s\n' "$1" >> "$WORK/unavailable.ids"
  printf 'unavailable: %s\n' "$2" >> "$WORK/unavailable"
  shift 2
  for un_event in "$@"; do
    if is_missing "$un_event"; then printf '  %s: %s\n' "$un_event" "$(missing_reason "$un_event")" >> "$WORK/unavailable"; fi
  done
  return 0
}
is_unavailable() { grep -qx "$1" "$WORK/unavailable.ids"; }
`;
