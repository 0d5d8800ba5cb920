import type { EventBase } from '../events/common.js';

/** A pointer back into the trace: enough to quote the line in a finding. */
export interface EventRef {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly cpu: number;
  readonly tsUs: number;
}

export function refOf(event: EventBase): EventRef {
  return { file: event.span.file, line: event.span.line, text: event.text, cpu: event.cpu, tsUs: event.tsUs };
}
