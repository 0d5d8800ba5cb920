/**
 * The text report speaks the user's language: no JSON field names, counts in agreement with
 * their nouns, and repeated witnesses of one role folded into one line with their count and
 * line numbers. (The JSON report keeps its field names: they are an interface.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { unwrapped } from '../helpers/textReport.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-text-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The text report with its wrapped paragraphs joined again (each fact, message and step on one line). */
async function textReport(path: string, extra: readonly string[] = []): Promise<string> {
  const result = await runCli(['analyze', path, ...extra]);
  assert.ok(result.code <= 2, result.stderr);
  return unwrapped(result.stdout);
}

/** Field names of the JSON report and its allocator observations: never text. */
const jsonNames = /\b(?:idAfter|idBefore|entryGeneration|vmidBits|activeId|activeAll|reservedAll|reservedHit|mapWords|curIdx|flushGeneration|maxPinnedVmids|nrPinned)\b/;
/** A count of 1 with a plural noun, or a noun that hedges with "(s)". */
const badAgreement = /(?<![\d.,])1 (?:CPUs|loads|rollovers|VMs|live VMs|event lines|malformed lines|unrecognised probes|findings|traces|commands|events)\b|\w\(s\)/;

test('every bundled and golden text report is free of JSON field names and of "1 CPUs"-style counts', () => {
  const reports = [
    ...readdirSync('reports').filter((name) => name.endsWith('.txt')).map((name) => join('reports', name)),
    ...readdirSync('test/golden').filter((name) => name.endsWith('.expected.txt')).map((name) => join('test/golden', name)),
  ];
  assert.ok(reports.length >= 10, reports.join(' '));
  for (const report of reports) {
    const text = readFileSync(report, 'utf8');
    assert.doesNotMatch(text, jsonNames, report);
    assert.doesNotMatch(text, badAgreement, report);
    assert.doesNotMatch(text, /from vmid-replay header|from default\b/, report);
  }
});

test('one CPU, one load, one rollover: singular nouns, and where the configuration came from in words', async () => {
  // 2-bit VMIDs leave indexes 1..3: the fourth VM's first load rolls over (one rollover, generation 2).
  const rollover = new TraceWriter().header('vmid_bits=2 cpus=1 variant=mainline');
  for (let n = 1; n <= 4; n++) rollover.vmCreate(vmPointer(n)).load(vmPointer(n), 0);
  const text = await textReport(file('rollover.trace', rollover.toString()));
  assert.match(text, /^config: mainline allocator, 2-bit VMIDs, 1 CPU \(VMID width, CPU count and variant from the "# vmid-replay:" header\)$/m);
  assert.match(text, /^allocator: 4 loads \(4 slow path\), 1 rollover, generation 2$/m);
  const single = await textReport(file('single.trace', new TraceWriter().header('vmid_bits=8 cpus=2').vmCreate(vmPointer(1)).load(vmPointer(1), 0, 0, 257).toString()), ['--variant', 'rfc-v2']);
  assert.match(single, /^config: rfc-v2 allocator, 8-bit VMIDs, 2 CPUs, max_pinned_vmids 252 \(VMID width and CPU count from the "# vmid-replay:" header, variant from --variant\)$/m);
  assert.match(single, /^allocator: 1 load \(1 slow path\), 0 rollovers, generation 1, 0 pinned at end$/m);
  assert.match(single, /^events: 3 event lines \+ 0 malformed lines: 3 used, 0 unused, 0 unrecognised probes, 0 malformed; all accounted: yes$/m);
  assert.match(single, /^compared with the model: id before the update 1, id after the update 1$/m);
  const bare = await textReport(file('bare.trace', new TraceWriter().header('vmid_bits=8 cpus=2').vmCreate(vmPointer(1)).toString()));
  assert.match(bare, /^config: mainline allocator, 8-bit VMIDs, 2 CPUs \(VMID width and CPU count from the "# vmid-replay:" header, variant by default\)$/m);
});

test('a pin refused on a 1-CPU host explains max_pinned_vmids with "1 CPU"', async () => {
  // 3-bit VMIDs, 1 CPU: max_pinned_vmids = 2^3 - 1 - 2 = 5, so the sixth pin is refused and five stay held.
  const writer = new TraceWriter().header('vmid_bits=3 cpus=1 variant=rfc-v2');
  for (let n = 1; n <= 6; n++) writer.vmCreate(vmPointer(n)).pin(vmPointer(n));
  const text = await textReport(file('one-cpu-pins.trace', writer.toString()));
  assert.match(text, /^Let max_pinned_vmids = 2\^3 - 1 CPU - 2 = 5\.$/m);
  assert.match(text, /^\S+one-cpu-pins\.trace:\d+: 5 VMs still hold pinned VMIDs when the trace ends \(5 of 5 pinned\)/m);
});

test('witnesses of one role fold under the first: the pins still held in mixed-hazards.trace', async () => {
  const text = await textReport('traces/mixed-hazards.trace');
  // Pins at lines 11, 31, ..., 101 (VMs 1, 3, 5-10) and 191 are never released: nine witnesses
  // of the role "pinned", the first quoted, the other eight folded with their lines.
  // The first is quoted whole, as the trace has it (its leading blanks too), under its file:line.
  const block = /\n\[11\] pin-leaked \(notice\)\n[^]*?\nwitnesses:\n((?: {4}[^\n]*\n)+)/.exec(text)?.[1];
  assert.ok(block !== undefined, text);
  const line11 = readFileSync('traces/mixed-hazards.trace', 'utf8').split('\n')[10] as string;
  assert.match(line11, /^ +qemu-system-aar-4711 \[000\] d\.\.1\. +1\.000008: vmid_pin_ret: .* ret=1$/);
  assert.deepEqual(block.trimEnd().split('\n'), ['    traces/mixed-hazards.trace:11: pinned', `        ${line11}`, '      8 more pinned, lines 31, 51, 61, 71, 81, 91, 101, 191']);
  assert.match(text, /^9 live VMs still hold pinned VMIDs and no unpin follows before the trace ends: /m);
});

test('past twenty folded witnesses, the rest are counted, not listed; one VM holding a pin is singular', async () => {
  // 5-bit VMIDs, 2 CPUs: max_pinned_vmids = 32 - 2 - 2 = 28, so all 25 pins succeed and stay held.
  const writer = new TraceWriter().header('vmid_bits=5 cpus=2 variant=rfc-v2');
  const pinLines: number[] = [];
  for (let n = 1; n <= 25; n++) {
    writer.vmCreate(vmPointer(n)).pin(vmPointer(n));
    pinLines.push(writer.lineCount());
  }
  const text = await textReport(file('many-pins.trace', writer.toString()));
  assert.ok(text.replace(/\s+/g, ' ').includes(` 24 more pinned, lines ${pinLines.slice(1, 21).join(', ')} and 4 more `), text);
  const one = await textReport(file('one-pin.trace', new TraceWriter().header('vmid_bits=5 cpus=2 variant=rfc-v2').vmCreate(vmPointer(1)).pin(vmPointer(1)).toString()));
  assert.match(one, /^\S+one-pin\.trace:\d+: 1 VM still holds a pinned VMID when the trace ends \(1 of 28 pinned\): VM 0xffff000010001000 \(VMID 1\)$/m);
  assert.doesNotMatch(one, / more pinned/);
});

test('the summary of several traces counts findings and traces in agreement', async () => {
  // 3-bit VMIDs, 2 CPUs: max_pinned_vmids = 4; the fifth pin is refused, the four others are released.
  const writer = new TraceWriter().header('vmid_bits=3 cpus=2 variant=rfc-v2');
  for (let n = 1; n <= 5; n++) writer.vmCreate(vmPointer(n)).pin(vmPointer(n));
  for (let n = 1; n <= 4; n++) writer.unpin(vmPointer(n));
  const path = file('one-finding.trace', writer.toString());
  const result = await runCli(['analyze', path, 'traces/device-assignment-clean.trace', '--jobs', '1']);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stdout, /^summary: 2 traces$/m);
  assert.match(result.stdout, new RegExp(`^ {2}findings {5}${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} {2}\\(1 finding\\)$`, 'm'));
  assert.match(result.stdout, /^ {2}ok {11}traces\/device-assignment-clean\.trace {2}\(0 findings\)$/m);
});
