/**
 * Grammar of a dynamic event's body (kprobe, kretprobe, fprobe, eprobe), as printed by
 * `kernel/trace/trace_probe.c`:
 *
 *   (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff00081d3c0a58 id=0x10012
 *   (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=0xffff00081d3c0a58 id=65554
 *   (arm_smmu_cmdq_issue_cmdlist+0x0/0x6a8) smmu=0xffff000004a1c080 n=2 cmds={0x528,0x0,0x46,0x0}
 *   comm="qemu-system-aar" (a string argument, quoted, may hold blanks)
 *
 * The location is optional: fprobe events (`f:`) and hand-written lines may omit it.
 */

export interface ProbeLocation {
  /** The probed function: for a return probe, the function that returned. */
  readonly func: string;
  /** Offset into `func` for an entry or in-function probe; 0 for a return probe. */
  readonly offset: number;
  /** The size of `func` as printed after the offset (`+0x28c/0x46c`): with the offset, it names one kernel build. */
  readonly size?: number;
  /** True for `(caller+off/size <- func)`. */
  readonly isReturn: boolean;
  /** For a return probe, the caller it returned into. */
  readonly caller?: string;
}

export interface ProbeBody {
  readonly location?: ProbeLocation;
  readonly args: ReadonlyMap<string, string>;
}

function parseNumber(text: string): number {
  return Number.parseInt(text, text.startsWith('0x') ? 16 : 10);
}

function parseSymbolOffset(text: string): { func: string; offset: number; size?: number } | undefined {
  // kvm_arm_vmid_update+0x0/0x1d0, or a bare symbol
  const plus = text.lastIndexOf('+');
  if (plus === -1) return text.length > 0 ? { func: text, offset: 0 } : undefined;
  const slash = text.indexOf('/', plus);
  const offset = parseNumber(text.slice(plus + 1, slash === -1 ? text.length : slash));
  if (!Number.isFinite(offset)) return undefined;
  const size = slash === -1 ? Number.NaN : parseNumber(text.slice(slash + 1));
  return Number.isFinite(size) ? { func: text.slice(0, plus), offset, size } : { func: text.slice(0, plus), offset };
}

function parseLocation(inner: string): ProbeLocation | undefined {
  const arrow = inner.indexOf(' <- ');
  if (arrow !== -1) {
    const caller = inner.slice(0, arrow).trim();
    const func = inner.slice(arrow + 4).trim();
    return func.length > 0 ? { func, offset: 0, isReturn: true, caller } : undefined;
  }
  const symbol = parseSymbolOffset(inner.trim());
  return symbol === undefined ? undefined : { ...symbol, isReturn: false };
}

/** Reading a probe's arguments by name: what the decoder needs of them. */
export interface ArgLookup {
  get(name: string): string | undefined;
  has(name: string): boolean;
}

/**
 * The arguments of one body, looked up in place: only the values asked for become strings. A
 * probe prints a handful of arguments and the decoder reads a few, once, so a scan beats
 * building a map per line. One instance can be `read` again for each line: its offsets array
 * is written over in place, so a line costs no allocation until a value is asked for. (A plain
 * array, not a typed one: a typed array costs more to make than one-off readers such as
 * `parseProbeArgs` save.)
 */
export class ProbeArgs implements ArgLookup {
  private text = '';
  /** [keyStart, keyEnd, valueStart, valueEnd] per argument, in order; the first `used` are this line's. */
  private readonly offsets: number[] = [];
  private used = 0;

  constructor(text?: string, start = 0) {
    if (text !== undefined) this.read(text, start);
  }

  /** Splits `k=v k2="a b" k3={1,2}` from `start` (tokens without `=` are skipped); forgets the previous text. */
  read(text: string, start: number): this {
    this.text = text;
    this.used = 0;
    let i = start;
    const n = text.length;
    while (i < n) {
      while (i < n && text.charCodeAt(i) === 0x20) i++;
      if (i >= n) break;
      const keyStart = i;
      // Native searches rather than a loop per character: this runs for every event line.
      let space = text.indexOf(' ', i);
      if (space === -1) space = n;
      const equals = text.indexOf('=', i);
      if (equals === -1 || equals > space) {
        // A token without `=`: skipped.
        i = space;
        continue;
      }
      const keyEnd = equals;
      i = equals + 1;
      let valueStart = i;
      let valueEnd: number;
      const open = text.charCodeAt(i);
      if (open === 0x22 /* " */) {
        valueStart = i + 1;
        const close = text.indexOf('"', valueStart);
        valueEnd = close === -1 ? n : close;
        i = close === -1 ? n : close + 1;
      } else if (open === 0x7b /* { */) {
        const close = text.indexOf('}', i);
        valueEnd = close === -1 ? n : close + 1;
        i = valueEnd;
      } else {
        valueEnd = space;
        i = space;
      }
      this.push(keyStart, keyEnd, valueStart, valueEnd);
    }
    return this;
  }

  private push(keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): void {
    const offsets = this.offsets;
    const at = this.used;
    if (at === offsets.length) offsets.push(keyStart, keyEnd, valueStart, valueEnd);
    else {
      offsets[at] = keyStart;
      offsets[at + 1] = keyEnd;
      offsets[at + 2] = valueStart;
      offsets[at + 3] = valueEnd;
    }
    this.used = at + 4;
  }

  /** Index of the last argument called `name` (as a map keeps the last value), or -1. */
  private find(name: string): number {
    const offsets = this.offsets;
    for (let i = this.used - 4; i >= 0; i -= 4) {
      const keyStart = offsets[i] as number;
      if ((offsets[i + 1] as number) - keyStart === name.length && this.text.startsWith(name, keyStart)) return i;
    }
    return -1;
  }

  get(name: string): string | undefined {
    const i = this.find(name);
    return i < 0 ? undefined : this.text.slice(this.offsets[i + 2], this.offsets[i + 3]);
  }

  has(name: string): boolean {
    return this.find(name) >= 0;
  }

  /** Every argument in order, a repeated key keeping its last value. */
  toMap(): Map<string, string> {
    const args = new Map<string, string>();
    for (let i = 0; i < this.used; i += 4) {
      args.set(this.text.slice(this.offsets[i], this.offsets[i + 1]), this.text.slice(this.offsets[i + 2], this.offsets[i + 3]));
    }
    return args;
  }
}

/** Splits `k=v k2="a b" k3={1,2}` into a map; tokens without `=` are ignored, a repeated key keeps its last value. */
export function parseProbeArgs(text: string, start = 0): Map<string, string> {
  return new ProbeArgs(text, start).toMap();
}

/** Where a body's `k=v` arguments start: after its `(location)`, if it has one. */
export function probeArgsStart(body: string): number {
  if (body.charCodeAt(0) !== 0x28 /* ( */) return 0;
  const close = body.indexOf(')');
  return close === -1 ? 0 : close + 1;
}

/**
 * Whether the body's location is a return probe's `(caller+off/size <- func)`: the same answer
 * as `parseProbeBody(body).location?.isReturn === true`, without building the location. The
 * decoder asks only this of lines named by the tool's event names, most lines of a trace.
 * `argsStart` is `probeArgsStart(body)`, for a caller that has it already.
 */
export function hasReturnLocation(body: string, argsStart = probeArgsStart(body)): boolean {
  const close = argsStart - 1;
  if (close <= 0) return false;
  const arrow = body.indexOf(' <- ', 1);
  if (arrow === -1 || arrow + 4 > close) return false;
  // parseLocation trims the function name and takes it if anything is left: the same test, without the substring.
  for (let i = arrow + 4; i < close; i++) if (!isTrimmedByTrim(body.charCodeAt(i))) return true;
  return false;
}

/** Whether String.prototype.trim() removes this UTF-16 unit (ECMAScript WhiteSpace and LineTerminator). */
function isTrimmedByTrim(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

export function parseProbeBody(body: string): ProbeBody {
  const location = probeLocation(body);
  const args = parseProbeArgs(body, probeArgsStart(body));
  return location === undefined ? { args } : { location, args };
}

/** The `(location)` a body opens with, if it has one: `parseProbeBody(body).location`, without the arguments. */
export function probeLocation(body: string): ProbeLocation | undefined {
  const close = probeArgsStart(body) - 1;
  return close <= 0 ? undefined : parseLocation(body.slice(1, close));
}

function hexDigitValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** Reads `0x1f`, `31` or `-22` as a safe integer; undefined when it is not one. */
export function parseIntegerArg(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = value.length;
  const negative = n > 0 && value.charCodeAt(0) === 0x2d;
  let i = negative ? 1 : 0;
  const hex = i + 1 < n && value.charCodeAt(i) === 0x30 && (value.charCodeAt(i + 1) | 0x20) === 0x78;
  if (hex) i += 2;
  if (i >= n) return undefined;
  // Digits past 2^53 make the sum inexact but keep it unsafe, so the answer stays exact.
  let parsed = 0;
  for (; i < n; i++) {
    const code = value.charCodeAt(i);
    const digit = hex ? hexDigitValue(code) : code >= 0x30 && code <= 0x39 ? code - 0x30 : -1;
    if (digit < 0) return undefined;
    parsed = parsed * (hex ? 16 : 10) + digit;
  }
  if (!Number.isSafeInteger(parsed)) return undefined;
  return negative && parsed !== 0 ? -parsed : parsed;
}

const u64Syntax = /^(?:0[xX][0-9a-fA-F]+|[0-9]+)$/;

/** Reads a 64-bit value (`0xffff...` or decimal) exactly, as a bigint. */
export function parseU64Arg(value: string | undefined): bigint | undefined {
  // Same grammar as parseIntegerArg: BigInt() alone would also take " " (as 0), "+5", "0b11".
  if (value === undefined || !u64Syntax.test(value)) return undefined;
  try {
    const parsed = BigInt(value);
    return parsed >= 0n && parsed < 1n << 64n ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Reads an array fetch `{0x1,0x2}` into 64-bit values. */
export function parseU64Array(value: string | undefined): bigint[] | undefined {
  return parseArrayOf(value, parseU64Arg);
}

/**
 * Reads an array fetch whose elements are ids (`{0x10012,65554}`): the same grammar as
 * `parseU64Array`, each element a safe integer, without a bigint per element. Undefined when
 * an element is not a 64-bit value or is one beyond 2^53 - 1.
 */
export function parseSafeArray(value: string | undefined): number[] | undefined {
  return parseArrayOf(value, (part) => (part.charCodeAt(0) === 0x2d /* - */ ? undefined : parseIntegerArg(part)));
}

function parseArrayOf<T>(value: string | undefined, parseElement: (part: string) => T | undefined): T[] | undefined {
  if (value === undefined || !value.startsWith('{') || !value.endsWith('}')) return undefined;
  const inner = value.slice(1, -1).trim();
  if (inner.length === 0) return [];
  const out: T[] = [];
  for (const part of inner.split(',')) {
    const parsed = parseElement(part.trim());
    if (parsed === undefined) return undefined;
    out.push(parsed);
  }
  return out;
}
