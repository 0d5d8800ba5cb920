import type { EventBase } from '../events/common.js';
import type { ReplayStep } from '../steps/step.js';
import type { ReplayState } from '../steps/state.js';
import type { FindingDraft, Severity } from '../steps/finding.js';

export type { Finding, FindingArgument, FindingDraft, Severity, Witness, WitnessDraft } from '../steps/finding.js';

/** Metadata of a check, shared by its code, its tests and its doc page (`docs/checks/<id>.md`). */
export interface CheckMeta<MessageId extends string = string> {
  /** Stable kebab-case id; never renamed once published. */
  readonly id: string;
  readonly description: string;
  readonly severity: Severity;
  /** Message templates with `{placeholder}`s filled from the finding's data. */
  readonly messages: Readonly<Record<MessageId, string>>;
}

export interface CheckContext<MessageId extends string> {
  readonly state: ReplayState;
  /** A finding at the event where it became true. */
  report(at: EventBase, draft: FindingDraft<MessageId>): void;
}

/** The steps of one kind. */
export type StepOf<Kind extends ReplayStep['kind']> = Extract<ReplayStep, { readonly kind: Kind }>;

/**
 * What a check listens to, by step kind, as an ESLint rule's listeners by node type: the
 * replay calls each listener with the steps of its kind only. (One `onStep` for every step
 * cost each check a call and a look at the step's kind on every event: 15 % of a dense
 * replay went to the ten checks, most of it to steps they ignore.)
 */
export type CheckListeners = { readonly [Kind in ReplayStep['kind']]?: (step: StepOf<Kind>) => void };

export interface Check<MessageId extends string = string> {
  readonly meta: CheckMeta<MessageId>;
  create(ctx: CheckContext<MessageId>): CheckListeners;
}

/** Fills `{name}` placeholders; unknown names stay visible rather than vanish. */
export function formatMessage(template: string, data: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in data ? String(data[name]) : whole));
}

export function defineCheck<MessageId extends string>(check: Check<MessageId>): Check<MessageId> {
  return check;
}
