/**
 * The names `analyze --out` gives each input's reports (`<name>.txt`, `<name>.json`), unique per
 * input so that no report overwrites another:
 * - an input's name is its file name without `.gz` (`stdin` for `-`), kept as it is when no
 *   other input has the same name, so a single trace's reports are named as they always were;
 * - inputs sharing a name are told apart by their folders: as few of the last folders of each
 *   one's absolute parent as make them differ, joined by `_` (`host1/trace.txt` and
 *   `host2/trace.txt` give `host1_trace.txt` and `host2_trace.txt`);
 * - when their folders are the same (`trace.txt` beside `trace.txt.gz`, or one file given twice),
 *   by their position among the inputs, from 1 (`1_trace.txt`, `2_trace.txt`);
 * - should a name so made still equal another input's, the run is refused before it starts.
 */
import { basename, dirname, resolve, sep } from 'node:path';
import { VmidReplayError } from '../errors.js';

function nameOf(trace: string): string {
  return trace === '-' ? 'stdin' : basename(trace).replace(/\.gz$/, '');
}

/** The folders above a trace, outermost first (none for stdin). */
function foldersOf(trace: string): string[] {
  return trace === '-' ? [] : resolve(dirname(trace)).split(sep).filter((folder) => folder.length > 0);
}

function prefixed(prefix: string, name: string): string {
  return prefix.length === 0 ? name : `${prefix}_${name}`;
}

function distinct(names: readonly string[]): boolean {
  return new Set(names).size === names.length;
}

/** Names for inputs that share `name`, given by their positions among all inputs. */
function namesForGroup(traces: readonly string[], positions: readonly number[], name: string): string[] {
  const folders = positions.map((position) => foldersOf(traces[position] as string));
  const deepest = Math.max(...folders.map((list) => list.length));
  for (let depth = 1; depth <= deepest; depth++) {
    const names = folders.map((list) => prefixed(list.slice(Math.max(0, list.length - depth)).join('_'), name));
    if (distinct(names)) return names;
  }
  return positions.map((position) => prefixed(String(position + 1), name));
}

/** One name per input, in input order (see the head comment for the rule). */
export function reportNames(traces: readonly string[]): string[] {
  const plain = traces.map(nameOf);
  const positionsByName = new Map<string, number[]>();
  plain.forEach((name, position) => positionsByName.set(name, [...(positionsByName.get(name) ?? []), position]));
  const names = [...plain];
  for (const [name, positions] of positionsByName) {
    if (positions.length < 2) continue;
    namesForGroup(traces, positions, name).forEach((unique, member) => {
      names[positions[member] as number] = unique;
    });
  }
  const firstWith = new Map<string, number>();
  names.forEach((name, position) => {
    const other = firstWith.get(name);
    if (other !== undefined) {
      throw new VmidReplayError('USAGE', `--out: the reports of ${JSON.stringify(traces[other])} and ${JSON.stringify(traces[position])} would both be named ${JSON.stringify(name)}: rename one of the inputs`);
    }
    firstWith.set(name, position);
  });
  return names;
}
