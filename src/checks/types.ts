import type { EventBase } from '../events/common.js';
import type { EventRef } from '../model/eventRef.js';
import type { ReplayStep } from '../replay/steps.js';
import type { ReplayState } from '../replay/state.js';
import type { Party, Remedy, ScenarioStep } from './findingParts.js';

/** `error`: a correctness bug; `warning`: a hazard or cost worth a reviewer's eyes; `notice`: a fact. */
export type Severity = 'error' | 'warning' | 'notice';

/** Metadata of a check, shared by its code, its tests and its doc page (`docs/checks/<id>.md`). */
export interface CheckMeta<MessageId extends string = string> {
  /** Stable kebab-case id; never renamed once published. */
  readonly id: string;
  readonly description: string;
  readonly severity: Severity;
  /** Message templates with `{placeholder}`s filled from the finding's data. */
  readonly messages: Readonly<Record<MessageId, string>>;
}

export interface Witness {
  /** What this line proves in the finding: `pin failed`, `STE installed`, ... */
  readonly role: string;
  readonly ref: EventRef;
}

/** What a finding says beyond its place and proof, as the check states it and the report keeps it. */
export interface FindingArgument {
  /** The argument, step by step ("Let ... Then ... However ..."). */
  readonly explanation: readonly string[];
  /** What the kernel/driver should have done, when there is a single answer. */
  readonly needed?: string;
  /** Who is involved: the VMs, VMIDs, SMMUs and StreamIDs (lockdep's two locks). */
  readonly parties: readonly Party[];
  /** Who did what, in which order (lockdep's CPU0/CPU1 table); empty when there is no interleaving to show. */
  readonly scenario: readonly ScenarioStep[];
  /** `needed` as data, when it is exact: the commands or calls and between which lines. */
  readonly remedy?: Remedy;
}

/** One finding: data, not text (renderers decide how it reads). */
export interface Finding extends FindingArgument {
  readonly checkId: string;
  readonly severity: Severity;
  readonly messageId: string;
  readonly message: string;
  /** The line the finding is reported at (its last witness, where it became true). */
  readonly file: string;
  readonly line: number;
  readonly tsUs: number;
  /** The minimal lines that prove it, in trace order. */
  readonly witnesses: readonly Witness[];
  /** Found after lost or unordered events: reported, never asserted. */
  readonly inconclusive: boolean;
  readonly data: Readonly<Record<string, string | number>>;
}

/** A witness as a check names it: the event itself (the replay makes the quoted ref). */
export interface WitnessDraft {
  readonly role: string;
  readonly event: EventBase;
}

export interface FindingDraft<MessageId extends string> extends FindingArgument {
  readonly messageId: MessageId;
  readonly data: Readonly<Record<string, string | number>>;
  readonly witnesses: readonly WitnessDraft[];
  readonly severity?: Severity;
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
