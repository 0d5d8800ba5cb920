import type { EventBase } from '../events/common.js';

/**
 * A pointer back into the trace: enough to quote the line in a finding. Findings, diagnostics'
 * data loss and the result's last line hold these. The replay, the models and the checks keep
 * the event itself instead (`EventBase`) and make a ref only when a finding quotes it: a ref
 * made for every event, most of them kept past the young generation as "loaded by" or
 * "installed by", was 6 % of a dense MessagePack replay.
 */
export interface EventRef {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly cpu: number;
  readonly tsUs: number;
}

export function refOf(event: EventBase): EventRef {
  return { file: event.span.file, line: event.span.line, text: event.source.text, cpu: event.cpu, tsUs: event.tsUs };
}
