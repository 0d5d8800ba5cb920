/**
 * `npm start`: analyzes every bundled trace in traces/ (with the flags in its `.args` file,
 * one per line, when it has one) and writes reports/: every format, and reports/README.md.
 * A trace with a `.whatif` file (compare's flags, one per line) gets its what-if comparison
 * too, in every format `compare --out` writes. The golden test checks reports/ with the same
 * flags, so what is committed is what this writes.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeIo } from '../src/cli/nodeIo.js';
import { run } from '../src/cli/run.js';
import { reportFormats, type FormatName } from '../src/cli/commands/analyze.js';

export const tracesDir = 'traces';
export const reportsDir = 'reports';

export function bundledTraces(): string[] {
  return readdirSync(tracesDir)
    .filter((name) => name.endsWith('.trace') || name.endsWith('.trace.gz'))
    .sort()
    .map((name) => join(tracesDir, name));
}

/** Extra flags for a bundled trace, from `<trace>.args` (one argument per line). */
export function argsFor(trace: string): string[] {
  const file = `${trace}.args`;
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0) : [];
}

/** compare's flags for a bundled trace, from `<trace>.whatif`; undefined when it has none. */
export function whatIfArgsFor(trace: string): string[] | undefined {
  const file = `${trace}.whatif`;
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0) : undefined;
}

/** The compare command `npm start` runs for a bundled trace (writing into `out`), or undefined. */
export function whatIfCommand(trace: string, out: string): string[] | undefined {
  const whatIf = whatIfArgsFor(trace);
  return whatIf === undefined ? undefined : ['compare', trace, ...argsFor(trace), ...whatIf, '--out', out, '--quiet'];
}

const commandOf = (trace: string) => ['vmid-replay', 'analyze', trace, ...argsFor(trace), '--out', reportsDir].join(' ');

/** reports/README.md: what the folder holds and the command that made each trace's reports. */
export function reportsReadme(): string {
  const formats = (Object.keys(reportFormats) as FormatName[]).map((format) => `| \`<name>.${reportFormats[format].suffix}\` | \`--format ${format}\` | ${reportFormats[format].purpose} |`);
  const traces = bundledTraces().map((trace) => `- \`${commandOf(trace)}\``);
  const whatIfs = bundledTraces().flatMap((trace) => {
    const command = whatIfCommand(trace, reportsDir);
    return command === undefined ? [] : [`- \`${['vmid-replay', ...command].join(' ')}\``];
  });
  return [
    '# reports/',
    '',
    'What `npm start` writes (scripts/start.ts): each bundled trace of `traces/` analysed, its reports',
    'in every format `analyze --out` writes, named after the trace without `.gz`. Do not edit: `npm start`',
    'writes the folder again, this file included, and `npm test` (test/golden.test.ts) fails when a',
    'file differs from what it would write; review such a diff, then `npm run golden:update`.',
    '',
    '| file | same as | what for |',
    '| --- | --- | --- |',
    ...formats,
    '',
    'Each trace was analysed with the flags in its `.args` file beside it (none for most), by the',
    'command built from `src/` (`node dist/bundle/cli/main.js`), as:',
    '',
    ...traces,
    '',
    'What-if comparisons (`<name>.whatif.txt`, `.whatif.md`, `.whatif.json`, `.whatif.html`: what would have happened',
    'under each pinning policy on the trace\'s workload, not what the trace shows; docs/what-if.md), from',
    'the flags in the trace\'s `.whatif` file:',
    '',
    ...whatIfs,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  let worst = 0;
  for (const trace of bundledTraces()) {
    let verdict = '';
    const io = nodeIo();
    const code = await run(['analyze', trace, ...argsFor(trace), '--out', reportsDir, '--exit-zero'], {
      ...io,
      writeOut: (text) => {
        verdict = /^verdict: (\w+)$/m.exec(text)?.[1] ?? verdict;
      },
    });
    process.stdout.write(`${trace}: ${verdict || 'failed'} -> reports/\n`);
    worst = Math.max(worst, code);
    const whatIf = whatIfCommand(trace, reportsDir);
    if (whatIf === undefined) continue;
    const compared = await run(whatIf, { ...io, writeOut: () => undefined });
    process.stdout.write(`${trace}: what-if ${compared === 0 ? 'compared' : `failed (${compared})`} -> reports/\n`);
    worst = Math.max(worst, compared);
  }
  writeFileSync(join(reportsDir, 'README.md'), reportsReadme());
  process.exitCode = worst;
}

if (process.argv[1]?.endsWith('start.js') === true) await main();
