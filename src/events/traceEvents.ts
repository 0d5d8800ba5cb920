import type { EventBase } from './common.js';

export type PinVariant = 'mainline' | 'rfc-v2' | 'rfc-v3';

/**
 * Where a system fact came from, as the report names it beside the value ("8-bit VMIDs ...
 * from the "# vmid-replay:" header"). The `#P:` count is only a fallback for the CPU count.
 */
export const configOrigins = {
  header: 'the "# vmid-replay:" header',
  marker: 'a "vmid-replay:" trace marker',
  configEvent: 'a vmid_config event',
  cpuCountHeader: 'ftrace\'s "#P:" header',
} as const;

/** System facts recorded in the trace (a `# vmid-replay:` header line or a marker write). */
export interface SystemConfigEvent extends EventBase {
  readonly kind: 'system-config';
  readonly vmidBits?: number;
  readonly cpus?: number;
  readonly variant?: PinVariant;
  /** The trace clock the capture used (`/sys/kernel/tracing/trace_clock`: `local`, `global`, ...). */
  readonly traceClock?: string;
  /** Where it came from, for the report: one of `configOrigins`. */
  readonly origin: string;
}

/** `CPU:N [LOST M EVENTS]`, or a per-CPU buffer that started late. */
export interface LostEventsEvent extends EventBase {
  readonly kind: 'lost-events';
  /** Number of events lost, or undefined when unknown (a buffer that started late). */
  readonly count?: number;
  /** The CPU whose buffer lost them. */
  readonly lostCpu: number;
  /** Not a ring buffer's loss but a record later than the reorder window, replayed here. */
  readonly late?: true;
}

export type TraceMetaEvent = SystemConfigEvent | LostEventsEvent;
