/**
 * `npm run bench`: throughput and peak RSS of `analyze` on generated traces, next to `wc -l`
 * and `grep -c` on the same file in the same run (issue 4, "Speed"). Not part of `npm test`:
 * timings belong here, never in unit tests.
 *
 *   BENCH_SIZES=64M,256M   sizes to run (default: the 256M,1G)
 *   BENCH_DIR=/tmp/x       where traces are generated and cached (default: $TMPDIR/vmid-replay-bench)
 *   BENCH_ONLY=dense       only one density
 *   BENCH_CAPTURES=dir     real captures to time as well (default: ../shared/captures, if there)
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCaptures, ensureTrace, type Density } from './traces.js';
import { timeAnalyze, timeShell, type AnalyzeRun } from './measure.js';
import { judgeTargets, verdictTable, type MeasuredRow } from './targets.js';
import { msgpackFormatVersion } from '../src/ingest/msgpack/msgpackFormat.js';
import { htmlRenderTargetSeconds, largest, timeHtmlRender } from './htmlRender.js';

const distBench = fileURLToPath(new URL('.', import.meta.url));
// What `bin` runs: the bundle (scripts/bundle.ts).
const cli = resolve(distBench, '../bundle/cli/main.js');
const rssHook = resolve(distBench, 'rssHook.js');
const sizes = (process.env['BENCH_SIZES'] ?? '256M,1G').split(',').filter((s) => s.length > 0);
const densities: Density[] = process.env['BENCH_ONLY'] === undefined ? ['dense', 'sparse'] : [process.env['BENCH_ONLY'] as Density];
const dir = process.env['BENCH_DIR'] ?? join(tmpdir(), 'vmid-replay-bench');
const repo = resolve(distBench, '../..');
const capturesDir = process.env['BENCH_CAPTURES'] ?? resolve(repo, '..', 'shared', 'captures');
mkdirSync(dir, { recursive: true });

function machine(): string {
  const model = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? '?';
  let commit = '?';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
    if (execSync('git status --porcelain -- src bench', { encoding: 'utf8' }).trim().length > 0) commit += ' (+ uncommitted changes)';
  } catch {
    // not a git checkout: the commit stays unknown
  }
  return `commit ${commit}, node ${process.version}, nproc ${cpus().length}, ${model}`;
}

/** Whether `vmid-replay convert` exists yet (another change adds it). */
function hasConvert(): boolean {
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  return /^\s+convert\b/m.test(help.stdout);
}

/** The trace in the MessagePack form this build writes (the version in the name: a cached file of another version is not it). */
function ensureMsgpack(text: string): string | undefined {
  const out = `${text}.v${msgpackFormatVersion}.msgpack`;
  if (existsSync(out)) return out;
  const run = spawnSync(process.execPath, [cli, 'convert', text, '-o', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return run.status === 0 ? out : undefined;
}

const mib = (bytes: number) => bytes / (1 << 20);
const fixed = (value: number, digits = 1) => value.toFixed(digits);

console.log(`vmid-replay bench: ${machine()}`);
console.log(`traces in ${dir}; MiB/s counts the uncompressed trace bytes for every format (trace-cmd: its own file, generated with the same seed to the same size)\n`);
console.log('| trace | format | MiB | analyze s | MiB/s | event lines/s | decoded events/s | peak RSS MiB | wc -l s | grep -c s | × wc -l | × grep -c |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const convert = hasConvert();
const generatedRows: MeasuredRow[] = [];
for (const size of sizes) {
  for (const density of densities) {
    const trace = await ensureTrace(cli, dir, density, size);
    const bytes = statSync(trace.text).size;
    timeShell(`cat '${trace.text}' > /dev/null`); // warm the page cache for every contender alike
    const wc = timeShell(`wc -l '${trace.text}'`);
    const grep = timeShell(`grep -c vmid_update '${trace.text}'`);
    const zwc = timeShell(`gzip -dc '${trace.gzip}' | wc -l`);
    const inputs: [string, string, number, number, number][] = [
      ['text', trace.text, bytes, wc, grep],
      ['gzip', trace.gzip, bytes, zwc, Number.NaN],
    ];
    const msgpack = convert ? ensureMsgpack(trace.text) : undefined;
    if (msgpack !== undefined) inputs.push(['msgpack', msgpack, bytes, wc, grep]);
    // The report is a file of its own (its lines are wider), with its own baselines.
    timeShell(`cat '${trace.report}' > /dev/null`);
    inputs.push(['trace-cmd', trace.report, statSync(trace.report).size, timeShell(`wc -l '${trace.report}'`), timeShell(`grep -c vmid_update '${trace.report}'`)]);
    for (const [format, file, inputBytes, wcSeconds, grepSeconds] of inputs) {
      // Each input warmed just before its run: after the dense 1 GiB rows the MessagePack files
      // had been read cold (sparse 1 GiB MessagePack 2.2 s in the run, 1.4 s warm).
      timeShell(`cat '${file}' > /dev/null`);
      const figures = printRow(`${density} ${size}`, format, inputBytes, timeAnalyze(cli, rssHook, file), wcSeconds, grepSeconds);
      generatedRows.push({ density, size, format, ...figures });
    }
  }
}
for (const capture of await ensureCaptures(capturesDir, dir, join(repo, 'traces', 'captures-6.1.map.json'))) {
  const bytes = statSync(capture.text).size;
  timeShell(`cat '${capture.text}' > /dev/null`);
  const wc = timeShell(`wc -l '${capture.text}'`);
  const grep = timeShell(`grep -c vmid '${capture.text}'`);
  const zwc = timeShell(`gzip -dc '${capture.gzip}' | wc -l`);
  printRow(`capture ${capture.name}`, 'text', bytes, timeAnalyze(cli, rssHook, capture.text, capture.args), wc, grep);
  printRow(`capture ${capture.name}`, 'gzip', bytes, timeAnalyze(cli, rssHook, capture.gzip, capture.args), zwc, Number.NaN);
}

/** Prints one table row; returns the figures it printed that the targets are judged on. */
function printRow(trace: string, format: string, bytes: number, run: AnalyzeRun, wcSeconds: number, grepSeconds: number): Omit<MeasuredRow, 'density' | 'size' | 'format'> {
  const figures = { mibPerSecond: mib(bytes) / run.seconds, eventLinesPerSecond: run.eventLines / run.seconds, maxRssMiB: run.maxRssMiB, timesWcL: run.seconds / wcSeconds };
  // The pipe is escaped: the row is a Markdown table row.
  const wcName = format === 'gzip' ? 'gzip -dc \\| wc -l' : 'wc -l';
  console.log(
    `| ${trace} | ${format} | ${fixed(mib(bytes), 0)} | ${fixed(run.seconds, 2)} | ${fixed(figures.mibPerSecond)} | ` +
      `${fixed(figures.eventLinesPerSecond / 1e6, 2)} M | ${fixed(run.decodedEvents / run.seconds / 1e6, 2)} M | ${fixed(figures.maxRssMiB, 0)} | ` +
      `${fixed(wcSeconds, 2)} (${wcName}) | ${Number.isNaN(grepSeconds) ? '-' : fixed(grepSeconds, 2)} | ` +
      `${fixed(figures.timesWcL)} | ${Number.isNaN(grepSeconds) ? '-' : fixed(run.seconds / grepSeconds)} |`,
  );
  return figures;
}
if (!convert) console.log('\nMessagePack: skipped, `vmid-replay convert` does not exist in this build yet.');
// Issue 17: the HTML report of the largest real capture, bundled in traces/ and in ../shared/captures, rendered in Chromium.
console.log(`\nHTML report render time (Chromium, best of 3 loads; target under ${htmlRenderTargetSeconds} s):\n`);
console.log('| trace | HTML KiB | analyze --out s | render s | under target |');
console.log('|---|---|---|---|---|');
const bundledCaptures = readdirSync(join(repo, 'traces')).filter((name) => name.startsWith('capture-') && name.endsWith('.trace.gz')).map((name) => join(repo, 'traces', name));
const renderInputs: [string, readonly string[]][] = [];
const bundledCapture = largest(bundledCaptures);
if (bundledCapture !== undefined) renderInputs.push([bundledCapture, readFileSync(`${bundledCapture}.args`, 'utf8').split('\n').filter((arg) => arg.length > 0).map((arg) => (arg.startsWith('traces/') ? join(repo, arg) : arg))]);
const sharedCaptures = await ensureCaptures(capturesDir, dir, join(repo, 'traces', 'captures-6.1.map.json'));
const sharedCapture = largest(sharedCaptures.map((capture) => capture.gzip));
const sharedArgs = sharedCaptures.find((capture) => capture.gzip === sharedCapture)?.args;
if (sharedCapture !== undefined && sharedArgs !== undefined) renderInputs.push([sharedCapture, sharedArgs]);
for (const [trace, args] of renderInputs) {
  const row = await timeHtmlRender(cli, trace, args);
  if (typeof row === 'string') console.log(`| ${trace} | ${row} | | | |`);
  else console.log(`| ${row.trace} | ${fixed(row.htmlKiB, 0)} | ${fixed(row.analyzeSeconds, 2)} | ${fixed(row.renderSeconds, 2)} | ${row.renderSeconds < htmlRenderTargetSeconds ? 'yes' : 'no'} |`);
}
// After the captures, so the verdicts close the output: they judge the generated rows only.
console.log('\nIssue 4\'s targets, on the generated traces of this run (the issue assumes a 2-core machine):\n');
for (const line of verdictTable(judgeTargets(generatedRows))) console.log(line);
