/**
 * Records to typed events. This is the only place where event names, probe names and
 * probed functions are compared as strings; everything after it switches on `kind`.
 *
 * An event line is recognised in one of two ways:
 * 1. by the tool's own event names (`docs/trace-format.md`), e.g. `vmid_update:`;
 * 2. by the probed function in a dynamic event's location, whatever the probe is called:
 *    `upd: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0x...` is an update entry, and
 *    `r1: (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) ...` its return.
 * Probes inside a function (offset other than 0) have no meaning without a mapping and are
 * counted as unrecognised, never guessed at.
 */

import type { EventRecord, HeaderRecord } from '../ingest/records.js';
import { hasReturnLocation, parseIntegerArg, parseProbeBody, parseSafeArray, parseU64Arg, parseU64Array, probeArgsStart, probeLocation, ProbeArgs, type ArgLookup, type ProbeLocation } from './probeBody.js';
import type { EventBase, KernelPointer } from './common.js';
import type { TraceEvent } from './index.js';
import type { CpuTlbiOp } from './cpuEvents.js';
import { configOrigins, type PinVariant } from './traceEvents.js';
import type { AllocatorObservation } from './kvmEvents.js';
import { commandFromFields, decodeSmmuCommand, type SmmuCommand } from './smmuCommand.js';
import { decodeSte, steConfigs } from './ste.js';
import type { SteConfig } from './smmuEvents.js';
import { meaningByEventName, type Meaning } from './toolEventNames.js';
import { MappedArgs, type ProbeMap } from './probeMap.js';

export type DecodeOutcome =
  | { readonly type: 'event'; readonly event: TraceEvent }
  | { readonly type: 'unused'; readonly name: string }
  /** `location` is where the probe sits, which is what recognises a known probe set (knownProbeSets.ts). */
  | { readonly type: 'unrecognised-probe'; readonly name: string; readonly detail: string; readonly location: ProbeLocation }
  | { readonly type: 'malformed'; readonly expected: string };

/** Kernel functions whose entry (offset 0) has a meaning; returns map via `returnMeaning`. */
const meaningByFunction: ReadonlyMap<string, Meaning> = new Map([
  ['kvm_arm_vmid_update', 'update'],
  ['kvm_arm_vmid_clear_active', 'clear-active'],
  ['kvm_arm_pinned_vmid_get', 'pin-get'],
  ['kvm_arm_pinned_vmid_put', 'pin-put'],
  ['kvm_init_stage2_mmu', 'vm-create'],
  ['kvm_free_stage2_pgd', 'vm-destroy'],
  ['arm_smmu_cmdq_issue_cmdlist', 'smmu-cmd'],
  ['arm_smmu_write_ste', 'smmu-ste'],
  ['__kvm_tlb_flush_vmid', 'cpu-tlbi-vmid'],
  ['__kvm_tlb_flush_vmid_ipa', 'cpu-tlbi-ipa'],
  // 6.6+: TLBI RIPAS2E1IS over an IPA range; like a by-IPA invalidation it does not clean the VMID.
  ['__kvm_tlb_flush_vmid_range', 'cpu-tlbi-ipa'],
  ['__kvm_flush_vm_context', 'cpu-tlbi-all'],
]);

const returnMeaning: Partial<Record<Meaning, Meaning>> = {
  update: 'update-return',
  'pin-get': 'pin-get-return',
};

/** Names under which a VM's `struct kvm_vmid` / `struct kvm_s2_mmu` pointer may be printed. */
const vmArgNames = ['kvm_vmid', 'vmid_ptr', 'vmid', 'mmu', 'vm'] as const;

export interface DecodeContext {
  /** VMID width, when known, to take the index out of a full id (`generation | index`). */
  readonly vmidBits: number | undefined;
  /** How to read someone else's probe names (`--map`). */
  readonly probeMap?: ProbeMap;
  /** The trace's pointers so far, when a caller decodes many lines of one trace. */
  readonly pointers?: PointerTable;
}

/** An SMMU is named by its pointer (normalised like VM pointers) or by a free-form name. */
function smmuName(value: string | undefined, pointers: PointerTable | undefined): string | undefined {
  if (value === undefined || value.length === 0) return undefined;
  return pointerOf(value, pointers) ?? value;
}

/**
 * `0x` and 1 to 16 lower-case hex digits, no leading zero (`0x0` aside): already what
 * normalising would print. A loop, not a regex: this runs for nearly every line of a trace.
 */
function isCanonicalPointer(value: string): boolean {
  const n = value.length;
  if (n < 3 || n > 18 || value.charCodeAt(0) !== 0x30 || value.charCodeAt(1) !== 0x78) return false;
  if (value.charCodeAt(2) === 0x30) return n === 3;
  for (let i = 2; i < n; i++) {
    const code = value.charCodeAt(i);
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false;
  }
  return true;
}

function normalisePointer(value: string): KernelPointer | undefined {
  // Hot path: kernels print pointers in canonical form; skip the bigint round trip for them.
  if (isCanonicalPointer(value)) return value;
  const parsed = parseU64Arg(value);
  return parsed === undefined ? undefined : `0x${parsed.toString(16)}`;
}

/**
 * The kernel pointers of one trace, each kept as one string: the events of a VM then share
 * it, so the replay's maps find it under a hash already computed and its comparisons succeed
 * on identity, and each is checked once (a fresh string per line, checked character by
 * character, was 4 % of a dense replay). Only canonical spellings are kept, each as a string
 * of its own: an argument is a slice of its line and would keep the whole line alive. The
 * table starts over past `limit` pointers, so a trace of ever new ones cannot grow it.
 */
export class PointerTable {
  private readonly canonical = new Map<string, KernelPointer>();

  constructor(private readonly limit = 1 << 16) {}

  /** How many pointers are kept. */
  get size(): number {
    return this.canonical.size;
  }

  /** `value` normalised (lower-case hex, no leading zeros), or undefined when it is no pointer. */
  normalise(value: string): KernelPointer | undefined {
    const known = this.canonical.get(value);
    if (known !== undefined) return known;
    const pointer = normalisePointer(value);
    if (pointer !== value) return pointer;
    if (this.canonical.size >= this.limit) this.canonical.clear();
    const own = `0x${BigInt(value).toString(16)}`;
    this.canonical.set(own, own);
    return own;
  }
}

function pointerOf(value: string | undefined, pointers: PointerTable | undefined): KernelPointer | undefined {
  if (value === undefined) return undefined;
  return pointers === undefined ? normalisePointer(value) : pointers.normalise(value);
}

/**
 * fprobe events are named `SYM__entry` / `SYM__exit` by default, and on arm64 an fprobe's
 * entry prints the address after the patched-in call (`kvm_arm_vmid_update+0x4/0x46c`, `+0x8`
 * with BTI), so for them the function name, not the offset, says it is an entry.
 */
function fprobeMeaning(name: string): Meaning | undefined {
  if (name.endsWith('__entry')) return meaningByFunction.get(name.slice(0, -'__entry'.length));
  if (name.endsWith('__exit')) {
    const entry = meaningByFunction.get(name.slice(0, -'__exit'.length));
    return entry === undefined ? undefined : returnMeaning[entry];
  }
  return undefined;
}

/** `argsStart` is `probeArgsStart(record.body)`: the caller needs it too (its search was 7 % of decoding, made twice). */
function meaningOf(record: EventRecord, argsStart: number): Meaning | { unrecognised: string; location: ProbeLocation } | undefined {
  // Tool names first: they are most lines of most traces (no tool name ends in __entry/__exit).
  const byName = meaningByEventName.get(record.name);
  if (byName !== undefined) {
    if (hasReturnLocation(record.body, argsStart)) return returnMeaning[byName] ?? byName;
    return byName;
  }
  const byFprobeName = fprobeMeaning(record.name);
  if (byFprobeName !== undefined) return byFprobeName;
  if (record.body.charCodeAt(0) !== 0x28 /* ( */) return undefined;
  // Recognition by function: only now is the location parsed.
  const where = probeLocation(record.body);
  if (where === undefined) return undefined;
  const byFunction = meaningByFunction.get(where.func);
  if (byFunction === undefined) return { unrecognised: `probe on ${where.func}`, location: where };
  if (where.isReturn) {
    const onReturn = returnMeaning[byFunction];
    return onReturn ?? { unrecognised: `return probe on ${where.func}`, location: where };
  }
  if (where.offset !== 0) return { unrecognised: `probe inside ${where.func} at +0x${where.offset.toString(16)}`, location: where };
  return byFunction;
}

/** Reads the VM pointer argument, whichever of the accepted names it is printed under. */
function vmArg(args: ArgLookup, ctx: DecodeContext): KernelPointer | undefined {
  // An indexed loop: for-of over the names was the hottest line of decoding.
  for (let i = 0; i < vmArgNames.length; i++) {
    const value = pointerOf(args.get(vmArgNames[i] as string), ctx.pointers);
    if (value !== undefined) return value;
  }
  return undefined;
}

function baseOf(record: EventRecord): EventBase {
  return { span: record.span, source: record, cpu: record.cpu, tsUs: record.tsUs, tsNs: record.tsNs };
}

const variantNames: Readonly<Record<string, PinVariant>> = {
  mainline: 'mainline',
  'rfc-v2': 'rfc-v2',
  rfcv2: 'rfc-v2',
  'rfc-v3': 'rfc-v3',
  rfcv3: 'rfc-v3',
};

function parseBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on' || value === '1' || value === 'true' || value === 'yes') return true;
  if (value === 'off' || value === '0' || value === 'false' || value === 'no') return false;
  return undefined;
}

/** Fields of a `vmid-replay:` configuration line (header comment, marker or `vmid_config`). */
function configFromArgs(base: EventBase, args: ArgLookup, origin: string): TraceEvent | string {
  // Configuration lines are few: their pointers are not kept.
  const smmu = smmuName(args.get('smmu'), undefined);
  const vmidBits = parseIntegerArg(args.get('vmid_bits'));
  if (args.has('vmid_bits') && (vmidBits === undefined || vmidBits < 2 || vmidBits > 16)) return 'vmid_bits= between 2 and 16';
  if (smmu !== undefined) {
    const btm = parseBool(args.get('btm'));
    if (args.has('btm') && btm === undefined) return 'btm=on or btm=off';
    return { ...base, kind: 'smmu-config', smmu, vmidBits, btm };
  }
  const cpus = parseIntegerArg(args.get('cpus'));
  if (args.has('cpus') && (cpus === undefined || cpus < 1)) return 'cpus= a positive CPU count';
  const variantText = args.get('variant');
  const variant = variantText === undefined ? undefined : variantNames[variantText];
  if (variantText !== undefined && variant === undefined) return 'variant=mainline, rfc-v2 or rfc-v3';
  const traceClock = args.get('trace_clock');
  if (traceClock !== undefined && !/^[a-z][a-z0-9_-]*$/.test(traceClock)) return 'trace_clock= a clock name such as local or global';
  return { ...base, kind: 'system-config', vmidBits, cpus, variant, traceClock, origin };
}

const configPrefix = 'vmid-replay:';

/**
 * Header lines that carry system facts:
 *   # vmid-replay: vmid_bits=8 cpus=4 variant=rfc-v2
 *   # vmid-replay: smmu=smmu0 vmid_bits=16 btm=on
 *   # entries-in-buffer/entries-written: 183063/183063   #P:4     (CPU count, a fallback)
 */
export function decodeHeader(record: HeaderRecord): DecodeOutcome | undefined {
  const text = record.text;
  const base: EventBase = { span: record.span, source: record, cpu: -1, tsUs: 0, tsNs: 0 };
  const at = text.indexOf(configPrefix);
  if (at !== -1) {
    const event = configFromArgs(base, parseProbeBody(text.slice(at + configPrefix.length).trim()).args, configOrigins.header);
    return typeof event === 'string' ? { type: 'malformed', expected: event } : { type: 'event', event };
  }
  const cpusAt = text.indexOf('#P:');
  if (cpusAt !== -1) {
    const cpus = parseIntegerArg(text.slice(cpusAt + 3).trim());
    if (cpus !== undefined && cpus > 0) return { type: 'event', event: { ...base, kind: 'system-config', cpus, origin: configOrigins.cpuCountHeader } };
  }
  return undefined;
}

function decodeCommands(args: ArgLookup): { commands: SmmuCommand[]; truncated: boolean } | string {
  const op = args.get('op');
  if (op !== undefined) {
    const command = commandFromFields(op, (name) => parseIntegerArg(args.get(name)), parseU64Arg(args.get('addr')));
    return typeof command === 'string' ? command : { commands: [command], truncated: false };
  }
  const cmd0 = parseU64Arg(args.get('cmd0'));
  if (cmd0 !== undefined) return { commands: [decodeSmmuCommand(cmd0, parseU64Arg(args.get('cmd1')) ?? 0n)], truncated: false };
  const dwords = parseU64Array(args.get('cmds'));
  if (dwords === undefined) return 'op=NAME, cmd0=/cmd1= dwords, or cmds={...} with n=';
  const count = parseIntegerArg(args.get('n')) ?? Math.floor(dwords.length / 2);
  const available = Math.min(count, Math.floor(dwords.length / 2));
  const commands: SmmuCommand[] = [];
  for (let i = 0; i < available; i++) commands.push(decodeSmmuCommand(dwords[2 * i] ?? 0n, dwords[2 * i + 1] ?? 0n));
  // `sync=1`: arm_smmu_cmdq_issue_cmdlist() appends a CMD_SYNC after the list.
  if (parseIntegerArg(args.get('sync')) === 1 && available === count) commands.push({ op: 'CMD_SYNC' });
  return { commands, truncated: available < count };
}

function decodeSteFields(args: ArgLookup): { config: SteConfig; s2vmid: number } | string {
  const cfg = args.get('cfg');
  if (cfg !== undefined) {
    const config = steConfigs.find((name) => name === cfg);
    if (config === undefined) return `cfg= one of ${steConfigs.join(', ')}`;
    const s2vmid = parseIntegerArg(args.get('s2vmid')) ?? 0;
    return { config, s2vmid };
  }
  const ste0 = parseU64Arg(args.get('ste0'));
  if (ste0 === undefined) return 'cfg= and s2vmid=, or the raw STE dwords ste0= and ste2=';
  return decodeSte(ste0, parseU64Arg(args.get('ste2')) ?? 0n);
}

function vmidIndexOf(args: ArgLookup, ctx: DecodeContext): number | undefined {
  // `vmid=` is an index only when it fits 16 bits: probes often print the pointer under that name.
  const direct = parseIntegerArg(args.get('vmid'));
  if (direct !== undefined && direct >= 0 && direct < 1 << 16) return direct;
  const id = parseIntegerArg(args.get('id'));
  if (id !== undefined && ctx.vmidBits !== undefined) return id % 2 ** ctx.vmidBits;
  return undefined;
}

const observedIntegers: readonly (readonly [string, keyof AllocatorObservation])[] = [
  ['active', 'activeId'],
  ['gen', 'generation'],
  ['newgen', 'flushGeneration'],
  ['cur_idx', 'curIdx'],
  ['reserved_hit', 'reservedHit'],
];
const observedArrays: readonly (readonly [string, keyof AllocatorObservation])[] = [
  ['act', 'activeAll'],
  ['res', 'reservedAll'],
];

/** An element of an id list, as `parseSafeArray` reads it. */
const safeId = (part: string): number | undefined => (part.charCodeAt(0) === 0x2d /* - */ ? undefined : parseIntegerArg(part));

/**
 * A list argument, or null when it is not there: a mapped probe's separate arguments parsed
 * where they are, else the `{...}` text. Undefined when it is there and is no such list.
 */
function listArg<T>(args: ArgLookup, name: string, parseElement: (part: string) => T | undefined, parseText: (text: string | undefined) => T[] | undefined): T[] | undefined | null {
  if (args instanceof MappedArgs) {
    const parsed = args.parsedList(name, parseElement);
    if (parsed !== null) return parsed;
  }
  const text = args.get(name);
  return text === undefined ? null : parseText(text);
}

/** Optional allocator state a probe read (docs/trace-format.md, "Observed allocator state"). */
function readObservation(args: ArgLookup): AllocatorObservation | string | undefined {
  let observation: Record<string, unknown> | undefined;
  // Tables hoisted, each argument looked up once, and the result allocated only when a field
  // is present: this runs for every update return, and most probes record no allocator state.
  for (const [arg, field] of observedIntegers) {
    const text = args.get(arg);
    if (text === undefined) continue;
    const value = parseIntegerArg(text);
    if (value === undefined) return `${arg}= an integer`;
    (observation ??= {})[field] = value;
  }
  for (const [arg, field] of observedArrays) {
    const values = listArg(args, arg, safeId, parseSafeArray);
    if (values === null) continue;
    if (values === undefined) return `${arg}={...} a list of ids`;
    (observation ??= {})[field] = values;
  }
  const words = listArg(args, 'map', parseU64Arg, parseU64Array);
  if (words === undefined) return 'map={...} a list of 64-bit bitmap words';
  if (words !== null) (observation ??= {})['mapWords'] = words;
  return observation;
}

/** What an entry probe read besides the id: `vmid_generation` (`gen=`), a lock-free read. */
function entryObservation(args: ArgLookup): AllocatorObservation | string | undefined {
  if (!args.has('gen')) return undefined;
  const generation = parseIntegerArg(args.get('gen'));
  return generation === undefined ? 'gen= an integer' : { generation };
}

function decodeMeaning(meaning: Meaning, record: EventRecord, args: ArgLookup, ctx: DecodeContext): TraceEvent | string {
  // The record is the event's source: its text, which a reader may make on demand, is not read here.
  const { span, cpu, tsUs, tsNs } = record;
  const source = record;
  switch (meaning) {
    case 'update':
    case 'update-decision':
    case 'update-return': {
      const pointer = vmArg(args, ctx);
      if (pointer === undefined && meaning === 'update') return 'the VM pointer as kvm_vmid=, vmid= or mmu=';
      const phase = meaning === 'update' ? 'entry' : meaning === 'update-decision' ? 'decision' : 'return';
      const observed = phase === 'entry' ? entryObservation(args) : readObservation(args);
      if (typeof observed === 'string') return observed;
      const observedId = parseIntegerArg(args.get('id'));
      // Literals, not spreads: this runs for most lines of a dense trace, and spreads are slow.
      return observed === undefined
        ? { span, source, cpu, tsUs, tsNs, kind: 'vmid-update', phase, vm: pointer, observedId }
        : { span, source, cpu, tsUs, tsNs, kind: 'vmid-update', phase, vm: pointer, observedId, observed };
    }
    case 'clear-active':
      return { span, source, cpu, tsUs, tsNs, kind: 'vmid-clear-active' };
    case 'pin-get':
    case 'pin-get-return': {
      const pointer = vmArg(args, ctx);
      if (pointer === undefined && meaning === 'pin-get') return 'the VM pointer as kvm_vmid=, vmid= or mmu=';
      return { span, source, cpu, tsUs, tsNs, kind: 'pin-get', phase: meaning === 'pin-get' ? 'entry' : 'return', vm: pointer, observedRet: parseIntegerArg(args.get('ret')) };
    }
    case 'pin-put': {
      const pointer = vmArg(args, ctx);
      return pointer === undefined ? 'the VM pointer as kvm_vmid=, vmid= or mmu=' : { span, source, cpu, tsUs, tsNs, kind: 'pin-put', vm: pointer };
    }
    case 'vm-create': {
      const pointer = vmArg(args, ctx);
      return pointer === undefined ? 'the VM pointer as mmu= or kvm_vmid=' : { span, source, cpu, tsUs, tsNs, kind: 'vm-create', vm: pointer };
    }
    case 'vm-destroy': {
      const pointer = vmArg(args, ctx);
      return pointer === undefined
        ? 'the VM pointer as mmu= or kvm_vmid='
        : { span, source, cpu, tsUs, tsNs, kind: 'vm-destroy', vm: pointer, observedId: parseIntegerArg(args.get('id')) };
    }
    case 'rollover':
      return { span, source, cpu, tsUs, tsNs, kind: 'vmid-rollover', observedGeneration: parseIntegerArg(args.get('gen')) };
    case 'smmu-ste': {
      const smmu = smmuName(args.get('smmu'), ctx.pointers);
      const sid = parseIntegerArg(args.get('sid'));
      if (smmu === undefined || sid === undefined) return 'smmu= and sid=';
      const fields = decodeSteFields(args);
      if (typeof fields === 'string') return fields;
      const owner = pointerOf(args.get('vm'), ctx.pointers);
      return { span, source, cpu, tsUs, tsNs, kind: 'smmu-ste', smmu, sid, config: fields.config, s2vmid: fields.s2vmid, vm: owner };
    }
    case 'smmu-vmid-alloc':
    case 'smmu-vmid-free': {
      const smmu = smmuName(args.get('smmu'), ctx.pointers);
      const vmid = parseIntegerArg(args.get('vmid'));
      if (smmu === undefined || vmid === undefined) return 'smmu= and vmid=';
      return { span, source, cpu, tsUs, tsNs, kind: meaning, smmu, vmid };
    }
    case 'smmu-cmd': {
      const smmu = smmuName(args.get('smmu'), ctx.pointers);
      if (smmu === undefined) return 'smmu=';
      const decoded = decodeCommands(args);
      return typeof decoded === 'string' ? decoded : { span, source, cpu, tsUs, tsNs, kind: 'smmu-cmd', smmu, commands: decoded.commands, truncated: decoded.truncated };
    }
    case 'smmu-config':
    case 'system-config':
      return configFromArgs(baseOf(record), args, configOrigins.configEvent);
    case 'cpu-tlbi-vmid':
    case 'cpu-tlbi-ipa':
    case 'cpu-tlbi-all': {
      const op: CpuTlbiOp = meaning === 'cpu-tlbi-vmid' ? 'VMALLS12E1IS' : meaning === 'cpu-tlbi-ipa' ? 'IPAS2E1IS' : 'ALLE1IS';
      if (op === 'ALLE1IS') return { span, source, cpu, tsUs, tsNs, kind: 'cpu-tlbi', op };
      const vmid = vmidIndexOf(args, ctx);
      if (vmid === undefined) return 'vmid= (the VMID index), or id= with a known VMID width';
      return { span, source, cpu, tsUs, tsNs, kind: 'cpu-tlbi', op, vmid, vm: pointerOf(args.get('mmu'), ctx.pointers), ipa: parseU64Arg(args.get('ipa')) };
    }
  }
}

/**
 * Whether an event line named `name` can decode to anything but `unused`: false only when
 * `decodeEventRecord` would certainly say `unused` for it, whatever its body, given only
 * whether the body opens with a probe location. Readers skip such lines after their name.
 */
export function mayDecode(name: string, opensWithLocation: boolean, probeMap: ProbeMap | undefined): boolean {
  if (name === 'tracing_mark_write' || name === 'print') return true;
  const mapped = probeMap?.events.get(name);
  if (mapped !== undefined) return mapped.event !== null;
  return opensWithLocation || meaningByEventName.has(name) || fprobeMeaning(name) !== undefined;
}

/**
 * Decodes one event record. Never throws: bad fields come back as `malformed`. `args` is
 * where the body's arguments are read: a caller decoding line after line passes the same one
 * (nothing keeps it past the call), which saves an allocation per line.
 */
export function decodeEventRecord(record: EventRecord, ctx: DecodeContext, args: ProbeArgs = new ProbeArgs()): DecodeOutcome {
  if (record.name === 'tracing_mark_write' || record.name === 'print') {
    // echo 'vmid-replay: vmid_bits=8 cpus=4' > /sys/kernel/tracing/trace_marker
    const at = record.body.indexOf(configPrefix);
    if (at === -1) return { type: 'unused', name: record.name };
    const event = configFromArgs(baseOf(record), parseProbeBody(record.body.slice(at + configPrefix.length).trim()).args, configOrigins.marker);
    return typeof event === 'string' ? { type: 'malformed', expected: event } : { type: 'event', event };
  }
  const mapped = ctx.probeMap?.events.get(record.name);
  if (mapped !== undefined) {
    // A mapped name means what the map says, whatever its probe location.
    if (mapped.event === null) return { type: 'unused', name: record.name };
    const mappedMeaning = meaningByEventName.get(mapped.event) as Meaning;
    // Only the arguments: a mapped probe's location is never looked at.
    const event = decodeMeaning(mappedMeaning, record, new MappedArgs(mapped, args.read(record.body, probeArgsStart(record.body))), ctx);
    return typeof event === 'string' ? { type: 'malformed', expected: `${record.name} (mapped to ${mapped.event}): ${event}` } : { type: 'event', event };
  }
  // Most lines need only the arguments: the location is built only for recognition by function.
  const argsStart = probeArgsStart(record.body);
  const meaning = meaningOf(record, argsStart);
  if (meaning === undefined) return { type: 'unused', name: record.name };
  if (typeof meaning !== 'string') return { type: 'unrecognised-probe', name: record.name, detail: meaning.unrecognised, location: meaning.location };
  const event = decodeMeaning(meaning, record, args.read(record.body, argsStart), ctx);
  return typeof event === 'string' ? { type: 'malformed', expected: `${record.name}: ${event}` } : { type: 'event', event };
}
