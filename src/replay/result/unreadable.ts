/**
 * Lines the replay could not read may have held what would change its findings (an
 * invalidation, a rollover), so above a small share of them the verdict cannot be `ok` and
 * findings from the first of them on are not asserted: as after lost events.
 */
import type { Diagnostics } from '../../diagnostics.js';
import type { ReplayResult } from '../replayTypes.js';
import type { ReplayStats } from './stats.js';

/**
 * The share of unreadable lines a conclusive verdict tolerates: 1 % of the lines that should
 * be events (event lines and malformed lines). A stray line in a large capture stays below
 * it; a trace read in the wrong format, or mangled on its way, does not.
 */
export const unreadableShareLimit = 0.01;

function percent(share: number): string {
  return `${(share * 100).toFixed(1).replace(/\.0$/, '')} %`;
}

/** The limit as reports print it ("1 %"). */
export const unreadableLimitText = percent(unreadableShareLimit);

/** No event was lost and no more lines were unreadable than tolerated: what the replay concludes holds to the end. */
export function replayIsSure(result: Pick<ReplayResult, 'dataLossAt' | 'unreadableFrom'>): boolean {
  return result.dataLossAt === undefined && result.unreadableFrom === undefined;
}

export interface UnreadableFrom {
  readonly file: string;
  readonly line: number;
}

/**
 * Where unreadable lines begin when they are more than the tolerated share, with an
 * `unreadable-lines` diagnostic saying why the verdict is inconclusive; else undefined.
 */
export function judgeUnreadable(stats: ReplayStats, diagnostics: Diagnostics): UnreadableFrom | undefined {
  const records = stats.records;
  const unreadable = records.malformed + stats.malformedEvents;
  const lines = records.event + records.malformed;
  const from = stats.firstUnreadable;
  if (from === undefined || lines === 0 || unreadable / lines <= unreadableShareLimit) return undefined;
  diagnostics.add('unreadable-lines', {
    file: from.file,
    line: from.line,
    detail: `${unreadable} of ${lines} lines (${percent(unreadable / lines)}) could not be read, more than ${unreadableLimitText}: findings from here on are inconclusive`,
  }, unreadable);
  return from;
}
