/** The replay's inputs and outputs, shared by the CLI and tests. */
import type { Diagnostics } from '../diagnostics.js';
import type { ProbeMap } from '../events/probeMap.js';
import type { CsvMap } from '../ingest/csv/csvMap.js';
import type { TraceFormat } from '../ingest/importer.js';
import type { Check, Finding } from '../checks/types.js';
import type { EventRef } from '../model/eventRef.js';
import type { ConfigOverrides } from './config.js';
import type { ReplayState } from '../steps/state.js';
import type { StepObserver } from '../steps/step.js';
import type { SequencedItem } from './sequence/callSequencer.js';
import type { ReplayStats } from './result/stats.js';
import type { ProbeInventory } from './decode/probeInventory.js';
import type { UnreadableFrom } from './result/unreadable.js';

export interface ReplayOptions extends ConfigOverrides {
  /** Malformed input is an error naming file and line, instead of a counted skip. */
  readonly strict?: boolean;
  readonly checks?: readonly Check[];
  /** Whoever else follows the replay step by step, after the checks (the `replay` command's JSON Lines, a timeline). */
  readonly stepObservers?: readonly StepObserver[];
  /** Whoever else takes the sequenced items, in the order they are applied (the what-if's workload). */
  readonly itemObservers?: readonly ((item: SequencedItem) => void)[];
  /** How to read a capture's own probe names (`--map`). */
  readonly probeMap?: ProbeMap;
  /** How a CSV trace's columns read as the default CSV layout (`--csv-map`). */
  readonly csvMap?: CsvMap;
  /** The input's format (`--input-format`); `auto` or absent: sniffed from the content. */
  readonly inputFormat?: TraceFormat | 'auto';
  /** How far back in time (µs) a record may arrive and still be merged into order (`--reorder-window`). */
  readonly reorderWindowUs?: number;
  /**
   * How far apart two CPUs' clocks may be (µs): events of different CPUs this close may be
   * replayed in another order than stamped when the trace's observations show it. 0: never.
   */
  readonly skewBoundUs?: number;
  /** How many records the reorder buffer holds at most. */
  readonly reorderMaxRecords?: number;
}

export interface ReplayResult {
  readonly findings: readonly Finding[];
  readonly diagnostics: Diagnostics;
  readonly stats: ReplayStats;
  readonly state: ReplayState | undefined;
  readonly configOrigins: Record<string, string>;
  readonly dataLossAt: EventRef | undefined;
  readonly lastRef: EventRef | undefined;
  /** Where unreadable lines begin, when there are more of them than a conclusive verdict allows. */
  readonly unreadableFrom: UnreadableFrom | undefined;
  /** The probes the decoder had no meaning for, by name and place. */
  readonly probes: ProbeInventory;
}
