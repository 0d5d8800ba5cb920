/**
 * `vmid-replay generate`: runs the background workload, drops the requested fault episodes and
 * lost-event bursts into it at their planned points, tears everything down, and streams the
 * trace and its sidecar out. Memory stays bounded whatever the size: the simulation holds only
 * live state (bounded by --concurrent, the CPUs and the SMMUs), the sink at most one batch,
 * and the writer waits for 'drain' whenever a stream pushes back.
 */
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { capture61Header } from './capture61.js';
import { FaultInjector, type InjectedHazard } from './episodes.js';
import { faultCatalog, type FaultKind } from './faults.js';
import { SimHost } from './host.js';
import { LineFormatter } from './lineFormat.js';
import { commandLineOf, type GenerateOptions } from './options.js';
import { Prng } from './prng.js';
import { SidecarWriter } from './sidecar.js';
import { TraceSink, type LossMarker } from './traceSink.js';
import { SkewedClocks } from './skewedClocks.js';
import { Workload } from './workload.js';

/** Batches handed to the stream: big enough to keep syscalls rare, small enough not to matter. */
const batchBytes = 256 * 1024;

export interface GenerateOutputs {
  readonly trace: Writable;
  readonly sidecar: Writable | undefined;
  /** The trace's name as the sidecar gives it (`-` for stdout). */
  readonly traceName: string;
}

export interface GenerateSummary {
  readonly lines: number;
  readonly bytes: number;
  readonly hazards: number;
  readonly expectedFindings: number;
  /** Expected findings before any lost-event burst: the ones the analyzer must report as conclusive. */
  readonly conclusiveFindings: number;
  readonly losses: readonly LossMarker[];
  /** Injections asked for that could not be made (e.g. the pinned pool is used up by leaked pins). */
  readonly skipped: readonly { readonly fault: FaultKind; readonly reason: string }[];
}

/** An output that already failed is not waited on: its 'drain' would never come. */
function throwIfFailed(stream: Writable): void {
  if (stream.errored !== null) throw stream.errored;
}

async function write(stream: Writable, text: string): Promise<void> {
  throwIfFailed(stream);
  if (text.length === 0 || stream.write(text)) return;
  await once(stream, 'drain');
}

async function end(stream: Writable): Promise<void> {
  throwIfFailed(stream);
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    // A failed last write (ENOSPC on a small file) reaches end()'s callback before 'error'.
    stream.end((error?: Error | null) => (error === undefined || error === null ? resolve() : reject(error)));
  });
}

/**
 * The 6.1 captures' header counts the events before them (`entries-in-buffer/entries-written`),
 * which a streamed trace does not know when it starts: the same seed is run once first, written
 * nowhere, to count them. Both runs take the same steps: the header's size is kept out of the
 * size target's accounting (`sizedBytes`).
 */
export async function generateTrace(options: GenerateOptions, outputs: GenerateOutputs): Promise<GenerateSummary> {
  if (options.probes === 'documented') return generateRun(options, outputs, undefined);
  const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });
  const counted = await generateRun(options, { trace: discard(), sidecar: undefined, traceName: outputs.traceName }, 0);
  return generateRun(options, outputs, counted.lines - capture61Header(options.shape, options.cpus, 0, '').length);
}

/** One run; `entries` is the event count the capture header gives (undefined: the documented header). */
async function generateRun(options: GenerateOptions, outputs: GenerateOutputs, entries: number | undefined): Promise<GenerateSummary> {
  const prng = new Prng(options.seed);
  const formatter = new LineFormatter(options.shape);
  const clocks = options.clockSkew === undefined ? undefined : new SkewedClocks(options.clockSkew, options.cpus, options.seed);
  const sink = new TraceSink(formatter, prng, clocks);
  const host = new SimHost(options, sink, prng);
  const workload = new Workload(host, prng, options);
  const injector = new FaultInjector(host, prng, options);
  const command = commandLineOf(options);
  const faults = Object.fromEntries(options.inject.map((request) => [request.kind, { checks: faultCatalog[request.kind].checks(options.variant), summary: faultCatalog[request.kind].summary }]));
  // The default probe set is left out, as in `command`: sidecars written before it existed stay the same.
  const { probes, ...documentedOptions } = options;
  const sidecar = new SidecarWriter({ tool: 'vmid-replay generate', format: 1, seed: options.seed, command, trace: outputs.traceName, options: probes === 'documented' ? documentedOptions : options, faults });

  const facts = [
    // One clock for every CPU unless asked otherwise: the analyzer then trusts the stamped order.
    `vmid_bits=${options.vmidBits} cpus=${options.cpus} variant=${options.variant} trace_clock=${options.clockSkew === undefined ? 'global' : 'local'}`,
    ...options.smmus.map((smmu) => `smmu=${smmu.name} vmid_bits=${smmu.vmidBits} btm=${smmu.btm ? 'on' : 'off'}`),
  ];
  const header = entries === undefined ? formatter.header(options.cpus, facts, command, TraceSink.startUs) : capture61Header(options.shape, options.cpus, entries, command);
  for (const line of header) sink.raw(line);
  // What the size target counts: the written bytes, but for a capture header as if it counted no
  // events, so that the counting run and the written one stop at the same step.
  const headerSlack = entries === undefined ? 0 : sink.bytes - capture61Header(options.shape, options.cpus, 0, command).reduce((sum, line) => sum + line.length + 1, 0);
  const sizedBytes = () => sink.bytes - headerSlack;

  let hazards = 0;
  let expectedFindings = 0;
  let conclusiveFindings = 0;
  const losses: LossMarker[] = [];
  /** Hazards whose lines are still held for their stamps (skewed clocks): the sidecar gives written numbers. */
  let unwritten: InjectedHazard[] = [];
  const writtenHazard = (hazard: InjectedHazard): InjectedHazard | undefined => {
    const firstLine = sink.writtenNumber(hazard.firstLine);
    const lastLine = sink.writtenNumber(hazard.lastLine);
    const expected = hazard.expected.map((finding) => ({ ...finding, line: finding.line === null ? null : sink.writtenNumber(finding.line) }));
    if (firstLine === undefined || lastLine === undefined || expected.some((finding) => finding.line === undefined)) return undefined;
    return { ...hazard, firstLine: Math.min(firstLine, lastLine), lastLine: Math.max(firstLine, lastLine), expected: expected as InjectedHazard['expected'] };
  };
  const writeHazards = () => {
    const waiting: InjectedHazard[] = [];
    for (const hazard of unwritten) {
      const written = writtenHazard(hazard);
      if (written === undefined) waiting.push(hazard);
      else sidecar.hazard(written, false);
    }
    unwritten = waiting;
  };
  const record = (hazard: InjectedHazard, lossBefore: boolean) => {
    hazards += 1;
    expectedFindings += hazard.expected.length;
    if (!lossBefore) conclusiveFindings += hazard.expected.length;
    if (!sink.skewed) sidecar.hazard(hazard, lossBefore);
    else unwritten.push(hazard);
  };
  const skipped: { fault: FaultKind; reason: string }[] = [];
  /** False when the fault has to wait for a later step; an episode that gives up midway is skipped. */
  const inject = (kind: FaultKind): boolean => {
    if (!injector.hasCapacity(kind)) return false;
    const lossBefore = sink.firstLoss !== undefined;
    const hazard = injector.inject(kind);
    if (hazard === undefined) skipped.push({ fault: kind, reason: 'the allocator handed out only VMIDs that SMMU domains hold (tiny VMID widths)' });
    else record(hazard, lossBefore);
    return true;
  };
  const burst = () => {
    // The CPU that printed last: its loss window opens at the marker (TraceSink.lost).
    losses.push(sink.lost(sink.lastReplayedCpu ?? 0, prng.int(5, 60)));
  };

  // Count mode: the injections, in random order, at evenly spread points of the run; an
  // injection that cannot be made yet (no room in the pinned pool) waits for a later step.
  const plan = options.injectRate === undefined ? prng.shuffled(options.inject.flatMap((request) => new Array<FaultKind>(request.count).fill(request.kind))) : [];
  const waiting: FaultKind[] = [];
  const rateKinds = options.injectRate === undefined ? [] : [...new Set(options.inject.map((request) => request.kind))];
  let planned = 0;
  let bursts = 0;
  const target = options.sizeBytes;
  // Without a size, VMs are created early (up to --concurrent at once) and retired late, so
  // the two counts together spread the planned points over the whole run.
  const progress = () => (target === undefined ? (options.vms === 0 ? 1 : (workload.created + workload.retired) / (2 * options.vms)) : sizedBytes() / target);

  // A stream error (a full disk, a reader that went away) stops the run at the next batch.
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= error;
  };
  outputs.trace.on('error', onError);
  outputs.sidecar?.on('error', onError);
  const drain = async () => {
    if (failure !== undefined) throw failure;
    if (unwritten.length > 0) writeHazards();
    if (sink.pendingBytes >= batchBytes) await write(outputs.trace, sink.take());
    if (sidecar.pendingBytes >= batchBytes) {
      const text = sidecar.take();
      if (outputs.sidecar !== undefined) await write(outputs.sidecar, text);
    }
  };

  for (;;) {
    const now = progress();
    for (let i = 0; i < waiting.length; ) {
      if (inject(waiting[i] as FaultKind)) waiting.splice(i, 1);
      else i++;
    }
    while (planned < plan.length && now >= (planned + 1) / (plan.length + 1)) {
      const kind = plan[planned++] as FaultKind;
      if (!inject(kind)) waiting.push(kind);
    }
    while (bursts < options.lostBursts && now >= (bursts + 1) / (options.lostBursts + 1)) {
      burst();
      bursts += 1;
    }
    if (options.injectRate !== undefined && prng.chance(options.injectRate)) {
      const open = rateKinds.filter((kind) => injector.hasCapacity(kind));
      if (open.length > 0) inject(prng.pick(open));
    }
    const stop = target === undefined ? workload.done() : sizedBytes() + (workload.teardownLines() * sizedBytes()) / sink.lines >= target;
    if (stop) break;
    workload.step(target !== undefined || workload.created < options.vms);
    await drain();
  }
  while (planned < plan.length) waiting.push(plan[planned++] as FaultKind);
  for (const kind of waiting) {
    if (!inject(kind)) skipped.push({ fault: kind, reason: injector.blockedReason(kind) });
    await drain();
  }
  for (; bursts < options.lostBursts; bursts++) burst();
  workload.teardownAll();
  // Idle scheduler lines bring a --size trace up to its target.
  if (target !== undefined) {
    while (sizedBytes() + 160 <= target) {
      host.idleNoise(prng.int(0, options.cpus - 1));
      await drain();
    }
  }

  sink.flush();
  writeHazards();
  if (unwritten.length > 0) throw new Error('internal: a hazard line was never written');
  const summary: GenerateSummary = { lines: sink.lines, bytes: sink.bytes, hazards, expectedFindings, conclusiveFindings, losses, skipped };
  sidecar.finish({ losses, skipped, summary: { lines: sink.lines, bytes: sink.bytes, hazards, expectedFindings, conclusiveFindings, firstLossLine: sink.firstLoss?.line ?? null } });
  await write(outputs.trace, sink.take());
  await end(outputs.trace);
  if (outputs.sidecar !== undefined) {
    await write(outputs.sidecar, sidecar.take());
    await end(outputs.sidecar);
  }
  return summary;
}
