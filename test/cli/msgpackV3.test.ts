/**
 * `convert --to msgpack` writes version 3, whose events carry what their lines mean; analysing
 * it must give the report analysing the text gives (docs/msgpack-format.md, "Spans"): the
 * same JSON report but for the input's own name, and the same text report, witness lines
 * quoted, but for its first line, which names the input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from '@msgpack/msgpack';
import { runCli, type CliResult } from '../helpers/cli.js';
import { capturesRoot } from '../ingest/chunks.js';
import { msgpackMagic } from '../../src/ingest/msgpack/msgpackFormat.js';

const work = mkdtempSync(join(tmpdir(), 'vmid-replay-v3-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const cli = (argv: readonly string[]): Promise<CliResult> => runCli(argv, '', { disk: true });
const tracesDir = join(process.cwd(), 'traces');

async function converted(input: string, name: string): Promise<string> {
  const output = join(work, name);
  const result = await cli(['convert', input, '-o', output, '--to', 'msgpack']);
  assert.equal(result.code, 0, result.stderr);
  const bytes = readFileSync(output);
  const header = decode(bytes.subarray(msgpackMagic.length + 8, msgpackMagic.length + 8 + bytes.readUInt32BE(msgpackMagic.length))) as { version: number };
  assert.equal(header.version, 3);
  return output;
}

async function reports(input: string, args: readonly string[]): Promise<{ json: Record<string, unknown>; text: string[] }> {
  const json = await cli(['analyze', input, '--format', 'json', '--exit-zero', ...args]);
  assert.equal(json.code, 0, json.stderr);
  const text = await cli(['analyze', input, '--exit-zero', ...args]);
  assert.equal(text.code, 0, text.stderr);
  const report = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(report['file'], input);
  delete report['file'];
  const lines = text.stdout.split('\n');
  assert.equal(lines[0], `vmid-replay: ${input}`);
  return { json: report, text: lines.slice(1) };
}

async function assertSameReports(input: string, args: readonly string[], name: string): Promise<Record<string, unknown>> {
  const expected = await reports(input, args);
  const actual = await reports(await converted(input, `${name}.msgpack`), args);
  assert.deepStrictEqual(actual.json, expected.json, name);
  assert.deepStrictEqual(actual.text, expected.text, name);
  return expected.json;
}

test('the sample traces: the version 3 form gives the text\'s reports, findings and quoted witness lines included', async () => {
  let findings = 0;
  for (const name of ['mixed-hazards.trace', 'generated-faults.trace', 'device-assignment-clean.trace', 'vhe-rollover-inside-update.trace', 'churn-8bit-rollovers.trace.gz']) {
    const argsFile = join(tracesDir, `${name}.args`);
    const args = existsSync(argsFile) ? readFileSync(argsFile, 'utf8').trim().split(/\s+/) : [];
    const report = await assertSameReports(join(tracesDir, name), args, name);
    findings += (report['findings'] as unknown[]).length;
  }
  // Findings quote their witnesses' lines: the comparison above covers them only if there are some.
  assert.ok(findings > 0);
});

test('a real capture read through its probe map: the version 3 form gives the text\'s reports', { skip: !existsSync(capturesRoot) && 'no ../shared/captures' }, async () => {
  // The capture's probes are named by the map, so their lines are decoded from their bodies; its
  // other lines (kvm_entry and the like) are not replayed at all. The report must not tell.
  const capture = join(capturesRoot, 'a57-8bit-nvhe-full', 'trace.txt.gz');
  const report = await assertSameReports(capture, ['--vmid-bits', '8', '--cpus', '4', '--map', join(tracesDir, 'captures-6.1.map.json')], 'capture');
  assert.equal(report['verdict'], 'ok');
});
