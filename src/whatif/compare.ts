/**
 * `compare`: the trace read once, its workload handed in lockstep to one run per policy and
 * hypothetical host (a sweep multiplies the hosts), and the runs' numbers and would-have
 * findings side by side. The trace's own replay runs as well (the same pipeline as `analyze`),
 * which is where its observations are checked against the allocator it was captured under.
 */
import type { Readable } from 'node:stream';
import { allocatorConfigProblem } from '../model/config.js';
import type { ConfigOverrides } from '../replay/config.js';
import { ConfigResolver } from '../replay/config.js';
import { replayFile, type IngestPlacement, type ProgressCallback } from '../replay/analyze.js';
import type { ReplayOptions, ReplayResult } from '../replay/replayTypes.js';
import type { SequencedItem } from '../replay/sequence/callSequencer.js';
import { Diagnostics } from '../diagnostics.js';
import { VmidReplayError } from '../errors.js';
import { refOf, type EventRef } from '../model/eventRef.js';
import { AssignmentPlanner, type AssignSpec, type PlannedOp } from './assign.js';
import { DiffCollector, type PolicyDiff } from './diff.js';
import { policyNamed } from './policies/index.js';
import { PolicyRun, type HostConfig, type Policy, type RunResult } from './policyRun.js';
import { WorkloadExtractor, type WorkloadOp } from './workload.js';
import type { StepObserver } from '../steps/step.js';

export interface CompareSpec {
  readonly policies: readonly string[];
  /** Which VMs get devices; undefined: the trace's own attaches when it records any, else every VM. */
  readonly assign: AssignSpec | undefined;
  readonly seed: number;
  /** Sweeps: each list multiplies the hosts; empty: the trace's own value. */
  readonly vmidBits: readonly number[];
  readonly cpus: readonly number[];
  readonly btm: readonly boolean[];
  /**
   * Also run each host's CPU count with 16-bit VMIDs, where pins run out last: `headroom`
   * reads the pinned VMIDs a policy asks for there (a host that refuses a pin changes what is
   * asked for after it).
   */
  readonly roomyHosts?: boolean;
  /** K copies of every VM (`--scale K`). */
  readonly scale: number;
  /** Two policies whose decisions are compared VM by VM. */
  readonly diff?: readonly [string, string];
  /** Run the checks (the headroom's many runs need the numbers only). */
  readonly checks?: boolean;
  /** Observers of one policy's steps (`replay --policy`), on the first host. */
  readonly stepObservers?: readonly StepObserver[];
}

/** A host a sweep asked for that cannot exist (too few VMID indexes for the CPUs, no room to pin). */
export interface SkippedRun {
  readonly policy: string;
  readonly host: HostConfig;
  readonly why: string;
}

export interface WorkloadSummary {
  readonly vms: number;
  readonly loads: number;
  readonly attaches: number;
  readonly peakVmsWithDevices: number;
  readonly peakAt: EventRef | undefined;
}

export interface CompareResult {
  readonly file: string;
  /** The host the trace was captured on, as its header, the flags or the defaults say. */
  readonly tracedHost: { readonly vmidBits: number; readonly cpus: number };
  /** How devices were assigned, in words (`all`, `ratio=0.3 (seed 1)`, ...). */
  readonly assign: string;
  readonly scale: number;
  readonly workload: WorkloadSummary;
  readonly runs: readonly RunResult[];
  readonly skipped: readonly SkippedRun[];
  readonly diff?: PolicyDiff;
  /** The trace's own replay: its verdict says whether the workload itself is sure. */
  readonly replay: ReplayResult;
}

/** One assignment of devices and the runs it feeds. */
class Plan {
  readonly runs: PolicyRun[] = [];
  readonly planner: AssignmentPlanner;
  vms = 0;
  loads = 0;
  attaches = 0;

  constructor(
    readonly spec: AssignSpec,
    scale: number,
  ) {
    this.planner = new AssignmentPlanner(spec, scale, (op) => this.feed(op));
  }

  private feed(op: PlannedOp): void {
    if (op.op === 'create') this.vms += 1;
    else if (op.op === 'load') this.loads += 1;
    else if (op.op === 'attach') this.attaches += 1;
    for (const run of this.runs) run.op(op);
    this.afterOp?.(op);
  }

  afterOp: ((op: PlannedOp) => void) | undefined;
}

function describeAssign(spec: AssignSpec): string {
  const mode = spec.mode;
  const base = mode.kind === 'ratio' ? `ratio=${mode.ratio} (seed ${spec.seed})` : mode.kind === 'vms' ? `vms=${[...mode.pointers].join(',')}` : mode.kind;
  return [base, ...(spec.firstRun ? ['first-run'] : []), ...(spec.devices > 1 ? [`devices=${spec.devices}`] : [])].join(',');
}

export class Comparison {
  private readonly plans: Plan[];
  private readonly resolver: ConfigResolver;
  private started = false;
  private readonly skipped: SkippedRun[] = [];
  private readonly diffs = new Map<Plan, DiffCollector>();
  private traceAttaches = 0;
  private tracedHost: { vmidBits: number; cpus: number } | undefined;
  readonly extractor: WorkloadExtractor;

  constructor(
    private readonly spec: CompareSpec,
    overrides: ConfigOverrides,
  ) {
    for (const name of spec.policies) if (policyNamed(name) === undefined) throw new VmidReplayError('USAGE', `no policy "${name}"`);
    this.resolver = new ConfigResolver(overrides, new Diagnostics());
    const base = { firstRun: false, devices: 1, seed: spec.seed };
    // Without --assign, both plans run until the end says whether the trace records attaches.
    const specs = spec.assign !== undefined ? [spec.assign] : [{ ...base, mode: { kind: 'trace' as const } }, { ...base, mode: { kind: 'all' as const } }];
    this.plans = specs.map((assign) => new Plan(assign, spec.scale));
    this.extractor = new WorkloadExtractor((op) => this.push(op));
  }

  /** The replay's items in applied order: configuration to the resolver, the rest as workload. */
  readonly item = (item: SequencedItem): void => {
    if (item.type === 'event' && item.event.kind === 'system-config') this.resolver.addSystem(item.event);
    else if (item.type === 'event' && item.event.kind === 'smmu-config') this.resolver.addSmmu(item.event);
    else this.extractor.push(item);
  };

  private push(op: WorkloadOp): void {
    if (!this.started) this.start(op);
    if (op.op === 'attach') this.traceAttaches += 1;
    // Without --assign, the trace's first attach decides for `trace`: `all` can no longer be chosen, so it stops costing.
    const live = this.spec.assign === undefined && this.traceAttaches > 0 ? 1 : this.plans.length;
    for (let index = 0; index < live; index++) (this.plans[index] as Plan).planner.push(op);
  }

  /** The runs begin at the first workload step: the trace's configuration is known by then. */
  private start(op: WorkloadOp): void {
    this.started = true;
    const trace = this.resolver.allocatorConfig(op.at.span);
    this.tracedHost = { vmidBits: trace.vmidBits, cpus: trace.cpus };
    const bitsList = this.spec.vmidBits.length > 0 ? this.spec.vmidBits : [trace.vmidBits];
    const cpusList = this.spec.cpus.length > 0 ? this.spec.cpus : [trace.cpus];
    const btmList: (boolean | undefined)[] = this.spec.btm.length > 0 ? [...this.spec.btm] : [undefined];
    const hosts: HostConfig[] = [];
    for (const vmidBits of bitsList) for (const cpus of cpusList) for (const btm of btmList) hosts.push({ vmidBits, cpus, ...(btm === undefined ? {} : { btm }) });
    if (this.spec.roomyHosts === true) {
      for (const host of [...hosts]) if (!hosts.some((other) => other.vmidBits === 16 && other.cpus === host.cpus && other.btm === host.btm)) hosts.push({ ...host, vmidBits: 16 });
    }
    for (const plan of this.plans) {
      const diff = this.spec.diff === undefined ? undefined : new DiffCollector(this.spec.diff[0], this.spec.diff[1]);
      if (diff !== undefined) {
        this.diffs.set(plan, diff);
        plan.afterOp = (planned) => diff.afterOp(planned);
      }
      for (const host of hosts) {
        for (const name of this.spec.policies) {
          const policy = policyNamed(name) as Policy;
          const why = allocatorConfigProblem({ vmidBits: host.vmidBits, cpus: host.cpus, variant: policy.host.variant });
          if (why !== undefined) {
            if (plan === this.plans[0]) this.skipped.push({ policy: name, host, why });
            continue;
          }
          // The first host's runs carry the observers: the diff's two policies, `replay --policy`'s decisions.
          const observers: StepObserver[] = host === hosts[0] ? [...(this.spec.stepObservers ?? [])] : [];
          if (diff !== undefined && host === hosts[0] && name === diff.policyA) observers.push(diff.observerA);
          if (diff !== undefined && host === hosts[0] && name === diff.policyB) observers.push(diff.observerB);
          plan.runs.push(new PolicyRun(policy, host, { checks: this.spec.checks !== false, stepObservers: observers }));
        }
      }
    }
  }

  finish(file: string, replay: ReplayResult): CompareResult {
    // Without --assign: the trace's own attaches when it records any.
    const plan = (this.spec.assign === undefined && this.traceAttaches === 0 ? this.plans[1] : this.plans[0]) as Plan;
    const fit = plan.runs.filter((run) => run.unfit === undefined);
    const unfit = plan.runs.flatMap((run) => (run.unfit === undefined ? [] : [{ policy: run.policy.name, host: run.host, why: run.unfit }]));
    const runs = fit.map((run) => run.finish());
    const diff = this.diffs.get(plan)?.result();
    return {
      file,
      tracedHost: this.tracedHost ?? { vmidBits: replay.state?.allocator.config.vmidBits ?? 16, cpus: replay.state?.allocator.config.cpus ?? 1 },
      assign: describeAssign(plan.spec),
      scale: this.spec.scale,
      workload: { vms: plan.vms, loads: plan.loads, attaches: plan.attaches, peakVmsWithDevices: plan.planner.peakHolding, peakAt: plan.planner.peakAt === undefined ? undefined : refOf(plan.planner.peakAt) },
      runs,
      skipped: [...this.skipped, ...unfit],
      ...(diff === undefined ? {} : { diff }),
      replay,
    };
  }
}

/** Reads `file` once and compares the policies on its workload; `observePass` watches the trace's own replay (replayFile). */
export async function compareTrace(
  file: string,
  stdin: Readable,
  options: ReplayOptions,
  spec: CompareSpec,
  onProgress?: ProgressCallback,
  ingest?: IngestPlacement,
  observePass?: () => readonly StepObserver[],
): Promise<CompareResult> {
  const comparison = new Comparison(spec, options);
  const replay = await replayFile(file, stdin, { ...options, itemObservers: [...(options.itemObservers ?? []), comparison.item] }, onProgress, ingest, observePass);
  return comparison.finish(file, replay);
}
