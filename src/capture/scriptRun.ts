/**
 * Shell functions of the capture script that change tracefs, each paired with its undo in
 * `cleanup()`: saved settings, the one-shot VMID-width probe, probe creation with fallback,
 * tracepoint enables, the header, recording, the lost-event notes, and `main`.
 */
import { sh } from './shellText.js';

export const runFunctions = sh`
size_buffer() {
  if [ -n "$BUFFER_KB" ]; then return 0; fi
  # About 1 GiB in all, between 4 and 32 MiB per CPU: trace_pipe drains it as it fills.
  BUFFER_KB=$((1048576 / \${CPUS:-1}))
  if [ "$BUFFER_KB" -gt 32768 ]; then BUFFER_KB=32768; fi
  if [ "$BUFFER_KB" -lt 4096 ]; then BUFFER_KB=4096; fi
}

choose_output() {
  if [ -z "$OUT" ]; then
    OUT=vmid-capture-$(date +%Y%m%d-%H%M%S)
    if [ "$RECORDER" = trace-cmd ]; then OUT=$OUT.dat; else OUT=$OUT.txt; fi
  fi
  if [ "$RECORDER" = trace-cmd ]; then HEADER_FILE=$OUT.header.txt; else HEADER_FILE=$OUT; fi
  NOTES_FILE=$HEADER_FILE
  [ ! -e "$OUT" ] || refuse "$OUT already exists"
  [ ! -e "$HEADER_FILE" ] || refuse "$HEADER_FILE already exists"
}

save_state() {
  SAVED_TRACING_ON=$(rd "$TRACEFS/tracing_on")
  # "1408", or "7 (expanded: 1408)" before the buffer was first used; "X" when CPUs differ.
  ss_raw=$(rd "$TRACEFS/buffer_size_kb")
  case $ss_raw in *'(expanded: '*) ss_raw=\${ss_raw##*expanded: } && ss_raw=\${ss_raw%%")"*} ;; esac
  SAVED_BUFFER_KB=""
  if is_count "$ss_raw"; then SAVED_BUFFER_KB=$ss_raw; fi
  # "[local] global counter uptime ...": the clock in use is the bracketed one.
  ss_raw=$(rd "$TRACEFS/trace_clock")
  SAVED_CLOCK=""
  case $ss_raw in *"["*"]"*) SAVED_CLOCK=\${ss_raw#*"["} && SAVED_CLOCK=\${SAVED_CLOCK%%"]"*} ;; esac
  STATE_SAVED=1
}

# shellcheck disable=SC2317 # reached through the EXIT, INT and TERM traps
restore_state() {
  if [ -n "$SAVED_CLOCK" ]; then tw "$SAVED_CLOCK" "$TRACEFS/trace_clock" || say "warning: could not restore trace_clock to $SAVED_CLOCK"; fi
  if [ -n "$SAVED_BUFFER_KB" ]; then tw "$SAVED_BUFFER_KB" "$TRACEFS/buffer_size_kb" || say "warning: could not restore buffer_size_kb to $SAVED_BUFFER_KB"; fi
  case $SAVED_TRACING_ON in 0 | 1) tw "$SAVED_TRACING_ON" "$TRACEFS/tracing_on" || say "warning: could not restore tracing_on to $SAVED_TRACING_ON" ;; esac
}

last_error() { tail -n 3 "$TRACEFS/error_log" 2>/dev/null | tr '\n' ' '; }

# without ITEM WORD...: the words other than ITEM.
without() {
  wo_item=$1
  shift
  wo_out=""
  for wo_word in "$@"; do
    if [ "$wo_word" != "$wo_item" ]; then wo_out="$wo_out\${wo_out:+ }$wo_word"; fi
  done
  printf '%s' "$wo_out"
}

# remove_probe FILE EVENT
remove_probe() {
  # shellcheck disable=SC2086 # CREATED is a list of words
  CREATED=$(without "$1:$2" $CREATED)
  if ta "-:$GROUP/$2" "$TRACEFS/$1"; then return 0; fi
  say "warning: could not remove $GROUP/$2 ($(last_error)); remove it with: echo '-:$GROUP/$2' >> $TRACEFS/$1"
  return 1
}

# The VMID width is kvm_arm_vmid_bits, a global of vmid.c: fetch it once with a probe on
# uname(2), fired by running uname, as the captures in ../shared/captures did with sync(2).
read_vmid_bits() {
  VMID_BITS=""
  if ! has_sym kvm_arm_vmid_bits; then
    VMID_BITS_WHY="kvm_arm_vmid_bits is not in $KALLSYMS (data symbols need CONFIG_KALLSYMS_ALL)"
    return 0
  fi
  if ! has_sym __arm64_sys_newuname; then
    VMID_BITS_WHY="__arm64_sys_newuname, which the one-shot probe needs, is not in $KALLSYMS"
    return 0
  fi
  if ! ta "$VMID_BITS_DEFINITION" "$TRACEFS/kprobe_events"; then
    VMID_BITS_WHY="the kernel refused the one-shot probe: $(last_error)"
    return 0
  fi
  CREATED="kprobe_events:vmid_config $CREATED"
  rv_line=""
  if tw 1 "$TRACEFS/events/$GROUP/vmid_config/enable"; then
    tw 1 "$TRACEFS/tracing_on"
    uname -r > /dev/null
    tw 0 "$TRACEFS/tracing_on"
    rv_line=$(grep ' vmid_config: ' "$TRACEFS/trace" 2>/dev/null | tail -n 1)
    tw 0 "$TRACEFS/events/$GROUP/vmid_config/enable"
  fi
  remove_probe kprobe_events vmid_config
  rv_bits=\${rv_line##* vmid_bits=}
  rv_bits=\${rv_bits%% *}
  if is_count "$rv_bits" && [ "$rv_bits" -ge 2 ] && [ "$rv_bits" -le 16 ]; then
    VMID_BITS=$rv_bits
  else
    VMID_BITS_WHY="the one-shot probe on __arm64_sys_newuname recorded no vmid_bits"
  fi
}

prepare_buffer() {
  if [ "$VERBOSE" = 1 ]; then say "+ echo > trace"; fi
  { printf '' > "$TRACEFS/trace"; } 2>/dev/null || die "could not clear $TRACEFS/trace"
  # trace-cmd record sets both itself, from -C and -b.
  if [ "$RECORDER" = trace-cmd ]; then return 0; fi
  tw "$TRACE_CLOCK" "$TRACEFS/trace_clock" || die "could not select trace_clock $TRACE_CLOCK (see $TRACEFS/trace_clock)"
  tw "$BUFFER_KB" "$TRACEFS/buffer_size_kb" || die "could not set buffer_size_kb to $BUFFER_KB (set BUFFER_KB lower)"
}

# create_probe EVENT DEFINITION: fprobes go through dynamic_events, kprobes through kprobe_events.
create_probe() {
  case $2 in f:*) cr_file=dynamic_events ;; *) cr_file=kprobe_events ;; esac
  if ! ta "$2" "$TRACEFS/$cr_file"; then
    LAST_ERROR=$(last_error)
    return 1
  fi
  CREATED="$cr_file:$1 $CREATED"
  CREATED_IN_ORDER="$CREATED_IN_ORDER\${CREATED_IN_ORDER:+ }$1"
  [ -e "$TRACEFS/events/$GROUP/$1/enable" ] || die "the kernel took $GROUP/$1 but made no $TRACEFS/events/$GROUP/$1/enable"
  if [ "$RECORDER" = trace_pipe ]; then
    tw 1 "$TRACEFS/events/$GROUP/$1/enable" || die "could not enable $GROUP/$1"
  fi
  return 0
}

create_probes() {
  for cp_event in $PLANNED; do
    cp_done=0
    cp_errors=""
    while IFS=$TAB read -r cp_name cp_def; do
      if [ "$cp_name" != "$cp_event" ] || [ "$cp_done" = 1 ]; then continue; fi
      if create_probe "$cp_event" "$cp_def"; then
        cp_done=1
      else
        cp_errors="$cp_errors\${cp_errors:+; }$cp_def: $LAST_ERROR"
      fi
    done < "$WORK/plan"
    if [ "$cp_done" = 0 ]; then
      if [ "$cp_event" = vmid_update ]; then die "the kernel refused every definition of vmid_update: $cp_errors"; fi
      say "warning: $cp_event not created: $cp_errors"
      mark_missing "$cp_event" "the kernel refused it: $cp_errors"
    fi
  done
}

enable_tracepoints() {
  RECORD_EVENTS=""
  TRACEPOINTS_ENABLED=""
  for et_event in $CREATED_IN_ORDER; do RECORD_EVENTS="$RECORD_EVENTS $GROUP:$et_event"; done
  for et_event in $CONTEXT_TRACEPOINTS $EXTRA_EVENTS; do
    et_file="$TRACEFS/events/\${et_event%%:*}/\${et_event#*:}/enable"
    if [ ! -f "$et_file" ]; then
      say "note: this kernel has no tracepoint $et_event"
      continue
    fi
    et_old=$(rd "$et_file")
    et_old=\${et_old%"*"}
    case $et_old in 0 | 1) ;; *) et_old=0 ;; esac
    printf '%s\t%s\n' "$et_old" "$et_file" >> "$WORK/enables"
    RECORD_EVENTS="$RECORD_EVENTS $et_event"
    TRACEPOINTS_ENABLED="$TRACEPOINTS_ENABLED $et_event"
    if [ "$RECORDER" = trace_pipe ]; then tw 1 "$et_file" || die "could not enable $et_event"; fi
  done
}

# The header, in the tool's format: facts on a "# vmid-replay:" line (a field this host does
# not tell is left out), everything else, unknowns included, as plain comments.
write_header() {
  FACTS=""
  if [ -n "$VMID_BITS" ]; then FACTS="$FACTS vmid_bits=$VMID_BITS"; fi
  if [ -n "$CPUS" ]; then FACTS="$FACTS cpus=$CPUS"; fi
  if [ -n "$VARIANT_FACT" ]; then FACTS="$FACTS variant=$VARIANT_FACT"; fi
  FACTS="$FACTS trace_clock=$TRACE_CLOCK"
  {
    if [ -n "$FACTS" ]; then printf '# vmid-replay:%s\n' "$FACTS"; fi
    if [ -z "$VMID_BITS" ]; then printf '# vmid_bits unknown: %s; pass --vmid-bits to analyze\n' "$VMID_BITS_WHY"; fi
    if [ -z "$CPUS" ]; then printf '# cpus unknown: %s\n' "$CPUS_WHY"; fi
    if [ -z "$VARIANT_FACT" ]; then printf '# variant unknown: %s\n' "$VARIANT_WHY"; fi
    for wh_smmu in $SMMUS; do printf '# smmu %s: vmid_bits unknown, btm unknown\n' "$wh_smmu"; done
    if [ -n "$SMMUS" ]; then
      printf '# (the arm-smmu-v3 driver exposes neither IDR0.VMID16 nor CR2.PTM; mainline sets PTM, so BTM is off unless the kernel turns it on.\n'
      printf '# SMMU events name an SMMU by its struct arm_smmu_device pointer: give facts to analyze under that name, e.g. --btm 0xffff000004a1c080=on --smmu-vmid-bits 0xffff000004a1c080=16)\n'
    else
      printf '# no SMMUv3 in %s/class/iommu\n' "$SYSFS"
    fi
    printf '# kernel %s; probe set %s; KVM mode %s (%s)%s\n' "$UNAME_R" "$PROBE_SET_LABEL" "$KVM_MODE" "$KVM_MODE_FROM" "$KERNEL_NOTE"
    printf '# kvm_arm_vmid_update() is called from %s on this kernel\n' "$CALL_SITE"
    printf '# events: %s%s\n' "$CREATED_IN_ORDER" "$TRACEPOINTS_ENABLED"
    sed 's/^/# /' "$WORK/unavailable"
    printf '# recorder %s, buffer_size_kb %s, trace_clock %s, started %s\n' "$RECORDER" "$BUFFER_KB" "$TRACE_CLOCK" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } > "$HEADER_FILE" || die "cannot write $HEADER_FILE"
}

# Facts go into the trace itself too: tracing_mark_write lines, read like the header.
write_markers() {
  if [ -z "$FACTS" ]; then return 0; fi
  ta "vmid-replay:$FACTS" "$TRACEFS/trace_marker" || say "warning: could not write to trace_marker; the facts are in the header only"
}

# wait_for_end PID: sleeps DURATION seconds, or waits for PID when DURATION is 0; a trapped
# signal ends the wait early. CHILD_DONE=1 when PID ended by itself (and was reaped here).
wait_for_end() {
  PHASE=recording
  CHILD_DONE=0
  if [ "$DURATION" -gt 0 ]; then
    say "recording for $DURATION s into $OUT (Ctrl-C stops it early)"
    sleep "$DURATION" &
    SLEEP_PID=$!
    if [ -z "$STOP_SIGNAL" ]; then wait "$SLEEP_PID"; fi
    kill "$SLEEP_PID" 2>/dev/null
    wait "$SLEEP_PID" 2>/dev/null
    SLEEP_PID=""
  else
    say "recording into $OUT until Ctrl-C"
    if [ -z "$STOP_SIGNAL" ]; then
      wait "$1"
      CHILD_STATUS=$?
      if [ -z "$STOP_SIGNAL" ]; then CHILD_DONE=1; fi
    fi
  fi
  PHASE=stopping
}

unread_entries() {
  ue_n=$(cat "$TRACEFS"/per_cpu/cpu*/stats 2>/dev/null | awk '/^entries:/ { n += $2 } END { print n + 0 }')
  echo "\${ue_n:-0}"
}

record_trace_pipe() {
  # An asynchronous command of a non-interactive shell ignores SIGINT: Ctrl-C ends the
  # recording below without cutting the reader off before the buffer is drained.
  cat "$TRACEFS/trace_pipe" >> "$OUT" &
  READER_PID=$!
  tw 1 "$TRACEFS/tracing_on" || die "could not turn tracing on"
  write_markers
  wait_for_end "$READER_PID"
  tw 0 "$TRACEFS/tracing_on"
  # trace_pipe returns end-of-file once tracing is off and the reader has had something;
  # give it DRAIN_SECONDS to empty the buffer, then stop it.
  rp_waited=0
  while kill -0 "$READER_PID" 2>/dev/null && [ "$rp_waited" -lt "$DRAIN_SECONDS" ]; do
    if [ "$rp_waited" -gt 0 ] && [ "$(unread_entries)" -eq 0 ]; then break; fi
    sleep 1
    rp_waited=$((rp_waited + 1))
  done
  kill "$READER_PID" 2>/dev/null
  wait "$READER_PID" 2>/dev/null
  READER_PID=""
}

record_trace_cmd() {
  set -- record -o "$OUT" -b "$BUFFER_KB" -C "$TRACE_CLOCK"
  for rc_event in $RECORD_EVENTS; do set -- "$@" -e "$rc_event"; done
  if [ "$VERBOSE" = 1 ]; then say "+ $TRACE_CMD $*"; fi
  "$TRACE_CMD" "$@" &
  READER_PID=$!
  # trace-cmd turns tracing on once its recorders run; a marker written before is lost.
  rc_waited=0
  while [ "$(rd "$TRACEFS/tracing_on")" != 1 ] && [ "$rc_waited" -lt 10 ] && kill -0 "$READER_PID" 2>/dev/null; do
    sleep 1
    rc_waited=$((rc_waited + 1))
  done
  write_markers
  wait_for_end "$READER_PID"
  if [ "$CHILD_DONE" = 1 ]; then
    rc_status=$CHILD_STATUS
  else
    # trace-cmd record stops and writes its file on SIGINT; a watchdog ends a stuck one.
    kill -INT "$READER_PID" 2>/dev/null
    (sleep 30 && kill "$READER_PID") > /dev/null 2>&1 &
    rc_watchdog=$!
    wait "$READER_PID"
    rc_status=$?
    kill "$rc_watchdog" 2>/dev/null
  fi
  READER_PID=""
  if [ "$rc_status" -ne 0 ]; then say "warning: $TRACE_CMD record exited with status $rc_status"; fi
}

# Lost events: per-CPU ring-buffer overruns and drops, and probe hits the kprobe machinery
# missed (kprobe_profile's third column), which the trace itself does not show.
note_losses() {
  nl_total=0
  nl_detail=""
  for nl_stats in "$TRACEFS"/per_cpu/cpu*/stats; do
    [ -f "$nl_stats" ] || continue
    nl_cpu=\${nl_stats%/stats}
    nl_cpu=\${nl_cpu##*/}
    nl_overrun=$(sed -n 's/^overrun: *//p' "$nl_stats")
    nl_dropped=$(sed -n 's/^dropped events: *//p' "$nl_stats")
    is_count "$nl_overrun" || nl_overrun=0
    is_count "$nl_dropped" || nl_dropped=0
    nl_total=$((nl_total + nl_overrun + nl_dropped))
    nl_detail="$nl_detail $nl_cpu=$nl_overrun+$nl_dropped"
  done
  nl_missed=$(awk -v names=" $CREATED_IN_ORDER " '{ n = $1; sub(/.*\//, "", n) } index(names, " " n " ") > 0 && $3 > 0 { printf " %s=%s", n, $3 }' "$TRACEFS/kprobe_profile" 2>/dev/null)
  {
    printf '# capture end: %s events lost in the ring buffer (overrun+dropped per CPU:%s)\n' "$nl_total" "$nl_detail"
    if [ -n "$nl_missed" ]; then printf '# capture end: probe hits missed (kprobe_profile):%s\n' "$nl_missed"; fi
  } >> "$NOTES_FILE"
  if [ "$nl_total" -gt 0 ]; then say "warning: $nl_total events were lost; findings after a loss are inconclusive: raise BUFFER_KB or drop EXTRA_EVENTS"; fi
  if [ -n "$nl_missed" ]; then say "warning: probe hits missed:$nl_missed (kprobe_profile); the trace does not show them"; fi
}

# shellcheck disable=SC2317 # reached through the EXIT, INT and TERM traps
cleanup() {
  if [ "$CLEANED" = 1 ]; then return 0; fi
  CLEANED=1
  trap '' INT TERM
  for cu_pid in $READER_PID $SLEEP_PID; do kill "$cu_pid" 2>/dev/null; done
  if [ "$STATE_SAVED" = 1 ]; then tw 0 "$TRACEFS/tracing_on"; fi
  # A probe must be disabled before it can be removed.
  for cu_entry in $CREATED; do
    cu_enable="$TRACEFS/events/$GROUP/\${cu_entry#*:}/enable"
    if [ -e "$cu_enable" ]; then tw 0 "$cu_enable" || say "warning: could not disable $GROUP/\${cu_entry#*:}"; fi
  done
  if [ -n "$WORK" ] && [ -f "$WORK/enables" ]; then
    while IFS=$TAB read -r cu_value cu_file; do
      tw "$cu_value" "$cu_file" || say "warning: could not restore $cu_file to $cu_value"
    done < "$WORK/enables"
  fi
  cu_removed=0
  for cu_entry in $CREATED; do
    if remove_probe "\${cu_entry%%:*}" "\${cu_entry#*:}"; then cu_removed=$((cu_removed + 1)); fi
  done
  if [ "$STATE_SAVED" = 1 ]; then
    restore_state
    say "cleaned up: removed $cu_removed probes, restored the enable files, buffer_size_kb, trace_clock and tracing_on"
  fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}

# shellcheck disable=SC2317 # reached through the EXIT, INT and TERM traps
on_exit() {
  oe_status=$?
  cleanup
  exit "$oe_status"
}

# shellcheck disable=SC2317 # reached through the EXIT, INT and TERM traps
on_signal() {
  if [ "$PHASE" = recording ]; then
    STOP_SIGNAL=$1
    say "SIG$1: stopping the recording"
    return 0
  fi
  say "SIG$1: stopping; undoing what was changed so far"
  cleanup
  trap - EXIT
  if [ "$1" = INT ]; then exit 130; fi
  exit 143
}

report_plan() {
  say "kernel $UNAME_R: probe set $PROBE_SET_LABEL ($PROBE_SET_WHY)$KERNEL_NOTE"
  say "KVM mode $KVM_MODE ($KVM_MODE_FROM); possible CPUs \${CPUS:-unknown}; SMMUv3:\${SMMUS:- none}"
  say "events:$PLANNED"
  while IFS= read -r rp_line; do say "$rp_line"; done < "$WORK/unavailable"
}

print_plan() {
  printf '# dry run: the definitions this host can take, in order of preference\n'
  while IFS=$TAB read -r pp_event pp_def; do printf '%s\t%s\n' "$pp_event" "$pp_def"; done < "$WORK/plan"
}

main() {
  exec 3>&2
  trap on_exit EXIT
  trap 'on_signal INT' INT
  trap 'on_signal TERM' TERM
  check_settings
  find_tracefs
  make_workdir
  [ -r "$KALLSYMS" ] || refuse "cannot read $KALLSYMS"
  # shellcheck disable=SC2086 # a list of names
  index_symbols $PROBE_FUNCTIONS
  select_probe_set
  detect_kvm_mode
  detect_cpus
  detect_smmus
  detect_variant
  detect_probe_features
  check_group_free
  size_buffer
  PLANNED=""
  plan_probes
  if is_missing vmid_update; then
    refuse "nothing useful can be captured: $(missing_reason vmid_update) (KVM is not built in, or the kernel predates 5.18, whose VMID allocator the tool does not model)"
  fi
  assess
  report_plan
  if [ "$DRY_RUN" = 1 ]; then
    print_plan
    exit 0
  fi
  choose_output
  [ -e "$DEV_KVM" ] || say "warning: there is no $DEV_KVM: KVM is not running here, so the allocator probes will not fire"
  save_state
  PHASE=setup
  tw 0 "$TRACEFS/tracing_on" || die "could not write $TRACEFS/tracing_on"
  read_vmid_bits
  prepare_buffer
  create_probes
  assess
  enable_tracepoints
  write_header
  if [ "$RECORDER" = trace-cmd ]; then record_trace_cmd; else record_trace_pipe; fi
  note_losses
  say "capture written to $OUT"
  if [ "$STOP_SIGNAL" = TERM ]; then exit 143; fi
  exit 0
}
`;
