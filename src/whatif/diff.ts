/**
 * `compare --diff A,B`: two policies' decisions side by side, load by load, gathered per VM:
 * where they give a vCPU different VMIDs, where one takes the locked slow path and the other
 * the fast path (RFC v2's pinned branch does not store the new id, so a pinned VM that missed a
 * rollover takes the slow path at every later load), and the totals, so a reviewer sees what a
 * patch changes on a real workload, call by call.
 */
import type { KernelPointer } from '../events/common.js';
import { refOf, type EventRef } from '../model/eventRef.js';
import type { UpdateOutcome } from '../model/vmidAllocator.js';
import type { StepObserver } from '../steps/step.js';
import type { PlannedOp } from './assign.js';

export interface VmDiff {
  readonly vm: KernelPointer;
  /** Which VM at that address (pointers are reused): 1 for the first. */
  readonly lifetime: number;
  readonly loads: number;
  /** Loads that ran under both policies with different VMID indexes. */
  readonly differentVmid: number;
  readonly slowA: number;
  readonly slowB: number;
  /** Loads one policy made and the other did not (a VM it never created). */
  readonly onlyA: number;
  readonly onlyB: number;
  /** The first load where they differ in any of these. */
  readonly firstDifference: EventRef | undefined;
}

export interface PolicyDiff {
  readonly policyA: string;
  readonly policyB: string;
  readonly loads: number;
  readonly differentVmid: number;
  readonly slowA: number;
  readonly slowB: number;
  /** VMs where the two differ at all, most different first. */
  readonly vms: readonly VmDiff[];
}

interface Tally {
  readonly vm: KernelPointer;
  readonly lifetime: number;
  loads: number;
  differentVmid: number;
  slowA: number;
  slowB: number;
  onlyA: number;
  onlyB: number;
  firstDifference: EventRef | undefined;
}

export class DiffCollector {
  private loadA: UpdateOutcome | undefined;
  private loadB: UpdateOutcome | undefined;
  /** Per VM lifetime: the address with its lifetime, as the replay tells reused pointers apart. */
  private readonly byVm = new Map<string, Tally>();
  private readonly lifetimes = new Map<KernelPointer, number>();

  constructor(
    readonly policyA: string,
    readonly policyB: string,
  ) {}

  readonly observerA: StepObserver = (step) => {
    if (step.kind === 'load') this.loadA = step.outcome;
  };

  readonly observerB: StepObserver = (step) => {
    if (step.kind === 'load') this.loadB = step.outcome;
  };

  /** After both runs took `op`: a load is compared. */
  afterOp(op: PlannedOp): void {
    const a = this.loadA;
    const b = this.loadB;
    this.loadA = undefined;
    this.loadB = undefined;
    if (op.op === 'create') this.lifetimes.set(op.vm, (this.lifetimes.get(op.vm) ?? 0) + 1);
    if (op.op !== 'load' || (a === undefined && b === undefined)) return;
    const lifetime = this.lifetimes.get(op.vm) ?? 1;
    const key = `${op.vm}#${lifetime}`;
    let tally = this.byVm.get(key);
    if (tally === undefined) this.byVm.set(key, (tally = { vm: op.vm, lifetime, loads: 0, differentVmid: 0, slowA: 0, slowB: 0, onlyA: 0, onlyB: 0, firstDifference: undefined }));
    tally.loads += 1;
    if (a?.slow === true) tally.slowA += 1;
    if (b?.slow === true) tally.slowB += 1;
    let differs = a?.slow !== b?.slow;
    if (a === undefined) tally.onlyB += 1;
    else if (b === undefined) tally.onlyA += 1;
    else if (a.vmid !== b.vmid) {
      tally.differentVmid += 1;
      differs = true;
    }
    if (differs) tally.firstDifference ??= refOf(op.at);
  }

  result(): PolicyDiff {
    const vms: VmDiff[] = [];
    let loads = 0;
    let differentVmid = 0;
    let slowA = 0;
    let slowB = 0;
    for (const tally of this.byVm.values()) {
      loads += tally.loads;
      differentVmid += tally.differentVmid;
      slowA += tally.slowA;
      slowB += tally.slowB;
      if (tally.firstDifference !== undefined) vms.push({ ...tally });
    }
    vms.sort((x, y) => y.differentVmid - x.differentVmid || Math.abs(y.slowA - y.slowB) - Math.abs(x.slowA - x.slowB) || (x.firstDifference?.line ?? 0) - (y.firstDifference?.line ?? 0));
    return { policyA: this.policyA, policyB: this.policyB, loads, differentVmid, slowA, slowB, vms };
  }
}
