/**
 * The meaning of an event line as numbers, for MessagePack version 3 (docs/msgpack-format.md):
 * `convert` decodes each event line once and stores what the hot kinds (VM lifetimes, VMID
 * updates without observed state, pins) mean as a code, a pointer and an integer, so a replay
 * of the file builds those events without reading their bodies. Every other line (a probe
 * that read allocator state, SMMU and TLBI lines, configuration, anything unrecognised or
 * malformed) has code 0 and is decoded from its body as in text.
 *
 * A code says what `decodeEventRecord` gave for the line without a probe map and whatever the
 * VMID width: none of the kinds coded here reads either. A probe map can give any event name
 * another meaning, so a line whose name the map knows is decoded from its body.
 */
import type { EventRecord } from '../ingest/records.js';
import { PointerTable, decodeEventRecord, type DecodeContext, type DecodeOutcome } from './decode.js';
import { ProbeArgs } from './probeBody.js';
import type { TraceEvent, VmidUpdateEvent } from './index.js';
import type { ProbeMap } from './probeMap.js';

/** Codes in the low bits of the meaning byte; 0: decode the body. */
const codeVmCreate = 1;
const codeVmDestroy = 2;
const codeUpdateEntry = 3;
const codeUpdateDecision = 4;
const codeUpdateReturn = 5;
const codeClearActive = 6;
const codePinGetEntry = 7;
const codePinGetReturn = 8;
const codePinPut = 9;
/** The update phases in code order, from codeUpdateEntry. */
const updatePhases: readonly VmidUpdateEvent['phase'][] = ['entry', 'decision', 'return'];
/** Set when the integer operand (`observedId`, `observedRet`) is present. */
const meaningHasValue = 0x20;

/** Codes whose event always names its VM. */
const codesNeedingVm = (1 << codeVmCreate) | (1 << codeVmDestroy) | (1 << codeUpdateEntry) | (1 << codePinGetEntry) | (1 << codePinPut);

/** A line's meaning as numbers: the byte (code, value bit), the VM pointer, the integer operand. */
export interface Precoded {
  readonly meaning: number;
  readonly vm: string | undefined;
  readonly value: number;
}

const notCoded: Precoded = { meaning: 0, vm: undefined, value: 0 };

function coded(code: number, vm: string | undefined, value: number | undefined): Precoded {
  if (value !== undefined && !Number.isSafeInteger(value)) return notCoded;
  return { meaning: code | (value === undefined ? 0 : meaningHasValue), vm, value: value ?? 0 };
}

/** What `outcome` (decoded without a probe map) stores, or code 0. */
export function precode(outcome: DecodeOutcome): Precoded {
  if (outcome.type !== 'event') return notCoded;
  const event = outcome.event;
  switch (event.kind) {
    case 'vm-create':
      return coded(codeVmCreate, event.vm, undefined);
    case 'vm-destroy':
      return coded(codeVmDestroy, event.vm, event.observedId);
    case 'vmid-update':
      if (event.observed !== undefined) return notCoded;
      return coded(codeUpdateEntry + updatePhases.indexOf(event.phase), event.vm, event.observedId);
    case 'vmid-clear-active':
      return coded(codeClearActive, undefined, undefined);
    case 'pin-get':
      return coded(event.phase === 'entry' ? codePinGetEntry : codePinGetReturn, event.vm, event.observedRet);
    case 'pin-put':
      return coded(codePinPut, event.vm, undefined);
    default:
      return notCoded;
  }
}

/**
 * Precodes the event lines of one trace, in file order (its pointers kept once, its arguments
 * read into one reused place, as the replay's decoder does).
 */
export function linePrecoder(): (record: EventRecord) => Precoded {
  const context: DecodeContext = { vmidBits: undefined, pointers: new PointerTable() };
  const args = new ProbeArgs();
  return (record) => precode(decodeEventRecord(record, context, args));
}

/**
 * The event a version 3 record's meaning stands for, built as `decodeEventRecord` builds it
 * (the same fields in the same order); undefined when the body must be decoded: code 0, a name
 * the probe map knows, or a code this version does not know or that lacks the VM it needs
 * (the body then says what the line means, as in text).
 */
export function precodedOutcome(record: EventRecord, probeMap: ProbeMap | undefined): DecodeOutcome | undefined {
  const meaning = record.precodedMeaning;
  if (meaning === undefined || meaning === 0) return undefined;
  if (probeMap !== undefined && probeMap.events.has(record.name)) return undefined;
  const code = meaning & ~meaningHasValue;
  if (record.precodedVm === undefined && ((codesNeedingVm >> code) & 1) === 1) return undefined;
  const { span, cpu, tsUs, tsNs } = record;
  const source = record;
  const vm = record.precodedVm as string;
  const value = (meaning & meaningHasValue) === 0 ? undefined : record.precodedValue;
  let event: TraceEvent;
  switch (code) {
    case codeVmCreate:
      event = { span, source, cpu, tsUs, tsNs, kind: 'vm-create', vm };
      break;
    case codeVmDestroy:
      event = { span, source, cpu, tsUs, tsNs, kind: 'vm-destroy', vm, observedId: value };
      break;
    case codeUpdateEntry:
    case codeUpdateDecision:
    case codeUpdateReturn:
      event = { span, source, cpu, tsUs, tsNs, kind: 'vmid-update', phase: updatePhases[code - codeUpdateEntry] as VmidUpdateEvent['phase'], vm: record.precodedVm, observedId: value };
      break;
    case codeClearActive:
      event = { span, source, cpu, tsUs, tsNs, kind: 'vmid-clear-active' };
      break;
    case codePinGetEntry:
    case codePinGetReturn:
      event = { span, source, cpu, tsUs, tsNs, kind: 'pin-get', phase: code === codePinGetEntry ? 'entry' : 'return', vm: record.precodedVm, observedRet: value };
      break;
    case codePinPut:
      event = { span, source, cpu, tsUs, tsNs, kind: 'pin-put', vm };
      break;
    default:
      return undefined;
  }
  return { type: 'event', event };
}
