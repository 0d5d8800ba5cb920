/**
 * Grammar of one line of `/sys/kernel/tracing/trace` or `trace_pipe` output, parsed by
 * scanning characters (no regular expression per line). Shapes accepted, all real:
 *
 *   qemu-system-aar-4711 [003] d..1. 1520.114223: upd: (kvm_arm_vmid_update+0x0/0x1d0) ...
 *            vmchurn-188     (    188) [000] d....     4.278438: init_vm: (kvm_arch_init_vm+0x0/0x16c) ...
 *            <idle>-0       [001] d....     7.698542: sched_switch: prev_comm=swapper/1 ...
 *           <...>-219     [003] .....     6.378703: tracing_mark_write: phase seq begin
 *     CPU 0/KVM-4711    [002] ....  88.123456: kvm_entry: PC: 0x0000000040000018     (4.x: 4 flag chars)
 *         bash-1234  [001]  1520.114223: ...                                        (irq-info off)
 *   CPU:2 [LOST 123 EVENTS]
 *   CPU:4 [LOST EVENTS]          (the `trace` file's iterator, passed by the writer: no count)
 *   ##### CPU 2 buffer started ####
 */

import type { SourceSpan, TraceRecord } from '../records.js';

import { char0, char9, charCloseBracket, charColon, charDot, charHash, charSpace, charTab } from '../charCodes.js';

export function isDigit(code: number): boolean {
  return code >= char0 && code <= char9;
}

export function isBlank(code: number): boolean {
  return code === charSpace || code === charTab;
}

export function skipBlanks(text: string, i: number): number {
  while (i < text.length && isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** Parses digits in [start, end) as a non-negative integer; -1 if any is not a digit. */
export function parseDigits(text: string, start: number, end: number): number {
  if (end <= start) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return -1;
    value = value * 10 + (c - char0);
  }
  return value;
}

/** Finds the `[NNN]` CPU column: the first bracket holding only digits and followed by a blank. */
function findCpuColumn(text: string): number {
  let open = text.indexOf('[');
  while (open !== -1) {
    let j = open + 1;
    while (j < text.length && isDigit(text.charCodeAt(j))) j++;
    if (j > open + 1 && text.charCodeAt(j) === charCloseBracket && (j + 1 === text.length || isBlank(text.charCodeAt(j + 1)))) {
      return open;
    }
    open = text.indexOf('[', open + 1);
  }
  return -1;
}

/** Nanoseconds in one unit of a fraction with that many digits (a table: this runs per line). */
export const nsPerFractionUnit = [0, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

export interface Timestamp {
  readonly us: number;
  readonly ns: number;
}

/**
 * `1520.114223` (microseconds), `1520.114223456` (nanoseconds, trace-cmd -t or a ns clock),
 * `1520.114` (milliseconds, rare), or a bare counter (`counter`/`x86-tsc` clocks).
 */
export function parseTimestamp(text: string, start: number, end: number): Timestamp | undefined {
  let dot = -1;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) === charDot) {
      dot = i;
      break;
    }
  }
  // Digits beyond 2^53 would be rounded silently: such a stamp is refused, never made inexact.
  if (dot === -1) {
    const counter = parseDigits(text, start, end);
    return counter < 0 || !Number.isSafeInteger(counter) ? undefined : { us: counter, ns: 0 };
  }
  const secs = parseDigits(text, start, dot);
  const fracDigits = end - dot - 1;
  if (secs < 0 || fracDigits < 1 || fracDigits > 9) return undefined;
  const frac = parseDigits(text, dot + 1, end);
  if (frac < 0) return undefined;
  const fracNs = frac * (nsPerFractionUnit[fracDigits] ?? 0);
  const subUs = fracNs % 1000;
  const us = secs * 1_000_000 + (fracNs - subUs) / 1000;
  return Number.isSafeInteger(us) ? { us, ns: subUs } : undefined;
}

/** Events lost when `print_trace_line()` prints `CPU:N [LOST EVENTS]`: at least one. */
const unknownLostCount = 1;

function parseLostMarker(text: string, span: SourceSpan): TraceRecord | undefined {
  // CPU:2 [LOST 123 EVENTS]
  if (!text.startsWith('CPU:')) return undefined;
  const space = text.indexOf(' ', 4);
  const cpu = parseDigits(text, 4, space === -1 ? text.length : space);
  const lost = text.indexOf('[LOST ', space);
  if (cpu < 0 || lost === -1) return undefined;
  // CPU:4 [LOST EVENTS]: lost_events == -1, the iterator was passed by the writer and could not count.
  if (text.startsWith('[LOST EVENTS]', lost)) return { type: 'lost', span, text, cpu, count: unknownLostCount };
  const countEnd = text.indexOf(' ', lost + 6);
  const count = parseDigits(text, lost + 6, countEnd === -1 ? text.length : countEnd);
  if (count < 0) return undefined;
  return { type: 'lost', span, text, cpu, count };
}

function parseBufferStarted(text: string, span: SourceSpan): TraceRecord | undefined {
  // ##### CPU 2 buffer started ####
  const at = text.indexOf('CPU ');
  if (at === -1 || !text.includes('buffer started')) return undefined;
  const end = text.indexOf(' ', at + 4);
  const cpu = parseDigits(text, at + 4, end === -1 ? text.length : end);
  return cpu < 0 ? undefined : { type: 'buffer-started', span, text, cpu };
}

/**
 * `NAME: BODY` after the timestamp: the name ends at the first `: ` (event names never hold
 * one), or at a trailing `:` for an event with no body. `padTo`: trace-cmd pads names shorter
 * than that many columns with blanks after the `: `; exactly those blanks are dropped, so a
 * body's own leading blanks survive (0 for ftrace, which does not pad).
 */
export function splitNameAndBody(text: string, nameStart: number, padTo: number): { name: string; body: string } {
  const sep = text.indexOf(': ', nameStart);
  if (sep === -1) {
    const name = text.charCodeAt(text.length - 1) === charColon ? text.slice(nameStart, text.length - 1) : text.slice(nameStart);
    return { name, body: '' };
  }
  const name = text.slice(nameStart, sep);
  let bodyStart = sep + 2;
  const padEnd = bodyStart + Math.max(0, padTo - name.length);
  while (bodyStart < padEnd && text.charCodeAt(bodyStart) === charSpace) bodyStart++;
  return { name, body: text.slice(bodyStart) };
}

/** Parses one line (without its newline) into a record. Never throws. */
export function parseFtraceLine(text: string, span: SourceSpan): TraceRecord {
  const first = skipBlanks(text, 0);
  if (first === text.length) return { type: 'header', span, text };
  const firstCode = text.charCodeAt(first);
  if (firstCode === charHash) {
    return (text.startsWith('#####') && parseBufferStarted(text, span)) || { type: 'header', span, text };
  }
  if (firstCode === 0x43 /* C */) {
    const lost = parseLostMarker(text, span);
    if (lost !== undefined) return lost;
  }
  // Stack traces (`stacktrace` option) print ` => func+0x10/0x20` under their event.
  if (text.startsWith('=>', first)) return { type: 'continuation', span, text };

  const open = findCpuColumn(text);
  if (open === -1) return { type: 'malformed', span, text, expected: 'a "[CPU]" column such as "[003]"' };
  const close = text.indexOf(']', open);
  const cpu = parseDigits(text, open + 1, close);

  // Left of the CPU column: "TASK-PID" or "TASK-PID (TGID)"; TASK may hold blanks and dashes.
  let left = open;
  while (left > 0 && isBlank(text.charCodeAt(left - 1))) left--;
  let tgid: number | null | undefined;
  if (left > 0 && text.charCodeAt(left - 1) === 0x29 /* ) */) {
    const paren = text.lastIndexOf('(', left - 1);
    if (paren === -1) return { type: 'malformed', span, text, expected: 'a "(TGID)" column closed by ")"' };
    const inner = text.slice(paren + 1, left - 1).trim();
    const value = parseDigits(inner, 0, inner.length);
    tgid = value >= 0 ? value : null;
    left = paren;
    while (left > 0 && isBlank(text.charCodeAt(left - 1))) left--;
  }
  const dash = text.lastIndexOf('-', left - 1);
  const pid = dash === -1 ? -1 : parseDigits(text, dash + 1, left);
  if (pid < 0) return { type: 'malformed', span, text, expected: 'a "TASK-PID" column before the CPU' };
  const task = text.slice(first, dash);

  // Right of it: optional flags, then "SECS.USECS:".
  let i = skipBlanks(text, close + 1);
  let tokenEnd = i;
  while (tokenEnd < text.length && !isBlank(text.charCodeAt(tokenEnd))) tokenEnd++;
  let flags: string | undefined;
  let stamp = tokenEnd > i && text.charCodeAt(tokenEnd - 1) === charColon ? parseTimestamp(text, i, tokenEnd - 1) : undefined;
  if (stamp === undefined) {
    flags = text.slice(i, tokenEnd);
    i = skipBlanks(text, tokenEnd);
    tokenEnd = i;
    while (tokenEnd < text.length && !isBlank(text.charCodeAt(tokenEnd))) tokenEnd++;
    if (tokenEnd === i || text.charCodeAt(tokenEnd - 1) !== charColon) {
      return { type: 'malformed', span, text, expected: 'a timestamp such as "1520.114223:" after the CPU and flag columns' };
    }
    stamp = parseTimestamp(text, i, tokenEnd - 1);
    if (stamp === undefined) return { type: 'malformed', span, text, expected: 'a timestamp such as "1520.114223:"' };
  }

  const { name, body } = splitNameAndBody(text, skipBlanks(text, tokenEnd), 0);
  if (name.length === 0) return { type: 'malformed', span, text, expected: 'an event name after the timestamp' };

  return { type: 'event', span, text, task, pid, tgid, cpu, flags, tsUs: stamp.us, tsNs: stamp.ns, name, body };
}
