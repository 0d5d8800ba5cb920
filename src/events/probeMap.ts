/**
 * Probe maps: how someone else's dynamic events mean the tool's events. A capture made with
 * other probe names (the real captures in ../shared/captures name theirs `update`,
 * `update_ret`, `rollover`, ...) is read through a JSON file that says, per event name, which
 * tool event it is and which of its arguments are the tool's fields:
 *
 *   { "format": "vmid-replay-probe-map", "version": 1,
 *     "events": {
 *       "update":     { "event": "vmid_update", "args": { "kvm_vmid": "vmid", "id": "id" } },
 *       "update_ret": { "event": "vmid_update_ret",
 *                       "args": { "kvm_vmid": "vmid", "id": "id", "act": ["act0", "act1"] } },
 *       "init_vm":    { "event": null, "why": "VM pointer comes from s2_init" } } }
 *
 * An `args` value that is a list builds an array field (`act={a0,a1}`) from several arguments.
 * `"event": null` marks an event as understood and deliberately unused.
 */

import { VmidReplayError } from '../errors.js';
import { toolEventNames } from './toolEventNames.js';
import type { ArgLookup } from './probeBody.js';

export interface MappedEvent {
  /** The tool event it stands for, or null for "recognised, not used". */
  readonly event: string | null;
  /** Tool field name to the capture's argument name (or names, for an array field). */
  readonly args: ReadonlyMap<string, string | readonly string[]>;
}

export interface ProbeMap {
  /** Where it came from, for messages. */
  readonly source: string;
  readonly events: ReadonlyMap<string, MappedEvent>;
}

function fail(source: string, message: string): never {
  throw new VmidReplayError('CONFIG_INVALID', `probe map: ${message}`, { file: source });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a parsed probe-map document; errors name the file and the entry. */
export function parseProbeMap(document: unknown, source: string): ProbeMap {
  if (!isRecord(document)) fail(source, 'expected a JSON object');
  if (document['format'] !== 'vmid-replay-probe-map') fail(source, 'expected "format": "vmid-replay-probe-map"');
  if (document['version'] !== 1) fail(source, `expected "version": 1, found ${JSON.stringify(document['version'])}`);
  const events = document['events'];
  if (!isRecord(events)) fail(source, 'expected "events": { "<event name>": { "event": ..., "args": {...} } }');
  const out = new Map<string, MappedEvent>();
  for (const [name, entry] of Object.entries(events)) {
    if (!isRecord(entry)) fail(source, `events.${name}: expected an object`);
    const event = entry['event'];
    if (event !== null && (typeof event !== 'string' || !toolEventNames.has(event))) {
      fail(source, `events.${name}.event: expected null or one of ${[...toolEventNames].sort().join(', ')}, found ${JSON.stringify(event)}`);
    }
    const args = new Map<string, string | readonly string[]>();
    const rawArgs = entry['args'] ?? {};
    if (!isRecord(rawArgs)) fail(source, `events.${name}.args: expected an object of field: argument`);
    for (const [field, from] of Object.entries(rawArgs)) {
      if (typeof from === 'string') args.set(field, from);
      else if (Array.isArray(from) && from.length > 0 && from.every((item) => typeof item === 'string')) args.set(field, from);
      else fail(source, `events.${name}.args.${field}: expected an argument name or a list of them`);
    }
    out.set(name, { event, args });
  }
  if (out.size === 0) fail(source, 'no events mapped');
  return { source, events: out };
}

/**
 * The capture's arguments read under the tool's names. A list field (`act` from `act0..act3`)
 * is joined into `{a,b,...}` only for a reader that asks for the text; the decoder parses its
 * elements where they are (`parsedList`), not from a joined string split again, since a
 * capture's `update_ret` prints eight of them on every call.
 */
export class MappedArgs implements ArgLookup {
  constructor(
    private readonly mapped: MappedEvent,
    private readonly args: ArgLookup,
  ) {}

  get(field: string): string | undefined {
    const from = this.mapped.args.get(field);
    if (from === undefined) return undefined;
    if (typeof from === 'string') return this.args.get(from);
    if (!this.hasAll(from)) return undefined;
    return `{${from.map((name) => this.args.get(name)).join(',')}}`;
  }

  has(field: string): boolean {
    const from = this.mapped.args.get(field);
    if (from === undefined) return false;
    return typeof from === 'string' ? this.args.has(from) : this.hasAll(from);
  }

  /**
   * A list field's elements, each read by `parseElement` as the joined text's would be:
   * undefined when one does not parse, null when the field is no list of plain values here
   * (not a list, not every element printed, or an element empty or holding a comma: the
   * caller then reads `get()`, which says whether it is there at all, and whose split sees
   * what the joined text shows).
   */
  parsedList<T>(field: string, parseElement: (part: string) => T | undefined): T[] | undefined | null {
    const from = this.mapped.args.get(field);
    if (from === undefined || typeof from === 'string') return null;
    const out: T[] = [];
    for (let i = 0; i < from.length; i++) {
      const value = this.args.get(from[i] as string);
      if (value === undefined || value.indexOf(',') !== -1) return null;
      const part = value.trim();
      if (part.length === 0) return null;
      const parsed = parseElement(part);
      // Not there at all when a later element is missing, whatever this one holds.
      if (parsed === undefined) return this.hasAll(from) ? undefined : null;
      out.push(parsed);
    }
    return out;
  }

  /** A partial array would misalign CPUs: a list field is there only when every element was printed. */
  private hasAll(from: readonly string[]): boolean {
    for (let i = 0; i < from.length; i++) if (!this.args.has(from[i] as string)) return false;
    return true;
  }
}
