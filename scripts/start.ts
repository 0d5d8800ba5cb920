/**
 * `npm start`: analyzes every bundled trace in traces/ (with the flags in its `.args` file,
 * one per line, when it has one) and writes reports/. The golden test checks reports/ with the
 * same flags, so what is committed is what this writes.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { nodeIo } from '../src/cli/nodeIo.js';
import { run } from '../src/cli/run.js';

export const tracesDir = 'traces';

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

async function main(): Promise<void> {
  let worst = 0;
  for (const trace of bundledTraces()) {
    let verdict = '';
    const io = nodeIo();
    const code = await run(['analyze', trace, ...argsFor(trace), '--out', 'reports', '--exit-zero'], {
      ...io,
      writeOut: (text) => {
        verdict = /^verdict: (\w+)$/m.exec(text)?.[1] ?? verdict;
      },
    });
    process.stdout.write(`${trace}: ${verdict || 'failed'} -> reports/\n`);
    worst = Math.max(worst, code);
  }
  process.exitCode = worst;
}

if (process.argv[1]?.endsWith('start.js') === true) await main();
