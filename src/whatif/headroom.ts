/**
 * `headroom`: how close each pinning policy comes to running out of pinnable VMIDs, and which
 * hosts it would run out on. Read from the runs of `compare` (the traced host, and the same
 * CPUs with 16-bit VMIDs where pins run out last) by the RFC's one rule for a failed pin:
 * `kvm_arm_pinned_vmid_get()` fails exactly when `nr_pinned_vmids >= max_pinned_vmids`, and
 * `kvm_arm_vmid_alloc_init()` sets `max_pinned_vmids = NUM_USER_VMIDS - num_possible_cpus() - 2`.
 *
 * Until a pin fails, how many VMIDs a policy holds pinned depends on the workload alone, not on
 * the host: every pin is granted and every unpin gives one back whatever the VMID width. So
 * the peak a policy reaches on the roomy host is what it asks of any host, and a host fails
 * exactly when its `max_pinned_vmids` is below that peak. With `--scale K` every VM's copies
 * attach and detach together, so the peak is K times one copy's.
 */
import type { EventRef } from '../model/eventRef.js';
import type { CompareResult } from './compare.js';
import type { RunResult } from './policyRun.js';

export interface PolicyHeadroom {
  readonly policy: string;
  /** `max_pinned_vmids` on the traced host. */
  readonly maxPinnedVmids: number;
  /** Pins refused on the traced host, and the first. */
  readonly pinsFailed: number;
  readonly firstPinFailedAt: EventRef | undefined;
  /** Pinned VMIDs held at once at most, where no pin fails (undefined: more than even 16 bits allow). */
  readonly peakDemand: number | undefined;
  readonly peakDemandAt: EventRef | undefined;
  /** `max_pinned_vmids` minus the peak: VMIDs to spare (negative: short by that many). */
  readonly margin: number | undefined;
  /** The narrowest VMID width whose pool holds the peak with the traced CPUs (undefined: none up to 16 bits). */
  readonly smallestVmidBits: number | undefined;
  /** The most possible CPUs whose pool holds the peak at the traced VMID width (undefined: none). */
  readonly mostCpus: number | undefined;
  /** The smallest `--scale` whose copies would exhaust the traced host (undefined: nothing is pinned). */
  readonly firstFailingScale: number | undefined;
  /** From here on the workload is unsure (events were lost). */
  readonly inconclusiveFrom: EventRef | undefined;
}

export interface HeadroomResult {
  readonly file: string;
  readonly tracedHost: CompareResult['tracedHost'];
  readonly assign: string;
  readonly scale: number;
  readonly workload: CompareResult['workload'];
  readonly policies: readonly PolicyHeadroom[];
  readonly replay: CompareResult['replay'];
}

/** `max_pinned_vmids` of a host: `NUM_USER_VMIDS - num_possible_cpus() - 2`. */
export function maxPinnedOf(vmidBits: number, cpus: number): number {
  return 2 ** vmidBits - cpus - 2;
}

/** A pool holds `peak` when it is at least that large, and at least 1 (the RFC's `WARN_ON` of an empty pool). */
function holds(vmidBits: number, cpus: number, peak: number): boolean {
  return 2 ** vmidBits - 1 > cpus && maxPinnedOf(vmidBits, cpus) >= Math.max(peak, 1);
}

function smallestVmidBits(cpus: number, peak: number): number | undefined {
  for (let bits = 2; bits <= 16; bits++) if (holds(bits, cpus, peak)) return bits;
  return undefined;
}

function mostCpus(vmidBits: number, peak: number): number | undefined {
  const cpus = 2 ** vmidBits - 2 - Math.max(peak, 1);
  return cpus >= 1 ? cpus : undefined;
}

/** The peak a policy asks for: from a run where no pin failed (the traced host's if none did there). */
function demandRun(runs: readonly RunResult[]): RunResult | undefined {
  return runs.find((run) => run.metrics.pinsFailed === 0);
}

export function headroomOf(result: CompareResult, policies: readonly string[]): HeadroomResult {
  const { vmidBits, cpus } = result.tracedHost;
  return {
    file: result.file,
    tracedHost: result.tracedHost,
    assign: result.assign,
    scale: result.scale,
    workload: result.workload,
    replay: result.replay,
    policies: policies.map((policy): PolicyHeadroom => {
      const runs = result.runs.filter((run) => run.policy === policy && run.host.cpus === cpus);
      const traced = runs.find((run) => run.host.vmidBits === vmidBits);
      const demand = demandRun(runs);
      const peak = demand?.metrics.peakPinned;
      const maxPinned = maxPinnedOf(vmidBits, cpus);
      const perCopy = peak === undefined ? undefined : peak / result.scale;
      return {
        policy,
        maxPinnedVmids: maxPinned,
        pinsFailed: traced?.metrics.pinsFailed ?? 0,
        firstPinFailedAt: traced?.metrics.firstPinFailedAt,
        peakDemand: peak,
        peakDemandAt: demand?.metrics.peakPinnedAt,
        margin: peak === undefined ? undefined : maxPinned - peak,
        smallestVmidBits: peak === undefined ? undefined : smallestVmidBits(cpus, peak),
        mostCpus: peak === undefined ? undefined : mostCpus(vmidBits, peak),
        firstFailingScale: perCopy === undefined || perCopy === 0 ? undefined : Math.floor(maxPinned / perCopy) + 1,
        inconclusiveFrom: traced?.inconclusiveFrom,
      };
    }),
  };
}
