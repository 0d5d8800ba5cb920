/**
 * The back of the pipeline: sequenced items applied to the models, their steps told to the
 * checks (and to whoever else observes), the findings collected with how sure each is. The
 * replay feeds it the trace's own items; a what-if policy feeds one its counterfactual calls.
 */
import { Diagnostics } from '../diagnostics.js';
import type { Check } from '../checks/types.js';
import { allChecks } from '../checks/index.js';
import type { EventBase } from '../events/common.js';
import { refOf, type EventRef } from '../model/eventRef.js';
import type { Finding } from '../steps/finding.js';
import type { ReplayState } from '../steps/state.js';
import type { ReplayStep, StepObserver } from '../steps/step.js';
import { ConfigResolver, type ConfigOverrides } from './config.js';
import { FindingCollector } from './findings/findingCollector.js';
import { StepListeners } from './findings/stepListeners.js';
import { ModelStage, type ModelStageDeps } from './models/modelStage.js';
import type { SequencedItem } from './sequence/callSequencer.js';
import { ReplayStats } from './result/stats.js';

export interface ModelsAndChecksOptions extends ConfigOverrides {
  readonly checks?: readonly Check[];
  readonly stepObservers?: readonly StepObserver[];
  /** Malformed input is an error naming file and line, instead of a counted skip. */
  readonly strict?: boolean;
  /** The probe map names a probe right after flush_context(): every rollover must show. */
  readonly traceShowsRollovers?: boolean;
}

/** What the stages in front tell the models (the call sequencer's knowledge, the skew bound). */
export type FrontQueries = Pick<ModelStageDeps, 'modeOf' | 'cpusInsideUpdate' | 'skewBoundUs'>;

const noObservers: readonly StepObserver[] = [];

/** Nothing in front: items come already sequenced, at their decision points, in their real order. */
export const noFront: FrontQueries = {
  modeOf: () => 'return',
  cpusInsideUpdate: () => new Set(),
  skewBoundUs: () => 0,
};

export class ModelsAndChecks {
  readonly diagnostics = new Diagnostics();
  readonly stats = new ReplayStats();
  readonly resolver: ConfigResolver;
  readonly models: ModelStage;
  readonly collector: FindingCollector;
  private readonly listeners = new StepListeners();
  private readonly observers: readonly StepObserver[];

  constructor(options: ModelsAndChecksOptions, front: FrontQueries = noFront) {
    this.resolver = new ConfigResolver(options, this.diagnostics);
    this.collector = new FindingCollector(options.checks ?? allChecks);
    this.observers = options.stepObservers ?? noObservers;
    this.models = new ModelStage(
      {
        resolver: this.resolver,
        diagnostics: this.diagnostics,
        stats: this.stats,
        loss: this.collector,
        step: (step) => this.step(step),
        started: (state) => this.collector.start(state, this.listeners),
        ...front,
      },
      {
        ...(options.strict === undefined ? {} : { strict: options.strict }),
        traceShowsRollovers: options.traceShowsRollovers ?? false,
      },
    );
  }

  apply(item: SequencedItem): void {
    const event = item.type === 'call' ? item.decision : item.event;
    this.collector.beforeApply(event.tsUs);
    this.models.apply(item);
    this.collector.afterApply(event.cpu);
  }

  /** The end of the trace: end-of-trace checks run. */
  finishModels(): void {
    this.models.finish();
  }

  /** The findings, once everything that could mark them unsure has. */
  finishFindings(): { readonly findings: readonly Finding[]; readonly dataLossAt: EventRef | undefined; readonly state: ReplayState | undefined; readonly lastRef: EventRef | undefined } {
    this.collector.finish();
    const last: EventBase | undefined = this.models.lastEvent;
    return { findings: this.collector.findings, dataLossAt: this.collector.dataLossAt, state: this.models.state(), lastRef: last === undefined ? undefined : refOf(last) };
  }

  private step(step: ReplayStep): void {
    this.listeners.dispatch(step);
    for (let i = 0; i < this.observers.length; i++) (this.observers[i] as StepObserver)(step);
  }
}
