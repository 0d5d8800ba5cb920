/**
 * A trace in which the replay found nothing to replay must not read as a clean host: an empty
 * file, random bytes, a CSV without its header, a trace read in the wrong format or a capture
 * read without its probe map would all pass every check. Such a run ends in a `NO_EVENTS`
 * error that says what the input held instead and what would read it.
 *
 * "Nothing to replay" means no event other than configuration: the `# vmid-replay:` header and
 * `vmid_config` lines say what the host is, not what it did.
 */
import { VmidReplayError } from '../../errors.js';
import { counted } from '../../plural.js';
import type { DiagnosticCode } from '../../diagnostics.js';
import type { ReplayOptions, ReplayResult } from '../replayTypes.js';

/** Names listed with their counts before the rest are summed up. */
const namesShown = 3;

function topNames(counts: ReadonlyMap<string, number>): string {
  const sorted = [...counts].filter(([, count]) => count > 0).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const shown = sorted.slice(0, namesShown).map(([name, count]) => `${name} ${count}`);
  const rest = sorted.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${counted(rest, 'other name')}` : shown.join(', ');
}

function firstSample(result: ReplayResult, code: DiagnosticCode): string {
  const sample = result.diagnostics.list().find((diagnostic) => diagnostic.code === code)?.samples[0];
  return sample === undefined ? '' : ` (first at line ${sample.line}: ${sample.detail})`;
}

/** Event lines the decoder knew as nothing it uses, by name: the unused ones without the unrecognised probes. */
function unusedByName(result: ReplayResult): Map<string, number> {
  const unused = new Map<string, number>();
  for (const [name, count] of result.diagnostics.unusedByName) {
    const rest = count - (result.probes.linesByName.get(name) ?? 0);
    if (rest > 0) unused.set(name, rest);
  }
  return unused;
}

function sum(counts: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const count of counts.values()) total += count;
  return total;
}

/** What the input held, each part with its count. */
function whatWasFound(result: ReplayResult, unused: ReadonlyMap<string, number>): string[] {
  const { stats } = result;
  const records = stats.records;
  const found: string[] = [];
  const unrecognised = sum(result.probes.linesByName);
  if (unrecognised > 0) found.push(`${counted(unrecognised, 'line')} of unrecognised probes (${topNames(result.probes.linesByName)})`);
  const unusedLines = sum(unused);
  if (unusedLines > 0) found.push(`${counted(unusedLines, 'line')} of events the tool does not use (${topNames(unused)})`);
  if (stats.malformedEvents > 0) found.push(`${counted(stats.malformedEvents, 'event')} whose fields could not be read${firstSample(result, 'malformed-event')}`);
  if (records.malformed > 0) {
    const binary = stats.binaryLines > 0 ? `, ${stats.binaryLines} of them binary data` : '';
    found.push(`${counted(records.malformed, 'line')} that ${records.malformed === 1 ? 'is not a trace line' : 'are not trace lines'}${binary}${firstSample(result, 'malformed-line')}`);
  }
  const configuration = stats.decodedEvents() - stats.replayableEvents();
  if (configuration > 0) found.push(counted(configuration, 'configuration line'));
  const otherHeaders = records.header - stats.headerEvents;
  if (otherHeaders > 0) found.push(counted(otherHeaders, 'other header line'));
  if (records.lost > 0) found.push(counted(records.lost, 'lost-events marker'));
  if (records['buffer-started'] > 0) found.push(counted(records['buffer-started'], 'buffer-started marker'));
  if (records.continuation > 0) found.push(counted(records.continuation, 'continuation line'));
  return found;
}

/** What would read the input, most likely first. */
function whatWouldReadIt(result: ReplayResult, options: ReplayOptions, unused: ReadonlyMap<string, number>): string[] {
  const { stats } = result;
  const records = stats.records;
  const fixes: string[] = [];
  const forced = options.inputFormat !== undefined && options.inputFormat !== 'auto' ? options.inputFormat : undefined;
  if (forced !== undefined && records.malformed > 0) fixes.push(`it was read as ${forced} because of --input-format ${forced}: without it the format is chosen by content`);
  const maps = options.probeMap === undefined ? result.probes.fittingMaps() : [];
  if (maps.length > 0) {
    fixes.push(...maps.map((set) => `--map ${set.mapName} reads these probes, ${set.description}; it ships as ${set.file}`));
  } else if (result.probes.linesByName.size > 0) {
    fixes.push(
      options.probeMap === undefined
        ? 'is this a capture that needs --map? A probe map says what its probes mean (docs/trace-format.md, "Probe maps")'
        : `the probe map ${options.probeMap.source} names none of these probes`,
    );
  }
  if (stats.binaryLines * 2 > records.malformed) {
    fixes.push("binary data is not a trace: a file compressed other than with gzip, or trace-cmd's trace.dat (turn it into text with trace-cmd report)");
  } else if (records.malformed > 0 && forced === undefined) {
    fixes.push('if it is a trace in another layout, --input-format names its format and --csv-map reads a CSV of other columns (docs/trace-format.md)');
  }
  if (fixes.length === 0 && unused.size > 0) fixes.push('none of its events is one the tool replays: docs/trace-format.md, "Capturing a trace", says what to record');
  if (fixes.length === 0 && stats.decodedEvents() > 0) fixes.push('the configuration says what the host is, but no event says what it did');
  return fixes;
}

/** Throws `NO_EVENTS` unless the replay had at least one event to replay. */
export function requireEvents(file: string, result: ReplayResult, options: ReplayOptions): void {
  if (result.stats.replayableEvents() > 0) return;
  const unused = unusedByName(result);
  const found = whatWasFound(result, unused);
  if (found.length === 0) throw new VmidReplayError('NO_EVENTS', 'no vmid-replay events: the input is empty', { file });
  const fixes = whatWouldReadIt(result, options, unused);
  throw new VmidReplayError('NO_EVENTS', `no vmid-replay events; found ${found.join(', ')}${fixes.length === 0 ? '' : `: ${fixes.join('; ')}`}`, { file });
}
