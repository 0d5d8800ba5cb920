/**
 * The rules of the Chrome Trace Event Format (the "JSON trace" ui.perfetto.dev opens) that a
 * document can break, checked on a parsed document. From the format's document: the JSON
 * object form with `traceEvents`; `ts` and `dur` in microseconds; phases; duration events (`B`/`E`)
 * nest per thread, and complete events (`X`) on one thread nest or follow each other;
 * nestable async events (`b`/`e`) pair by category and id within a process, with the end
 * named as its begin; counters carry numeric args; instants a scope `g`, `p` or `t`; metadata
 * events name processes and threads (`process_name`, `thread_name`, sort indexes). And
 * Perfetto's importer (json_trace_tokenizer.cc): `displayTimeUnit` before the events, every
 * event but metadata with a `ts`.
 */

export interface ChromeTraceEvent {
  readonly ph: string;
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly name?: string;
  readonly cat?: string;
  readonly id?: string | number;
  readonly s?: string;
  readonly args?: Record<string, unknown>;
}

const phases = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'b', 'e', 'n', 'M']);
const metadataNames = new Set(['process_name', 'process_labels', 'process_sort_index', 'thread_name', 'thread_sort_index']);

/** Every rule the document breaks, as readable lines (empty: it keeps them all). */
export function chromeTraceProblems(text: string): string[] {
  const problems: string[] = [];
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return [`not JSON: ${(error as Error).message}`];
  }
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { traceEvents?: unknown }).traceEvents)) return ['not an object with a traceEvents array'];
  const keys = Object.keys(document);
  if (keys.includes('displayTimeUnit') && keys.indexOf('displayTimeUnit') > keys.indexOf('traceEvents')) problems.push('displayTimeUnit after traceEvents (Perfetto ignores it there)');
  const events = (document as { traceEvents: ChromeTraceEvent[] }).traceEvents;
  const named = { processes: new Set<number>(), threads: new Set<string>() };
  const used = { processes: new Set<number>(), threads: new Set<string>() };
  events.forEach((event, index) => {
    const at = `event ${index} (${JSON.stringify(event).slice(0, 120)})`;
    if (!phases.has(event.ph)) problems.push(`${at}: phase ${event.ph} is not one this tool should write`);
    if (!Number.isInteger(event.pid) || !Number.isInteger(event.tid)) problems.push(`${at}: pid and tid must be integers`);
    if (event.ph === 'M') {
      if (!metadataNames.has(event.name ?? '')) problems.push(`${at}: unknown metadata name ${event.name}`);
      if (event.name === 'process_name') named.processes.add(event.pid);
      if (event.name === 'thread_name') named.threads.add(`${event.pid}/${event.tid}`);
      if (event.name?.endsWith('_name') === true && typeof event.args?.['name'] !== 'string') problems.push(`${at}: a name event needs args.name`);
      if (event.name?.endsWith('_sort_index') === true && !Number.isInteger(event.args?.['sort_index'])) problems.push(`${at}: a sort index event needs an integer args.sort_index`);
      return;
    }
    used.processes.add(event.pid);
    if (event.ph !== 'C' && event.ph !== 'b' && event.ph !== 'e' && event.ph !== 'n') used.threads.add(`${event.pid}/${event.tid}`);
    if (!Number.isInteger(event.ts) || (event.ts as number) < 0) problems.push(`${at}: ts must be a whole number of microseconds`);
    if (typeof event.name !== 'string' || event.name.length === 0) problems.push(`${at}: no name`);
    if (event.ph === 'X' && (!Number.isInteger(event.dur) || (event.dur as number) < 0)) problems.push(`${at}: a complete event needs a whole, non-negative dur`);
    if (event.ph === 'i' && !['g', 'p', 't'].includes(event.s ?? '')) problems.push(`${at}: an instant needs a scope s of g, p or t`);
    if (event.ph === 'C' && (event.args === undefined || Object.values(event.args).some((value) => typeof value !== 'number'))) problems.push(`${at}: a counter's args must be numbers`);
    if ((event.ph === 'b' || event.ph === 'e' || event.ph === 'n') && (event.id === undefined || event.cat === undefined)) problems.push(`${at}: an async event needs cat and id`);
  });
  for (const pid of used.processes) if (!named.processes.has(pid)) problems.push(`process ${pid} has no process_name`);
  for (const thread of used.threads) if (!named.threads.has(thread)) problems.push(`thread ${thread} has no thread_name`);
  problems.push(...nestingProblems(events), ...asyncProblems(events));
  return problems;
}

/** Events in time order, file order among equals (how Perfetto's sorter takes them). */
function byTime(events: readonly ChromeTraceEvent[]): ChromeTraceEvent[] {
  return events.map((event, index) => ({ event, index })).sort((a, b) => (a.event.ts ?? 0) - (b.event.ts ?? 0) || a.index - b.index).map(({ event }) => event);
}

/** Per thread: `B`/`E` pair like brackets, and `X` slices nest in or follow the open ones. */
function nestingProblems(events: readonly ChromeTraceEvent[]): string[] {
  const problems: string[] = [];
  const stacks = new Map<string, { name: string; end: number | undefined }[]>();
  for (const event of byTime(events)) {
    if (event.ph !== 'B' && event.ph !== 'E' && event.ph !== 'X') continue;
    const thread = `${event.pid}/${event.tid}`;
    const ts = event.ts as number;
    let stack = stacks.get(thread);
    if (stack === undefined) stacks.set(thread, (stack = []));
    while (stack.length > 0 && (stack.at(-1)?.end ?? Infinity) <= ts && stack.at(-1)?.end !== undefined) stack.pop();
    if (event.ph === 'E') {
      const open = stack.pop();
      if (open === undefined || open.end !== undefined) problems.push(`thread ${thread}: E at ${ts} closes no B`);
      else if (event.name !== undefined && event.name !== open.name) problems.push(`thread ${thread}: E "${event.name}" at ${ts} closes B "${open.name}"`);
      continue;
    }
    const end = event.ph === 'X' ? ts + (event.dur as number) : undefined;
    const parent = stack.at(-1);
    if (end !== undefined && parent?.end !== undefined && end > parent.end) problems.push(`thread ${thread}: X "${event.name}" ${ts}..${end} overlaps "${parent.name}" ending at ${parent.end}`);
    stack.push({ name: event.name ?? '', end });
  }
  for (const [thread, stack] of stacks) if (stack.some((open) => open.end === undefined)) problems.push(`thread ${thread}: a B is never closed`);
  return problems;
}

/** Per process, category and id: `b`/`e` pair like brackets, the end named as its begin. */
function asyncProblems(events: readonly ChromeTraceEvent[]): string[] {
  const problems: string[] = [];
  const open = new Map<string, string[]>();
  for (const event of byTime(events)) {
    if (event.ph !== 'b' && event.ph !== 'e') continue;
    const key = `${event.pid}/${event.cat}/${event.id}`;
    let stack = open.get(key);
    if (stack === undefined) open.set(key, (stack = []));
    if (event.ph === 'b') stack.push(event.name ?? '');
    else if (stack.length === 0) problems.push(`async ${key}: e "${event.name}" at ${event.ts} without a b`);
    else if (stack.pop() !== event.name) problems.push(`async ${key}: e "${event.name}" at ${event.ts} ends another slice`);
  }
  for (const [key, stack] of open) if (stack.length > 0) problems.push(`async ${key}: ${stack.length} b never ended`);
  return problems;
}

export function parseChromeTrace(text: string): ChromeTraceEvent[] {
  return (JSON.parse(text) as { traceEvents: ChromeTraceEvent[] }).traceEvents;
}
