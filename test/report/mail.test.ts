/**
 * The text report is for mail (issue #17): ASCII only, no line over 72 columns except the
 * quoted trace lines (kept whole, under their file:line, indented by eight), colour only on a
 * terminal and never in a file, and `--format mail` lists the first findings of each check
 * with a count of the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mailWidth, table, wrap } from '../../src/report/layout.js';
import { runCli } from '../helpers/cli.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-mail-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

interface Witnessed {
  readonly findings: readonly { readonly witnesses: readonly { readonly ref: { readonly text: string } }[] }[];
}

/** A what-if comparison's JSON (`<name>.whatif.json`): its findings are the runs'. */
interface WhatIfDocument {
  readonly kind: 'compare';
  readonly runs: readonly { readonly findings: Witnessed['findings'] }[];
}

function witnessed(document: Witnessed | WhatIfDocument): Witnessed {
  return 'runs' in document ? { findings: document.runs.flatMap((run) => run.findings) } : document;
}

/** Each text report in reports/ and test/golden/checks/ (what-if comparisons included) with the JSON written beside it. */
function textReportsWithJson(): { text: string; json: Witnessed; name: string }[] {
  return ['reports', join('test', 'golden', 'checks')].flatMap((folder) =>
    readdirSync(folder)
      .filter((name) => name.endsWith('.txt'))
      .map((name) => ({
        name: join(folder, name),
        text: readFileSync(join(folder, name), 'utf8'),
        json: witnessed(JSON.parse(readFileSync(join(folder, name.replace(/(\.mail)?\.txt$/, '.json')), 'utf8')) as Witnessed | WhatIfDocument),
      })),
  );
}

test('no line over 72 columns but quoted trace lines, each the witness line whole, indented by eight', () => {
  const reports = textReportsWithJson();
  assert.ok(reports.length >= 2 * 9 + 25, `${reports.length} text reports`);
  let quoted = 0;
  for (const report of reports) {
    const witnessLines = new Set(report.json.findings.flatMap((finding) => finding.witnesses.map((witness) => `        ${witness.ref.text}`)));
    for (const line of report.text.split('\n')) {
      if (line.length <= mailWidth) continue;
      assert.ok(witnessLines.has(line), `${report.name}: ${line.length} columns and not a quoted trace line: ${line}`);
      quoted++;
    }
  }
  assert.ok(quoted > 50, 'trace lines are quoted whole, not cut to fit');
});

test('every report in reports/ and test/golden/ is ASCII, whatever its format', () => {
  const files = ['reports', join('test', 'golden'), join('test', 'golden', 'checks')].flatMap((folder) =>
    readdirSync(folder)
      .filter((name) => /\.(txt|md|csv|json)$/.test(name))
      .map((name) => join(folder, name)),
  );
  assert.ok(files.length >= 9 * 5 + 30 * 4, `${files.length} files`);
  for (const path of files) assert.match(readFileSync(path, 'utf8'), /^[\n\x20-\x7e]*$/, path);
});

test('a trace line that is not ASCII is quoted with escapes in text and Markdown, and as it is in JSON', async () => {
  const writer = new TraceWriter().header('vmid_bits=2 cpus=1 variant=rfc-v2');
  // Three VMs pin on 2-bit VMIDs and 1 CPU: max_pinned_vmids = 4 - 1 - 2 = 1, so VM 2's pin is refused.
  writer.vmCreate(vmPointer(1)).pin(vmPointer(1)).vmCreate(vmPointer(2)).pin(vmPointer(2));
  const path = file('utf8.trace', writer.toString().replaceAll('qemu-system-aar', 'qemu-syst\u00e8me\u2192'));
  const text = (await runCli(['analyze', path])).stdout;
  const markdown = (await runCli(['analyze', path, '--format', 'markdown'])).stdout;
  const json = (await runCli(['analyze', path, '--format', 'json'])).stdout;
  assert.match(json, /"pin-exhausted"/);
  for (const report of [text, markdown]) {
    assert.match(report, /^[\n\x20-\x7e]*$/);
    assert.match(report, /qemu-syst\\xe8me\\u\{2192\}-4711 /);
  }
  assert.match(json, /qemu-syst\u00e8me\u2192-4711 /);
});

/** ESC, which starts every SGR colour sequence. */
const escape = String.fromCharCode(0x1b);

test('colour only on a terminal: verdict and titles coloured there, never in a pipe, a file, or a format for machines', async () => {
  const hazards = 'traces/mixed-hazards.trace';
  const terminal = await runCli(['analyze', hazards, '--out', 'out'], '', { stdoutColour: true });
  const lines = terminal.stdout.split('\n');
  assert.ok(lines.includes(`${escape}[1;31mverdict: findings${escape}[0m`));
  assert.ok(lines.includes(`${escape}[1;33m[1] vmid-width-mismatch (warning)${escape}[0m`));
  const plain = terminal.stdout.replaceAll(new RegExp(`${escape}\\[[0-9;]*m`, 'g'), '');
  assert.equal(plain, (await runCli(['analyze', hazards])).stdout, 'the same report without its colours');
  assert.ok(terminal.files.size >= 5);
  for (const [path, content] of terminal.files) assert.ok(!content.includes(escape), path);
  for (const format of ['markdown', 'csv', 'json']) assert.ok(!(await runCli(['analyze', hazards, '--format', format], '', { stdoutColour: true })).stdout.includes(escape), format);
});

/** `[n] check-id` of each finding a text report shows. */
const titles = (text: string) => [...text.matchAll(/^\[(\d+)\] ([a-z0-9-]+) /gm)].map((match) => `${match[1]} ${match[2]}`);

test('--format mail lists the first findings of each check, numbered as in the full report, and counts the rest', async () => {
  // 3-bit VMIDs, 1 CPU: max_pinned_vmids = 8 - 1 - 2 = 5; ten VMs pin, so the pins of VMs 6..10
  // are refused: five pin-exhausted findings, then one pin-leaked notice for the five held at the end.
  const writer = new TraceWriter().header('vmid_bits=3 cpus=1 variant=rfc-v2');
  for (let n = 1; n <= 10; n++) writer.vmCreate(vmPointer(n)).pin(vmPointer(n));
  const path = file('ten-pins.trace', writer.toString());
  const full = await runCli(['analyze', path]);
  const mail = await runCli(['analyze', path, '--format', 'mail']);
  assert.deepEqual([full.code, mail.code], [1, 1]);
  assert.deepEqual(titles(full.stdout), ['1 pin-exhausted', '2 pin-exhausted', '3 pin-exhausted', '4 pin-exhausted', '5 pin-exhausted', '6 pin-leaked']);
  assert.deepEqual(titles(mail.stdout), ['1 pin-exhausted', '2 pin-exhausted', '3 pin-exhausted', '6 pin-leaked']);
  assert.match(mail.stdout, /\nnot shown \(the first 3 of each check are; the full report has them all\):\n {6}2 {2}more pin-exhausted\n/);
  assert.doesNotMatch(full.stdout, /not shown/);
  // The summary above the findings is the full report's.
  assert.equal(mail.stdout.slice(0, mail.stdout.indexOf('\n=')), full.stdout.slice(0, full.stdout.indexOf('\n=')));
  const one = await runCli(['analyze', path, '--format', 'mail', '--per-check', '1']);
  assert.deepEqual(titles(one.stdout), ['1 pin-exhausted', '6 pin-leaked']);
  assert.match(one.stdout, /^ {6}4 {2}more pin-exhausted$/m);
  assert.equal((await runCli(['analyze', path, '--format', 'mail', '--per-check', '0'])).code, 64);
  // --out writes the mail form beside the full one, trimmed by the same flag.
  const out = await runCli(['analyze', path, '--out', 'out', '--per-check', '2']);
  assert.deepEqual(titles(out.files.get(join('out', 'ten-pins.trace.mail.txt')) ?? ''), ['1 pin-exhausted', '2 pin-exhausted', '6 pin-leaked']);
  assert.equal(out.files.get(join('out', 'ten-pins.trace.txt')), full.stdout);
});

test('wrapping: at spaces within the width, a word longer than a line kept whole, a VM and its pointer never apart', () => {
  assert.deepEqual(wrap('aaa bbb ccc', 7), ['aaa bbb', 'ccc']);
  assert.deepEqual(wrap('aaa bbb ccc', 7, '> ', '  '), ['> aaa', '  bbb', '  ccc']);
  assert.deepEqual(wrap('x /a/very/long/path/name y', 10), ['x', '/a/very/long/path/name', 'y']);
  assert.deepEqual(wrap('pin of VM 0xffff000010002000 refused', 20), ['pin of', 'VM 0xffff000010002000', 'refused']);
  assert.deepEqual(wrap('first line\nsecond', 72, '', '  '), ['first line', '  second']);
});

test('a scenario table fits 72 columns by wrapping its widest cells, and gives up when columns would be too narrow to read', () => {
  const columns = [{ header: 'line', right: true, fixed: true }, { header: 'CPU 0' }, { header: 'SMMU smmu0' }];
  const lines = table(columns, [['12', 'kvm_arm_pinned_vmid_get() returns 0: the pinned pool is full', ''], ['13', '', 'STE SID 523: nested, S2VMID 0, and a few more words to wrap']], '    ');
  assert.ok(lines !== undefined);
  for (const line of lines) assert.ok(line.length <= mailWidth, line);
  // 72 - 4 (indent) - 4 (line) - 2 * 2 (gaps) = 60 columns for two cells of 60 and 58: 30 each.
  assert.deepEqual(lines, [
    '    line  CPU 0                           SMMU smmu0',
    '    ----  -----                           ----------',
    '      12  kvm_arm_pinned_vmid_get()',
    '          returns 0: the pinned pool is',
    '          full',
    '      13                                  STE SID 523: nested, S2VMID 0,',
    '                                          and a few more words to wrap',
  ]);
  const many = Array.from({ length: 6 }, (_unused, cpu) => ({ header: `CPU ${cpu}` }));
  assert.equal(table(many, [many.map(() => 'a step of some length in every column')], '    '), undefined);
});
