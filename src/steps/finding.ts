/**
 * What a check finds, as data: the finding the report carries and the draft a check hands the
 * replay. Below both the replay and the checks, so neither imports the other for it.
 */
import type { EventBase } from '../events/common.js';
import type { EventRef } from '../model/eventRef.js';
import type { Party, Remedy, ScenarioStep } from './findingParts.js';

/** `error`: a correctness bug; `warning`: a hazard or cost worth a reviewer's eyes; `notice`: a fact. */
export type Severity = 'error' | 'warning' | 'notice';

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

