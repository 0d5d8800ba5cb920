/**
 * `npm run bench`: `analyze` against `grep -c` and `wc -l` on the same file, in rounds
 * interleaved in the same call, and peak RSS (issue 18's targets, bench/targets.ts). Not part
 * of `npm test`: timings belong here, never in unit tests.
 *
 *   --quick                only the rows of a real capture's shape: a 128 MiB `generate --probes
 *                          capture-6.1` trace and the largest real capture (under two minutes)
 *   BENCH_SIZES=256M,1G    generated sizes (default: 256M,1G,4G)
 *   BENCH_ROUNDS=7         interleaved rounds per input (default and least: 5)
 *   BENCH_DIR=/tmp/x       where traces are generated and cached (default: $TMPDIR/vmid-replay-bench)
 *   BENCH_ONLY=dense       only one density
 *   BENCH_CAPTURES=dir     the real captures (default: ../shared/captures, if there)
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCaptures, ensureCaptureShaped, ensureLargestCapture, ensureTrace, type CaptureTrace, type Density } from './traces.js';
import { interleavedRounds, timeAnalyze, timeShell } from './measure.js';
import { judgeTargets, median, minimumRounds, verdictTable, type MeasuredRow, type TraceKind } from './targets.js';
import { msgpackFormatVersion } from '../src/ingest/msgpack/msgpackFormat.js';
import { htmlRenderTargetSeconds, largest as largestFile, timeHtmlRender } from './htmlRender.js';
import { compareTargetRatio, measureCompare } from './compareRow.js';

const distBench = fileURLToPath(new URL('.', import.meta.url));
// What `bin` runs: the bundle (scripts/bundle.ts).
const cli = resolve(distBench, '../bundle/cli/main.js');
const rssHook = resolve(distBench, 'rssHook.js');
const quick = process.argv.includes('--quick');
const sizes = (process.env['BENCH_SIZES'] ?? '256M,1G,4G').split(',').filter((s) => s.length > 0);
const densities: Density[] = process.env['BENCH_ONLY'] === undefined ? ['dense', 'sparse'] : [process.env['BENCH_ONLY'] as Density];
const rounds = Math.max(minimumRounds, Number(process.env['BENCH_ROUNDS'] ?? minimumRounds) || minimumRounds);
const dir = process.env['BENCH_DIR'] ?? join(tmpdir(), 'vmid-replay-bench');
const repo = resolve(distBench, '../..');
const capturesDir = process.env['BENCH_CAPTURES'] ?? resolve(repo, '..', 'shared', 'captures');
const probeMap = join(repo, 'traces', 'captures-6.1.map.json');
/** The size of the capture-shaped trace (issue 18). */
const captureShapedSize = '128M';
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

function ensureMsgpack(text: string): string | undefined {
  // Named by format version: a file cached by an older build is not read as the current format.
  const out = `${text}.v${msgpackFormatVersion}.msgpack`;
  if (existsSync(out)) return out;
  const run = spawnSync(process.execPath, [cli, 'convert', text, '-o', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return run.status === 0 ? out : undefined;
}

const mib = (bytes: number) => bytes / (1 << 20);
const fixed = (value: number, digits = 1) => (Number.isNaN(value) ? '-' : value.toFixed(digits));

interface Input {
  readonly kind: TraceKind;
  readonly trace: string;
  readonly format: string;
  readonly file: string;
  /** The uncompressed trace's bytes (MiB/s counts those for every format). */
  readonly bytes: number;
  readonly args: readonly string[];
  /** `wc -l`, or `gzip -dc | wc -l` for gzip. */
  readonly wc: string;
  /** `grep -c` on the same text; none for gzip. */
  readonly grep: string | undefined;
}

/** Times one input over the interleaved rounds, prints its row and returns what the targets judge. */
function measure(input: Input): MeasuredRow {
  timeShell(`cat '${input.file}' > /dev/null`); // warm the page cache for every contender alike
  const commands = input.grep === undefined ? [input.wc] : [input.wc, input.grep];
  const measured = interleavedRounds(rounds, () => timeAnalyze(cli, rssHook, input.file, input.args), commands);
  const seconds = measured.analyze.map((run) => run.seconds);
  const [wc = [], grep = []] = measured.baselines;
  const perRound = (baseline: readonly number[]) => seconds.map((s, round) => s / (baseline[round] ?? Number.NaN));
  const analyzeSeconds = median(seconds);
  const row: MeasuredRow = {
    kind: input.kind,
    trace: input.trace,
    format: input.format,
    inputMiB: mib(input.bytes),
    rounds,
    mibPerSecond: median(seconds.map((s) => mib(input.bytes) / s)),
    eventLinesPerSecond: median(measured.analyze.map((run) => run.eventLines / run.seconds)),
    maxRssMiB: median(measured.analyze.map((run) => run.maxRssMiB)),
    timesWcL: median(perRound(wc)),
    timesGrepC: input.grep === undefined ? Number.NaN : median(perRound(grep)),
  };
  const decoded = median(measured.analyze.map((run) => run.decodedEvents / run.seconds));
  const rssMost = Math.max(...measured.analyze.map((run) => run.maxRssMiB));
  // The pipe is escaped: the row is a Markdown table row.
  const wcName = input.format === 'gzip' ? 'gzip -dc \\| wc -l' : 'wc -l';
  console.log(
    `| ${row.trace} | ${row.format} | ${fixed(row.inputMiB, 0)} | ${fixed(analyzeSeconds, 2)} (${fixed(Math.min(...seconds), 2)} to ${fixed(Math.max(...seconds), 2)}) | ` +
      `${fixed(row.mibPerSecond)} | ${fixed(row.eventLinesPerSecond / 1e6, 2)} M | ${fixed(decoded / 1e6, 2)} M | ${fixed(row.maxRssMiB, 0)} (${fixed(rssMost, 0)}) | ` +
      `${fixed(median(wc), 3)} (${wcName}) | ${input.grep === undefined ? '-' : fixed(median(grep), 3)} | ${fixed(row.timesWcL)} | ${fixed(row.timesGrepC)} |`,
  );
  return row;
}

const tableHead = [
  '| trace | format | MiB | analyze s, median (least to most) | MiB/s | event lines/s | decoded events/s | peak RSS MiB, median (most) | wc -l s | grep -c s | × wc -l | × grep -c |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
];

function textInput(kind: TraceKind, capture: CaptureTrace, grepFor: string): Input {
  return { kind, trace: capture.name, format: 'text', file: capture.text, bytes: statSync(capture.text).size, args: capture.args, wc: `wc -l '${capture.text}'`, grep: `grep -c ${grepFor} '${capture.text}'` };
}

console.log(`vmid-replay bench${quick ? ' --quick' : ''}: ${machine()}, load average ${loadavg().map((load) => load.toFixed(1)).join(' ')} at the start`);
console.log(`traces in ${dir}; every figure the median of ${rounds} rounds, each round analyze then the baselines on the same file; × is the median of the rounds' ratios; MiB/s counts the uncompressed trace bytes\n`);

// A real capture's shape: grep -c looks for "vmid" in both (the probes' vmid=/kvm_arm_vmid_ lines).
console.log(`A real capture's shape (\`generate --probes capture-6.1 --size ${captureShapedSize}\`, and the largest real capture), read with --map traces/captures-6.1.map.json:\n`);
for (const line of tableHead) console.log(line);
const rows: MeasuredRow[] = [measure(textInput('capture-shaped', ensureCaptureShaped(cli, dir, captureShapedSize, probeMap), 'vmid'))];
const largest = await ensureLargestCapture(capturesDir, dir, probeMap);
if (largest === undefined) console.log(`| (no real capture in ${capturesDir}) |`);
else rows.push(measure(textInput('real capture', { ...largest, name: `capture ${largest.name}` }, 'vmid')));

let convert = true;
if (!quick) {
  convert = hasConvert();
  console.log('\nGenerated traces (dense: `generate --noise 0`; sparse: `--noise 14`, about 5 % relevant), grep -c looking for "vmid_update":\n');
  for (const line of tableHead) console.log(line);
  for (const size of sizes) {
    for (const density of densities) {
      const trace = await ensureTrace(cli, dir, density, size);
      const bytes = statSync(trace.text).size;
      const label = `${density} ${size}`;
      const grep = (file: string) => `grep -c vmid_update '${file}'`;
      const inputs: Input[] = [
        { kind: density, trace: label, format: 'text', file: trace.text, bytes, args: [], wc: `wc -l '${trace.text}'`, grep: grep(trace.text) },
        { kind: density, trace: label, format: 'gzip', file: trace.gzip, bytes, args: [], wc: `gzip -dc '${trace.gzip}' | wc -l`, grep: undefined },
      ];
      const msgpack = convert ? ensureMsgpack(trace.text) : undefined;
      if (msgpack !== undefined) inputs.push({ kind: density, trace: label, format: 'msgpack', file: msgpack, bytes, args: [], wc: `wc -l '${trace.text}'`, grep: grep(trace.text) });
      // The report is a file of its own (its lines are wider), with its own baselines.
      inputs.push({ kind: density, trace: label, format: 'trace-cmd', file: trace.report, bytes: statSync(trace.report).size, args: [], wc: `wc -l '${trace.report}'`, grep: grep(trace.report) });
      for (const input of inputs) rows.push(measure(input));
    }
  }
}
if (!convert) console.log('\nMessagePack: skipped, `vmid-replay convert` does not exist in this build yet.');
// Issue 17: the HTML report of the largest real capture, bundled in traces/ and in ../shared/captures, rendered in Chromium.
console.log(`\nHTML report render time (Chromium, best of 3 loads; target under ${htmlRenderTargetSeconds} s):\n`);
console.log('| trace | HTML KiB | analyze --out s | render s | under target |');
console.log('|---|---|---|---|---|');
const bundledCaptures = readdirSync(join(repo, 'traces')).filter((name) => name.startsWith('capture-') && name.endsWith('.trace.gz')).map((name) => join(repo, 'traces', name));
const renderInputs: [string, readonly string[]][] = [];
const bundledCapture = largestFile(bundledCaptures);
if (bundledCapture !== undefined) renderInputs.push([bundledCapture, readFileSync(`${bundledCapture}.args`, 'utf8').split('\n').filter((arg) => arg.length > 0).map((arg) => (arg.startsWith('traces/') ? join(repo, arg) : arg))]);
const sharedCaptures = await ensureCaptures(capturesDir, dir, probeMap);
const sharedCapture = largestFile(sharedCaptures.map((capture) => capture.gzip));
const sharedArgs = sharedCaptures.find((capture) => capture.gzip === sharedCapture)?.args;
if (sharedCapture !== undefined && sharedArgs !== undefined) renderInputs.push([sharedCapture, sharedArgs]);
for (const [trace, args] of renderInputs) {
  const row = await timeHtmlRender(cli, trace, args);
  if (typeof row === 'string') console.log(`| ${trace} | ${row} | | | |`);
  else console.log(`| ${row.trace} | ${fixed(row.htmlKiB, 0)} | ${fixed(row.analyzeSeconds, 2)} | ${fixed(row.renderSeconds, 2)} | ${row.renderSeconds < htmlRenderTargetSeconds ? 'yes' : 'no'} |`);
}
// Issue 15: compare of the six policies against one analyze, on the capture-shaped trace and (without --quick) the largest dense one.
console.log(`\ncompare (six policies, the trace's own attaches or every VM) against analyze of the same trace, ${rounds} interleaved rounds; target at most ${compareTargetRatio}x:\n`);
console.log('| trace | analyze s | compare s | compare / analyze | within target |');
console.log('|---|---|---|---|---|');
const compareInputs: [string, string, readonly string[]][] = [[`capture-shaped ${captureShapedSize}`, join(dir, `capture-shaped-${captureShapedSize}.trace`), ['--vmid-bits', '8', '--map', probeMap]]];
const largestSize = sizes.at(-1);
if (!quick && largestSize !== undefined && densities.includes('dense')) compareInputs.push([`dense ${largestSize}`, (await ensureTrace(cli, dir, 'dense', largestSize)).text, []]);
for (const [name, file, args] of compareInputs) {
  const row = measureCompare(cli, rssHook, name, file, args, rounds);
  console.log(`| ${row.trace} | ${fixed(row.analyzeSeconds, 2)} | ${fixed(row.compareSeconds, 2)} | ${fixed(row.ratio, 2)} | ${row.ratio <= compareTargetRatio ? 'yes' : 'no'} |`);
}
console.log(`\nIssue 18's targets, on this run's rows (a 2-core machine${quick ? '; --quick: the capture rows only' : ''}):\n`);
for (const line of verdictTable(judgeTargets(rows))) console.log(line);
