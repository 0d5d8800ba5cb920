/**
 * The replay's steps as Chrome Trace Event Format JSON events (the "JSON trace" format that
 * ui.perfetto.dev and chrome://tracing open), handed on in chunks as the replay goes, so a
 * trace of any length is never held whole. One process per trace (`pid`), named after it:
 *
 * - a thread per CPU, `CPU n`, with a complete (`X`) slice per stretch a VM ran there
 *   (`kvm_arm_vmid_update()` to `kvm_arm_vmid_clear_active()`), named by VM and VMID;
 * - a thread per SMMU stream with a slice per STE binding;
 * - `findings` and `allocator` threads with instant events for findings (their parties and
 *   what was needed in the args) and rollovers;
 * - counters (`C`): pinned VMIDs, generation, live VMs;
 * - per VM an async track (category `vmid`, the VM's key as id), opened by an instant named
 *   after the VM, with a nestable async slice (`b`/`e`) per VMID the VM held.
 *
 * Timestamps are the trace's microseconds (the format's unit), integers. Slices on a thread
 * never overlap: a CPU's clock may run back a little against the order the replay chose
 * (skewed clocks), so a slice starts no earlier than the one before it on its thread ended.
 * Metadata events name and order the threads (`thread_name`, `thread_sort_index`).
 */
import type { StepOf } from '../checks/types.js';
import type { ReplayStep } from '../steps/step.js';
import type { VmState } from '../steps/state.js';
import type { Report } from '../report/report.js';

const findingsTid = 1;
const allocatorTid = 2;
const cpuTid = (cpu: number): number => 100 + cpu;
const firstStreamTid = 10_000;

/** Events per chunk handed on: big enough that the hand-over costs nothing, small enough to stream. */
const eventsPerChunk = 512;

interface OpenSlice {
  readonly name: string;
  readonly fromUs: number;
  readonly args: Record<string, string | number>;
  readonly vmKey?: string;
}

interface Track {
  readonly tid: number;
  open: OpenSlice | undefined;
  /** Where the last slice on this thread ended. */
  endedUs: number;
}

interface Ownership {
  readonly name: string;
  readonly activeId: number;
  readonly fromUs: number;
}

export class PerfettoStepWriter {
  private pending: string[] = [];
  private readonly cpus = new Map<number, Track>();
  private readonly streams = new Map<string, Track>();
  /** Per live VM, the VMID it holds now (an open async slice), if it ran yet. */
  private readonly owned = new Map<string, Ownership | undefined>();
  private pinnedVmids: number | undefined;
  private generation: number | undefined;
  private lastUs = 0;

  constructor(
    private readonly pid: number,
    file: string,
    private readonly emit: (chunk: string) => void,
  ) {
    this.metadata('process_name', findingsTid, { name: `vmid-replay: ${file}` });
    this.metadata('process_sort_index', findingsTid, { sort_index: pid });
    this.nameThread(findingsTid, 'findings', 0);
    this.nameThread(allocatorTid, 'allocator: rollovers', 1);
  }

  readonly observe = (step: ReplayStep): void => {
    switch (step.kind) {
      case 'load':
        return this.load(step);
      case 'put':
        this.at(step.event.tsUs);
        return this.closeSlice(this.cpus.get(step.cpu), step.event.tsUs);
      case 'pin':
        this.at(step.event.tsUs);
        this.seen(step.vm, step.event.tsUs);
        if (step.outcome.flushes > 0) this.rollover(step.event.tsUs, step.event.span.line, step.event.cpu, step.outcome.flushes, this.generation === undefined ? undefined : this.generation + step.outcome.flushes);
        return this.counter('pinned VMIDs', step.event.tsUs, step.outcome.nrPinned);
      case 'unpin':
        this.at(step.event.tsUs);
        return this.counter('pinned VMIDs', step.event.tsUs, step.outcome.nrPinned);
      case 'vm-create':
        this.at(step.event.tsUs);
        return this.seen(step.vm, step.event.tsUs);
      case 'vm-destroy':
        return this.destroy(step);
      case 'ste-write':
        return this.steWrite(step);
      case 'invalidation':
      case 'divergence':
        return this.at(step.at.tsUs);
      case 'smmu-vmid-free':
        return this.at(step.event.tsUs);
      case 'trace-end':
        return this.end();
    }
  };

  /** Findings as instants (after the replay: a finding may still turn inconclusive until it ends), then the rest of the events. */
  finish(report: Report | undefined): void {
    for (const finding of report?.findings ?? []) {
      this.event({
        ph: 'i',
        s: 't',
        pid: this.pid,
        tid: findingsTid,
        ts: finding.tsUs,
        name: finding.inconclusive ? `${finding.checkId} (inconclusive)` : finding.checkId,
        cat: 'finding',
        args: { severity: finding.severity, message: finding.message, line: `${finding.file}:${finding.line}`, parties: finding.parties.map((party) => party.name).join(', '), ...(finding.needed === undefined ? {} : { needed: finding.needed }) },
      });
    }
    this.flush();
  }

  private at(tsUs: number): void {
    if (tsUs > this.lastUs) this.lastUs = tsUs;
  }

  private event(fields: Record<string, unknown>): void {
    this.pending.push(JSON.stringify(fields));
    if (this.pending.length >= eventsPerChunk) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.emit(this.pending.join(',\n'));
    this.pending = [];
  }

  private metadata(name: string, tid: number, args: Record<string, string | number>): void {
    this.event({ ph: 'M', pid: this.pid, tid, name, args });
  }

  private nameThread(tid: number, name: string, sortIndex: number): void {
    this.metadata('thread_name', tid, { name });
    this.metadata('thread_sort_index', tid, { sort_index: sortIndex });
  }

  private counter(name: string, tsUs: number, value: number): void {
    if (name === 'pinned VMIDs') {
      if (value === this.pinnedVmids) return;
      this.pinnedVmids = value;
    }
    this.event({ ph: 'C', pid: this.pid, tid: allocatorTid, ts: tsUs, name, args: { value } });
  }

  private rollover(tsUs: number, line: number, cpu: number, flushes: number, generation: number | undefined): void {
    this.event({ ph: 'i', s: 't', pid: this.pid, tid: allocatorTid, ts: tsUs, name: 'rollover', cat: 'rollover', args: { line, cpu, flushes, ...(generation === undefined ? {} : { generation }) } });
    if (generation !== undefined) this.newGeneration(tsUs, generation);
  }

  private newGeneration(tsUs: number, generation: number): void {
    if (generation === this.generation) return;
    this.generation = generation;
    this.counter('generation', tsUs, generation);
  }

  private cpuTrack(cpu: number): Track {
    let track = this.cpus.get(cpu);
    if (track === undefined) {
      this.cpus.set(cpu, (track = { tid: cpuTid(cpu), open: undefined, endedUs: -Infinity }));
      this.nameThread(track.tid, `CPU ${cpu}`, 10 + cpu);
    }
    return track;
  }

  private closeSlice(track: Track | undefined, toUs: number): void {
    const open = track?.open;
    if (track === undefined || open === undefined) return;
    const fromUs = Math.max(open.fromUs, track.endedUs);
    const endUs = Math.max(fromUs, toUs);
    this.event({ ph: 'X', pid: this.pid, tid: track.tid, ts: fromUs, dur: endUs - fromUs, name: open.name, cat: 'vm', args: open.args });
    track.endedUs = endUs;
    track.open = undefined;
  }

  private seen(vm: VmState, tsUs: number): void {
    if (vm.destroyed || this.owned.has(vm.key)) return;
    this.owned.set(vm.key, undefined);
    this.event({ ph: 'n', pid: this.pid, tid: allocatorTid, ts: tsUs, cat: 'vmid', id: vm.key, name: vm.label, args: { vm: vm.pointer } });
    this.counter('live VMs', tsUs, this.owned.size);
  }

  /** Ends the VM's VMID slice, if one is open; returns when it ended (never before it began). */
  private endOwnership(vmKey: string, tsUs: number): number {
    const ownership = this.owned.get(vmKey);
    if (ownership === undefined) return tsUs;
    const endUs = Math.max(tsUs, ownership.fromUs);
    this.event({ ph: 'e', pid: this.pid, tid: allocatorTid, ts: endUs, cat: 'vmid', id: vmKey, name: ownership.name });
    this.owned.set(vmKey, undefined);
    return endUs;
  }

  private load(step: StepOf<'load'>): void {
    const tsUs = step.event.tsUs;
    this.at(tsUs);
    const { vm, outcome } = step;
    this.seen(vm, tsUs);
    if (outcome.flushes > 0) this.rollover(tsUs, step.event.span.line, step.cpu, outcome.flushes, outcome.gen);
    else this.newGeneration(tsUs, outcome.gen);
    const track = this.cpuTrack(step.cpu);
    this.closeSlice(track, tsUs);
    track.open = { name: `${vm.label}: VMID ${outcome.vmid}`, fromUs: tsUs, vmKey: vm.key, args: { vm: vm.label, vmid: outcome.vmid, generation: outcome.gen, line: step.event.span.line, path: outcome.slow ? 'slow' : 'fast' } };
    const ownership = this.owned.get(vm.key);
    if (!this.owned.has(vm.key) || ownership?.activeId === outcome.activeId) return;
    const fromUs = this.endOwnership(vm.key, tsUs);
    const name = `VMID ${outcome.vmid} (generation ${outcome.gen})`;
    this.owned.set(vm.key, { name, activeId: outcome.activeId, fromUs });
    this.event({ ph: 'b', pid: this.pid, tid: allocatorTid, ts: fromUs, cat: 'vmid', id: vm.key, name, args: { vmid: outcome.vmid, generation: outcome.gen, line: step.event.span.line } });
  }

  private destroy(step: StepOf<'vm-destroy'>): void {
    const tsUs = step.event.tsUs;
    this.at(tsUs);
    for (const track of this.cpus.values()) if (track.open?.vmKey === step.vm.key) this.closeSlice(track, tsUs);
    this.endOwnership(step.vm.key, tsUs);
    if (this.owned.delete(step.vm.key)) this.counter('live VMs', tsUs, this.owned.size);
  }

  private steWrite(step: StepOf<'ste-write'>): void {
    const tsUs = step.event.tsUs;
    this.at(tsUs);
    const label = `${step.smmu.name} SID 0x${step.binding.sid.toString(16)}`;
    let track = this.streams.get(label);
    if (track === undefined) {
      const tid = firstStreamTid + this.streams.size;
      this.streams.set(label, (track = { tid, open: undefined, endedUs: -Infinity }));
      this.nameThread(tid, label, tid);
    }
    this.closeSlice(track, tsUs);
    const { config, s2vmid } = step.binding;
    const withStage2 = config === 's2' || config === 'nested';
    const name = withStage2 ? `${config} VMID ${s2vmid}${step.vm === undefined ? '' : ` (${step.vm.label})`}` : config;
    track.open = { name, fromUs: tsUs, args: { config, ...(withStage2 ? { s2vmid } : {}), line: step.event.span.line } };
  }

  private end(): void {
    for (const track of this.cpus.values()) this.closeSlice(track, this.lastUs);
    for (const track of this.streams.values()) this.closeSlice(track, this.lastUs);
    for (const vmKey of this.owned.keys()) this.endOwnership(vmKey, this.lastUs);
  }
}
