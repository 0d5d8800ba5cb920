/**
 * Rewrites ftrace text as `trace-cmd report` prints the same events, following the format
 * strings of trace-cmd's `trace_show_data()` (tracecmd/trace-read.c) and libtraceevent's
 * `print_event_time()`, so one trace can be analysed in both forms:
 *
 *   default  `%16s-%-5d [%03d] %5llu.%06llu: %s: <pad to 20>BODY`
 *   -t       the fraction in nanoseconds, `%5llu.%09llu`
 *   -l       `%8.8s-%-5d %3d` glued to the latency flags instead of the bracketed CPU
 *   --ts-diff ` %-8s` of `(+DIFF)` after the time (DIFF in the printed unit, empty at first)
 *   2.x      `version = 6` and a blank line before `cpus=N` (trace-cmd -V)
 *   instance a buffer instance: its lines behind `NAME: `, the top instance's behind blanks,
 *            the `cpus=` line bare; `CPU:N [M EVENTS DROPPED]` takes the prefix and the
 *            event printed with it in the same buffer has none
 *   multi    `FILE: ` before every line, `cpus=` included (`-i a.dat -i b.dat`)
 *   address  probe locations as the kernel's print_fmt for probes gives them to libtraceevent,
 *            `(%lx)` / `(%lx <- %lx)`, instead of ftrace's `(func+0x0/0x1d0)`
 *
 * Lines map one to one after the `headerLines` that trace-cmd prints first: `# ...` header
 * comments (which trace-cmd never prints) become `print` events of the top instance, as a
 * `trace_marker` write of the same text records them.
 */
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';

export interface ReportShape {
  readonly cpus: number;
  readonly nanoseconds?: boolean;
  readonly latency?: boolean;
  readonly tsDiff?: boolean;
  readonly version2?: boolean;
  readonly instance?: string;
  readonly multiInput?: string;
  readonly addressLocations?: boolean;
}

export interface Report {
  readonly text: string;
  /** Lines before the first line that stands for a line of the ftrace text. */
  readonly headerLines: number;
}

/** A stable fake kernel address for a symbol (`%lx`: lower-case hex, no `0x`). */
function addressOf(symbol: string): string {
  let hash = 0;
  for (const char of symbol) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `ffff8000${hash.toString(16).padStart(8, '0')}`;
}

/** `(func+0x0/0x1d0) rest` → `(ffff8000...) rest`; `(caller+off/size <- func)` → `(ADDR <- ADDR)`. */
function withAddressLocation(body: string): string {
  if (!body.startsWith('(')) return body;
  const close = body.indexOf(')');
  const inner = body.slice(1, close);
  const arrow = inner.indexOf(' <- ');
  const symbol = (text: string) => addressOf(text.replace(/\+.*$/, ''));
  const location = arrow === -1 ? symbol(inner) : `${symbol(inner.slice(0, arrow))} <- ${symbol(inner.slice(arrow + 4))}`;
  return `(${location})${body.slice(close + 1)}`;
}

export function toTraceCmdReport(ftraceText: string, shape: ReportShape): Report {
  const out: string[] = [];
  const prefixWidth = Math.max(shape.instance?.length ?? 0, shape.multiInput?.length ?? 0);
  const named = shape.instance ?? shape.multiInput;
  const prefix = (top: boolean) => (named === undefined ? '' : top && shape.instance !== undefined ? `${''.padStart(prefixWidth)}  ` : `${named.padStart(prefixWidth)}: `);

  if (shape.version2 === true) out.push('version = 6', '');
  out.push(`${shape.multiInput === undefined ? '' : prefix(false)}cpus=${shape.cpus}`);
  const headerLines = out.length;

  const lines = ftraceText.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const records = lines.map((text, i) => parseFtraceLine(text, { file: 'in', line: i + 1, offset: 0 }));
  const firstEvent = records.find((record) => record.type === 'event');
  let lastTs = firstEvent?.type === 'event' ? { us: firstEvent.tsUs, ns: firstEvent.tsNs } : { us: 1_000_000, ns: 0 };
  let previousTsForDiff: number | undefined;
  let afterDropMarker = false;

  const eventLine = (fields: { task: string; pid: number; cpu: number; flags?: string | undefined; us: number; ns: number; name: string; body: string }, top: boolean): string => {
    const pid = String(fields.pid).padEnd(5);
    let line = shape.latency === true
      ? `${fields.task.slice(0, 8).padStart(8)}-${pid} ${String(fields.cpu).padStart(3)}${fields.flags ?? '.....'}`
      : `${fields.task.padStart(16)}-${pid} [${String(fields.cpu).padStart(3, '0')}]`;
    const secs = Math.floor(fields.us / 1_000_000);
    const fraction = shape.nanoseconds === true ? String((fields.us % 1_000_000) * 1000 + fields.ns).padStart(9, '0') : String(fields.us % 1_000_000).padStart(6, '0');
    line += ` ${String(secs).padStart(5)}.${fraction}:`;
    if (shape.tsDiff === true) {
      const now = shape.nanoseconds === true ? fields.us * 1000 + fields.ns : fields.us;
      line += ` ${(previousTsForDiff === undefined ? '' : `(+${now - previousTsForDiff})`).padEnd(8)}`;
      previousTsForDiff = now;
    }
    line += ` ${fields.name}: ${''.padEnd(Math.max(0, 20 - fields.name.length))}`;
    line += shape.addressLocations === true ? withAddressLocation(fields.body) : fields.body;
    const withPrefix = afterDropMarker ? line : `${prefix(top)}${line}`;
    afterDropMarker = false;
    return withPrefix;
  };

  for (const record of records) {
    switch (record.type) {
      case 'event':
        lastTs = { us: record.tsUs, ns: record.tsNs };
        out.push(eventLine({ ...record, us: record.tsUs, ns: record.tsNs }, false));
        break;
      case 'header': {
        if (record.text.trim() === '') {
          out.push('');
          break;
        }
        const marker = record.text.replace(/^#\s*/, '');
        out.push(eventLine({ task: 'bash', pid: 1000, cpu: 0, us: lastTs.us, ns: lastTs.ns, name: 'print', body: `tracing_mark_write: ${marker}` }, true));
        break;
      }
      case 'lost':
        out.push(`${prefix(false)}CPU:${record.cpu} [${record.count} EVENTS DROPPED]`);
        afterDropMarker = true;
        break;
      case 'continuation':
        out.push(record.text);
        break;
      default:
        throw new Error(`line ${record.span.line}: no trace-cmd report form for a ${record.type} line: ${record.text}`);
    }
  }
  return { text: `${out.join('\n')}\n`, headerLines };
}
