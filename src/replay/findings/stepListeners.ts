/**
 * The checks' listeners by step kind (checks/types.ts, CheckListeners), so that a step goes
 * only to the checks that listen to its kind, in the order the checks were given.
 */
import type { CheckListeners } from '../../checks/types.js';
import type { ReplayStep } from '../../steps/step.js';

type Listener = (step: ReplayStep) => void;

export class StepListeners {
  private readonly byKind = new Map<ReplayStep['kind'], Listener[]>();

  add(listeners: CheckListeners): void {
    for (const [kind, listener] of Object.entries(listeners) as [ReplayStep['kind'], Listener | undefined][]) {
      if (listener === undefined) continue;
      let list = this.byKind.get(kind);
      if (list === undefined) this.byKind.set(kind, (list = []));
      list.push(listener);
    }
  }

  dispatch(step: ReplayStep): void {
    const list = this.byKind.get(step.kind);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) (list[i] as Listener)(step);
  }
}
