/**
 * Each VM's VMID history: the changes of its id and its pin events, not every load. Bounded
 * twice: a VM keeps its first `headEntries` and its latest `tailEntries` entries (a VM that
 * lives through thousands of rollovers changes VMID at each), and histories are kept for the
 * first `maxVms` VMs seen (a churning host creates VMs without end); the rest are counted.
 */
import type { EventBase } from '../events/common.js';
import type { VmState } from '../steps/state.js';
import type { VmHistory, VmHistoryEntry } from './types.js';

interface MutableHistory {
  readonly key: string;
  readonly label: string;
  readonly head: VmHistoryEntry[];
  /** A ring of the latest entries once `head` is full. */
  readonly tail: VmHistoryEntry[];
  tailNext: number;
  seen: number;
}

export interface VmHistoryLimits {
  readonly maxVms: number;
  readonly headEntries: number;
  readonly tailEntries: number;
}

export class VmHistories {
  private readonly kept = new Map<string, MutableHistory>();
  /** Keys of VMs seen but not kept, while alive (so a VM is counted once). */
  private readonly notKept = new Set<string>();
  private omittedVms = 0;

  constructor(private readonly limits: VmHistoryLimits) {}

  note(vm: VmState, at: EventBase, what: string): void {
    const history = this.historyOf(vm);
    if (history === undefined) return;
    const entry: VmHistoryEntry = { tsUs: at.tsUs, line: at.span.line, cpu: at.cpu, what, text: at.source.text };
    history.seen++;
    if (history.head.length < this.limits.headEntries) {
      history.head.push(entry);
      return;
    }
    if (this.limits.tailEntries === 0) return;
    if (history.tail.length < this.limits.tailEntries) history.tail.push(entry);
    else history.tail[history.tailNext] = entry;
    history.tailNext = (history.tailNext + 1) % this.limits.tailEntries;
  }

  /** A VM is gone: if it was not kept, its key may be forgotten (pointers are reused, keys are not). */
  forget(vm: VmState): void {
    this.notKept.delete(vm.key);
  }

  private historyOf(vm: VmState): MutableHistory | undefined {
    const kept = this.kept.get(vm.key);
    if (kept !== undefined) return kept;
    if (this.notKept.has(vm.key)) return undefined;
    if (this.kept.size >= this.limits.maxVms) {
      this.notKept.add(vm.key);
      this.omittedVms++;
      return undefined;
    }
    const history: MutableHistory = { key: vm.key, label: vm.label, head: [], tail: [], tailNext: 0, seen: 0 };
    this.kept.set(vm.key, history);
    return history;
  }

  get vmsOmitted(): number {
    return this.omittedVms;
  }

  histories(): VmHistory[] {
    return [...this.kept.values()].map((history) => {
      const tail = history.tail.length < this.limits.tailEntries ? history.tail : [...history.tail.slice(history.tailNext), ...history.tail.slice(0, history.tailNext)];
      const entries = [...history.head, ...tail];
      return { key: history.key, label: history.label, entries, omitted: history.seen - entries.length, omittedAfter: history.head.length };
    });
  }
}
