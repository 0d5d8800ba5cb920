/**
 * The checks' findings, and how sure each is. The checks report at the event where a finding
 * became true; the collector keeps the finding with its witnesses quoted, and marks findings
 * inconclusive when data loss reaches them: from the first loss on, back to the last event of a
 * CPU whose buffer lost events (ftrace prints its marker with that CPU's next event), and back to
 * the time of an event that arrived after later ones were replayed.
 */
import type { EventBase } from '../../events/common.js';
import { refOf, type EventRef } from '../../model/eventRef.js';
import { formatMessage, type Check } from '../../checks/types.js';
import type { Finding } from '../../steps/finding.js';
import type { ReplayState } from '../../steps/state.js';
import type { StepListeners } from './stepListeners.js';

/** What the stages that find data loss tell the findings. */
export interface DataLoss {
  /** From `at` on nothing is sure: every finding from now is inconclusive. */
  markDataLoss(at: EventBase): void;
  /** CPU `cpu` lost events after its last one: findings made since then are unsure too. */
  markLostWindow(cpu: number): void;
  /** An event of time `tsUs` arrived after later ones were replayed: findings decided since then lacked it. */
  markLate(tsUs: number): void;
}

export class FindingCollector implements DataLoss {
  readonly findings: Finding[] = [];
  private dataLoss: EventRef | undefined;
  /** Per CPU, how many findings existed once its last event was applied (see `markLostWindow`). */
  private readonly findingsAtLastEventOf: number[] = [];
  /** The newest timestamp replayed so far: what a finding reported now was decided on. */
  private replayedUpToUs = Number.NEGATIVE_INFINITY;
  /** Per finding, `replayedUpToUs` when it was reported (so never decreasing). */
  private readonly decidedAtUs: number[] = [];
  /** The oldest event that arrived after newer ones were replayed. */
  private lateFromUs = Number.POSITIVE_INFINITY;

  constructor(private readonly checks: readonly Check[]) {}

  get dataLossAt(): EventRef | undefined {
    return this.dataLoss;
  }

  /** The checks start listening once the models exist. */
  start(state: ReplayState, listeners: StepListeners): void {
    for (const check of this.checks) {
      listeners.add(
        check.create({
          state,
          report: (where, draft) => {
            const template = check.meta.messages[draft.messageId] ?? draft.messageId;
            this.decidedAtUs.push(this.replayedUpToUs);
            this.findings.push({
              checkId: check.meta.id,
              severity: draft.severity ?? check.meta.severity,
              messageId: draft.messageId,
              message: formatMessage(template, draft.data),
              file: where.span.file,
              line: where.span.line,
              tsUs: where.tsUs,
              witnesses: draft.witnesses.map((witness) => ({ role: witness.role, ref: refOf(witness.event) })),
              explanation: draft.explanation,
              ...(draft.needed === undefined ? {} : { needed: draft.needed }),
              parties: draft.parties,
              scenario: draft.scenario,
              ...(draft.remedy === undefined ? {} : { remedy: draft.remedy }),
              inconclusive: this.dataLoss !== undefined,
              data: draft.data,
            });
          },
        }),
      );
    }
  }

  /** An item of time `tsUs` is about to be applied: findings from now were decided with it. */
  beforeApply(tsUs: number): void {
    if (tsUs > this.replayedUpToUs) this.replayedUpToUs = tsUs;
  }

  /** An item of CPU `cpu` was applied: a later loss of that CPU reaches back to here. */
  afterApply(cpu: number): void {
    if (cpu >= 0) this.findingsAtLastEventOf[cpu] = this.findings.length;
  }

  markDataLoss(at: EventBase): void {
    this.dataLoss ??= refOf(at);
  }

  markLostWindow(cpu: number): void {
    const from = cpu >= 0 ? (this.findingsAtLastEventOf[cpu] ?? 0) : 0;
    this.markInconclusive(from);
  }

  markLate(tsUs: number): void {
    this.lateFromUs = Math.min(this.lateFromUs, tsUs);
  }

  /**
   * A late event belongs before findings already reported: those decided on a replay that had
   * reached its time lacked it, so they are unsure too, wherever their lines are in the input
   * (per-CPU files pasted one after another: the first file's findings were decided without the
   * other CPUs). Decision times never decrease, so they are the last findings.
   */
  finish(): void {
    let from = this.findings.length;
    while (from > 0 && (this.decidedAtUs[from - 1] as number) >= this.lateFromUs) from--;
    this.markInconclusive(from);
  }

  /** Every finding from the `from`th on is inconclusive. */
  private markInconclusive(from: number): void {
    for (let i = from; i < this.findings.length; i++) {
      const finding = this.findings[i] as Finding;
      if (!finding.inconclusive) this.findings[i] = { ...finding, inconclusive: true };
    }
  }
}
