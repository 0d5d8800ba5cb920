/**
 * Grammar of one line of `trace-cmd report` output (trace-cmd 2.x and 3.x), parsed by scanning
 * characters, no regular expression per line. It yields the same records as ftraceLine.ts, so
 * decoding and replay do not know which tool printed the trace.
 *
 * Sources: `tracecmd/trace-read.c` (`trace_show_data()`, `print_event_name()`,
 * `time_format()`, `print_handle_file()`, `read_data_info()`), `lib/trace-cmd/trace-input.c`
 * (`init_cpu()`, `tracecmd_alloc_fd()`) and libtraceevent's `print_event_time()` and
 * `data_latency_format()`, in rostedt/trace-cmd and rostedt/libtraceevent; the 2.x shapes from
 * the same functions before the libtraceevent split (`pevent_print_event()`). An event line is
 *
 *   [FILE: ]%16s-%-5d [%03d] TIME: [(+DIFF)  ] NAME: <pad to 20> BODY       (default)
 *   [FILE: ]%8.8s-%-5d %3dFLAGS TIME: ...                                    (-l, latency)
 *
 * and the shapes, each with a real line or the format string that prints it:
 *
 *   cpus=2                                                   first line, `printf("cpus=%d\n")`
 *          trace-cmd-16130 [003] 158126.498411: function:             do_splice_to <-- sys_splice
 *       (the event name is followed by 20 - strlen(name) extra blanks; trace-cmd-report.1.txt)
 *         <idle>-0     [000]  3284.126993: sched_rq_runnable_load: cpu=0 load=54
 *       (a name of 20 characters or more gets no padding; workload-automation's trace_cmd.py)
 *         <idle>-0       0d.h1. 106467.859747: function:             ktime_get <-- tick_check_idle
 *       (-l: the comm cut to 8 characters, the CPU without brackets and glued to the flags)
 *          sleep-3946  [001]111264306005: function:             inotify_inode_queue_event
 *       (a clock that is not in nanoseconds prints `%12d:` with no blank before it; the line
 *        as fixed by libtraceevent's "Remove extra '\n' in print_event_time()")
 *   -t: ` %9.1d:`, the fraction in nanoseconds, 1520.114223456:
 *   --ts-diff: ` %-8s` of `(+%lld)` after the time, empty for the first event: `1.000002: (+1)     name: `
 *   multi-input (-i a.dat -i b.dat) or buffer instances: `%*s: ` before the line, the name
 *       right-aligned to the longest one (`trace.dat: `, `vmid: `), blanks for the top instance
 *   CPU:2 [1234 EVENTS DROPPED]     `"CPU:%d [%lld EVENTS DROPPED]\n"`, printed before the
 *       CPU's next event in the same buffer, so after a multi-input prefix the event line has none
 *   CPU:2 [EVENTS DROPPED]          the same when the kernel did not store the count
 *   CPU 3 is empty                  `init_cpu()`: printed before `cpus=` for a CPU with no data
 *   version = 6                     2.x `tracecmd_alloc_fd()` (`pr_stat("version = %s\n")`)
 *   registering plugin: ...         early trace-cmd prints its plugins on stdout
 *   CPU:0 [SUBBUFFER START]         --debug and buffer boundaries: a header, not a loss
 *    => func (ffff800008123456)     kernel_stack frames under `<stack trace>`: continuation lines
 */

import { isBlank, isDigit, parseDigits, parseTimestamp, skipBlanks, splitNameAndBody, type Timestamp } from '../ftrace/ftraceLine.js';
import type { SourceSpan, TraceRecord } from '../records.js';

import { charCloseBracket, charColon, charDash, charDot } from '../charCodes.js';

/** `%16s` of the default format and `%8.8s` of -l: the comm column's fixed width. */
export const taskWidth = 16;
export const latencyTaskWidth = 8;
/** `print_event_name()` pads names shorter than this with blanks after `NAME: `. */
export const eventNameColumn = 20;

/** A lower bound used when trace-cmd prints `[EVENTS DROPPED]` without a count. */
const unknownDropCount = 1;

/** Digits in [start, end) or -1; a count too large to be exact is refused. */
function countIn(text: string, start: number, end: number): number {
  const value = parseDigits(text, start, end);
  return Number.isSafeInteger(value) ? value : -1;
}

/** End of the digit run starting at `i`. */
function digitsEnd(text: string, i: number): number {
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  return i;
}

/** True when only blanks follow `i`. */
function onlyBlanksFrom(text: string, i: number): boolean {
  return skipBlanks(text, i) === text.length;
}

/**
 * Where the line's own text starts after a `FILE: ` or `INSTANCE: ` prefix, for the non-event
 * lines trace-cmd prefixes (`trace.dat: cpus=4`, `trace.dat: CPU:0 [12 EVENTS DROPPED]`).
 */
function afterPrefix(text: string, first: number): number {
  const sep = text.indexOf(': ', first);
  return sep === -1 ? -1 : skipBlanks(text, sep + 2);
}

/** `cpus=4`, `version = 6`, `CPU 3 is empty`, `registering plugin: ...` at `at`. */
function isHeaderAt(text: string, at: number): boolean {
  if (text.startsWith('cpus=', at)) {
    const end = digitsEnd(text, at + 5);
    return end > at + 5 && onlyBlanksFrom(text, end);
  }
  if (text.startsWith('version = ', at)) {
    const end = digitsEnd(text, at + 10);
    return end > at + 10 && onlyBlanksFrom(text, end);
  }
  if (text.startsWith('CPU ', at)) {
    const end = digitsEnd(text, at + 4);
    return end > at + 4 && text.startsWith(' is empty', end) && onlyBlanksFrom(text, end + 9);
  }
  return text.startsWith('registering plugin: ', at);
}

/** `[1234 EVENTS DROPPED]` / `[EVENTS DROPPED]` / ftrace's `[LOST 1234 EVENTS]` at `at`; the count or -1. */
function droppedCountAt(text: string, at: number): number {
  if (text.charCodeAt(at) !== 0x5b /* [ */) return -1;
  if (text.startsWith('[EVENTS DROPPED]', at)) return onlyBlanksFrom(text, at + 16) ? unknownDropCount : -1;
  if (text.startsWith('[LOST ', at)) {
    const end = digitsEnd(text, at + 6);
    return end > at + 6 && text.startsWith(' EVENTS]', end) && onlyBlanksFrom(text, end + 8) ? countIn(text, at + 6, end) : -1;
  }
  const end = digitsEnd(text, at + 1);
  if (end === at + 1 || !text.startsWith(' EVENTS DROPPED]', end) || !onlyBlanksFrom(text, end + 16)) return -1;
  return countIn(text, at + 1, end);
}

/** `CPU:N [...]` at `at`: a lost record, a header for `[SUBBUFFER START]`, or undefined. */
function cpuMarkerAt(text: string, at: number, span: SourceSpan): TraceRecord | undefined {
  if (text.startsWith('[', at)) {
    // No CPU in the marker: the loss is recorded for no particular CPU.
    const count = droppedCountAt(text, at);
    return count < 0 ? undefined : { type: 'lost', span, text, cpu: -1, count };
  }
  if (!text.startsWith('CPU:', at)) return undefined;
  const cpuEnd = digitsEnd(text, at + 4);
  if (cpuEnd === at + 4 || text.charCodeAt(cpuEnd) !== 0x20) return undefined;
  const cpu = countIn(text, at + 4, cpuEnd);
  if (text.startsWith('[SUBBUFFER START]', cpuEnd + 1)) return { type: 'header', span, text };
  const count = droppedCountAt(text, cpuEnd + 1);
  return count < 0 || cpu < 0 ? undefined : { type: 'lost', span, text, cpu, count };
}

/** A line that is not an event, with or without a `FILE: ` prefix; undefined for anything else. */
function nonEventRecord(text: string, first: number, span: SourceSpan): TraceRecord | undefined {
  // Two calls, not a loop over [first, prefixed]: that array was made for every line.
  return nonEventRecordAt(text, first, span) ?? nonEventRecordAt(text, afterPrefix(text, first), span);
}

function nonEventRecordAt(text: string, at: number, span: SourceSpan): TraceRecord | undefined {
  if (at < 0) return undefined;
  if (isHeaderAt(text, at)) return { type: 'header', span, text };
  return cpuMarkerAt(text, at, span);
}

interface TimeColumn {
  readonly stamp: Timestamp;
  /** Index just after the `:` that ends the time column. */
  readonly end: number;
}

/** The time column from `i`: blanks, then `SECS.FRACTION:` or a bare `TICKS:`, then a blank or the end. */
function timeColumnAt(text: string, i: number): TimeColumn | undefined {
  const start = skipBlanks(text, i);
  let end = start;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    if (!isDigit(c) && c !== charDot) break;
    end++;
  }
  if (end === start || text.charCodeAt(end) !== charColon) return undefined;
  if (end + 1 < text.length && !isBlank(text.charCodeAt(end + 1))) return undefined;
  const stamp = parseTimestamp(text, start, end);
  return stamp === undefined ? undefined : { stamp, end: end + 1 };
}

interface Columns {
  /** Index of the `-` between comm and pid. */
  readonly dash: number;
  readonly pid: number;
  readonly cpu: number;
  readonly flags: string | undefined;
  readonly time: TimeColumn;
  /** The comm column's width in this format, to find a `FILE: ` prefix before it. */
  readonly width: number;
}

/** Default format: `COMM-PID [CPU] TIME:` with the first `[digits]` that a time column follows. */
function bracketColumns(text: string, first: number): Columns | undefined {
  for (let open = text.indexOf('[', first); open !== -1; open = text.indexOf('[', open + 1)) {
    const close = digitsEnd(text, open + 1);
    if (close === open + 1 || text.charCodeAt(close) !== charCloseBracket) continue;
    const time = timeColumnAt(text, close + 1);
    if (time === undefined) continue;
    let left = open;
    while (left > first && isBlank(text.charCodeAt(left - 1))) left--;
    let pidStart = left;
    while (pidStart > first && isDigit(text.charCodeAt(pidStart - 1))) pidStart--;
    if (pidStart === left || pidStart - 1 <= first - 1 || text.charCodeAt(pidStart - 1) !== charDash) return undefined;
    const pid = countIn(text, pidStart, left);
    const cpu = countIn(text, open + 1, close);
    if (pid < 0 || cpu < 0) return undefined;
    return { dash: pidStart - 1, pid, cpu, flags: undefined, time, width: taskWidth };
  }
  return undefined;
}

/** -l format: `COMM-PID CPUFLAGS TIME:`, found from the first `-` that this shape follows. */
function latencyColumns(text: string, first: number): Columns | undefined {
  for (let dash = text.indexOf('-', first); dash !== -1; dash = text.indexOf('-', dash + 1)) {
    const pidEnd = digitsEnd(text, dash + 1);
    if (pidEnd === dash + 1 || !isBlank(text.charCodeAt(pidEnd))) continue;
    const cpuStart = skipBlanks(text, pidEnd);
    const cpuEnd = digitsEnd(text, cpuStart);
    if (cpuEnd === cpuStart) continue;
    let flagsEnd = cpuEnd;
    while (flagsEnd < text.length && !isBlank(text.charCodeAt(flagsEnd))) flagsEnd++;
    // `%3d` then the flags with no blank between: `0d.h1.`; `-R` prints `-0x%x` instead.
    if (flagsEnd === cpuEnd) continue;
    const time = timeColumnAt(text, flagsEnd);
    if (time === undefined) continue;
    const pid = countIn(text, dash + 1, pidEnd);
    const cpu = countIn(text, cpuStart, cpuEnd);
    if (pid < 0 || cpu < 0) return undefined;
    return { dash, pid, cpu, flags: text.slice(cpuEnd, flagsEnd), time, width: latencyTaskWidth };
  }
  return undefined;
}

/**
 * The comm: the `width` characters before the dash, after a `FILE: ` prefix when `: ` ends
 * right where the fixed-width column starts. Without a prefix, everything from the first
 * non-blank character (as ftraceLine.ts does), so wider hand-aligned columns still parse.
 */
export function taskOf(text: string, first: number, dash: number, width: number): string {
  const column = dash - width;
  if (column - 2 >= first && text.charCodeAt(column - 1) === 0x20 && text.charCodeAt(column - 2) === charColon) {
    return text.slice(skipBlanks(text, column), dash);
  }
  return text.slice(first, dash);
}

/** After the time column: the `--ts-diff` column `(+12)` (or `(+0.000012)`), if present. */
function skipTsDiff(text: string, i: number): number {
  const at = skipBlanks(text, i);
  if (!text.startsWith('(+', at)) return at;
  let j = at + 2;
  if (text.charCodeAt(j) === charDash) j++;
  const digitsStart = j;
  while (j < text.length && (isDigit(text.charCodeAt(j)) || text.charCodeAt(j) === charDot)) j++;
  if (j === digitsStart || text.charCodeAt(j) !== 0x29 /* ) */) return at;
  return skipBlanks(text, j + 1);
}

/** Parses one line (without its newline) into a record. Never throws. */
export function parseTraceCmdLine(text: string, span: SourceSpan): TraceRecord {
  const first = skipBlanks(text, 0);
  if (first === text.length) return { type: 'header', span, text };
  // trace-cmd prints no comments; `#` lines are accepted as headers so annotated reports work.
  if (text.charCodeAt(first) === 0x23 /* # */) return { type: 'header', span, text };
  if (text.startsWith('=>', first)) return { type: 'continuation', span, text };
  const marker = nonEventRecord(text, first, span);
  if (marker !== undefined) return marker;

  const columns = bracketColumns(text, first) ?? latencyColumns(text, first);
  if (columns === undefined) {
    return { type: 'malformed', span, text, expected: 'a trace-cmd report line "COMM-PID [CPU] SECS.USECS: EVENT: BODY", "cpus=N" or "CPU:N [M EVENTS DROPPED]"' };
  }
  const { dash, pid, cpu, flags, time, width } = columns;
  const task = taskOf(text, first, dash, width);

  // Exactly the padding print_event_name() added is dropped from the body.
  const { name, body } = splitNameAndBody(text, skipTsDiff(text, time.end), eventNameColumn);
  if (name.length === 0) return { type: 'malformed', span, text, expected: 'an event name after the timestamp' };

  return { type: 'event', span, text, task, pid, tgid: undefined, cpu, flags, tsUs: time.stamp.us, tsNs: time.stamp.ns, name, body };
}

/** For sniffing: a line only `trace-cmd report` starts with (`cpus=4`, `version = 6`, `CPU 3 is empty`, ...). */
export function isReportHeader(text: string): boolean {
  const first = skipBlanks(text, 0);
  const prefixed = afterPrefix(text, first);
  return isHeaderAt(text, first) || (prefixed >= 0 && isHeaderAt(text, prefixed));
}

/**
 * For sniffing: whether an event line shows trace-cmd's name padding (`kvm_entry:            vcpu 0`),
 * which ftrace never prints; undefined when the name is too long to be padded.
 */
export function showsNamePadding(record: TraceRecord & { type: 'event' }): boolean | undefined {
  const pad = eventNameColumn - record.name.length;
  if (pad < 2) return undefined;
  const at = record.text.indexOf(`${record.name}: `);
  if (at === -1) return false;
  let blanks = 0;
  for (let i = at + record.name.length + 2; i < record.text.length && record.text.charCodeAt(i) === 0x20; i++) blanks++;
  return blanks >= pad;
}
