/**
 * `vmid-replay convert` through the CLI, with real files: text -> msgpack -> text and
 * text -> csv -> text keep the records, `analyze` finds the same findings in the MessagePack
 * form, and a damaged MessagePack file stops every command with exit 66 and a byte offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runCli, type CliResult } from '../helpers/cli.js';
import type { TraceRecord } from '../../src/ingest/records.js';
import { inChunks, readAllRecords } from '../ingest/chunks.js';

const tracesDir = join(process.cwd(), 'traces');
const work = mkdtempSync(join(tmpdir(), 'vmid-replay-convert-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** Runs the CLI in-process with real files: binary output must not go through a string. */
const cli = (argv: readonly string[]): Promise<CliResult> => runCli(argv, '', { disk: true });

const at = (name: string) => join(work, name);
const trace = (name: string) => join(tracesDir, name);

async function recordsOf(path: string, file = path): Promise<TraceRecord[]> {
  return readAllRecords(inChunks(readFileSync(path), 1 << 16), { file });
}

/** A record without its text and byte offset: what a CSV row can carry. */
function content(record: TraceRecord): unknown {
  return { ...record, text: undefined, span: record.span.line, ...(record.type === 'malformed' ? { expected: '' } : {}) };
}

async function convert(input: string, output: string, ...extra: string[]): Promise<CliResult> {
  const result = await cli(['convert', input, '-o', output, ...extra]);
  assert.equal(result.code, 0, `convert ${input} -o ${output}: ${result.stderr}`);
  return result;
}

const roundTripTraces = ['mixed-hazards.trace', 'generated-faults.trace', 'capture-a57-8bit-portable-tgid.trace.gz', 'capture-a57-8bit-trace-pipe.trace.gz', 'capture-max-16bit-vhe.trace.gz'];

test('text -> msgpack -> text gives the same records, spans and text included', async () => {
  for (const name of roundTripTraces) {
    const original = await recordsOf(trace(name), name);
    assert.ok(original.length > 100, name);
    await convert(trace(name), at(`${name}.msgpack`));
    const stats = await convert(at(`${name}.msgpack`), at(`${name}.txt`));
    assert.match(stats.stderr, new RegExp(`\\(ftrace\\): ${original.length} records\\n$`));
    // The records of the MessagePack file name the original file, so its text copy is read under that name.
    assert.deepStrictEqual(await recordsOf(at(`${name}.txt`), trace(name)), original.map((record) => ({ ...record, span: { ...record.span, file: trace(name) } })), name);
    const text = name.endsWith('.gz') ? gunzipSync(readFileSync(trace(name))) : readFileSync(trace(name));
    assert.ok(readFileSync(at(`${name}.txt`)).equals(text), `${name}: same bytes`);
  }
});

test('text -> csv -> text gives the same records but for their text and byte offsets', async () => {
  for (const name of roundTripTraces) {
    const original = await recordsOf(trace(name), name);
    await convert(trace(name), at(`${name}.csv`));
    const back = await convert(at(`${name}.csv`), at(`${name}.csv.txt`));
    // The CSV header row is the one record with no ftrace form.
    assert.match(back.stderr, /left out or changed:\n {2}1 header records with no ftrace form\n$/);
    const records = await recordsOf(at(`${name}.csv.txt`), name);
    assert.equal(records.length, original.length, name);
    assert.deepStrictEqual(records.map(content), original.map(content), name);
  }
});

test('msgpack -> csv -> msgpack -> text keeps the events of a trace-cmd-free capture', async () => {
  const name = 'churn-8bit-rollovers.trace.gz';
  const original = await recordsOf(trace(name), name);
  await convert(trace(name), at('churn.bin'), '--to', 'msgpack');
  await convert(at('churn.bin'), at('churn.csv'));
  await convert(at('churn.csv'), at('churn2.msgpack'));
  await convert(at('churn2.msgpack'), at('churn2.txt'));
  const records = await recordsOf(at('churn2.txt'), name);
  assert.ok(records.filter((record) => record.type === 'event').length > 1000);
  assert.deepStrictEqual(records.map(content), original.map(content));
});

/** Findings of `analyze --format json`, with the report's own input name left out. */
async function findings(path: string): Promise<unknown> {
  const result = await cli(['analyze', path, '--format', 'json', '--exit-zero']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { findings: unknown[] };
  assert.ok(Array.isArray(report.findings));
  return report.findings;
}

test('analyze finds the same findings, naming the same lines, in the MessagePack form', async () => {
  for (const name of ['mixed-hazards.trace', 'generated-faults.trace', 'churn-8bit-rollovers.trace.gz']) {
    await convert(trace(name), at(`${name}.f.msgpack`));
    // A .txt name: the form is chosen by content.
    await convert(trace(name), at(`${name}.f.txt`), '--to', 'msgpack');
    const expected = await findings(trace(name));
    if (name !== 'churn-8bit-rollovers.trace.gz') assert.ok((expected as unknown[]).length > 0, name);
    assert.deepStrictEqual(await findings(at(`${name}.f.msgpack`)), expected, name);
    assert.deepStrictEqual(await findings(at(`${name}.f.txt`)), expected, name);
  }
});

test('a truncated or corrupted MessagePack file stops analyze and convert with exit 66 and the byte offset', async () => {
  await convert(trace('mixed-hazards.trace'), at('whole.msgpack'));
  const whole = readFileSync(at('whole.msgpack'));
  writeFileSync(at('cut.msgpack'), whole.subarray(0, whole.length - 10));
  const corrupt = Buffer.from(whole);
  corrupt[corrupt.length - 100] = (corrupt[corrupt.length - 100] as number) ^ 0x40;
  writeFileSync(at('corrupt.msgpack'), corrupt);
  for (const [file, what] of [
    ['cut.msgpack', /truncated/],
    ['corrupt.msgpack', /CRC-32 does not match/],
  ] as const) {
    for (const argv of [
      ['analyze', at(file)],
      ['convert', at(file), '-o', at(`${file}.txt`)],
    ]) {
      const result = await cli(argv);
      assert.equal(result.code, 65, `${argv.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^vmid-replay: ${at(file).replaceAll('.', '\\.')}: MessagePack trace: at byte \\d+: `));
      assert.match(result.stderr, what);
      assert.match(result.stderr, /\[INPUT_CORRUPT\]\n$/);
    }
  }
});

test('the output format comes from --to or the output name', async () => {
  const result = await cli(['convert', trace('mixed-hazards.trace'), '-o', at('out.json')]);
  assert.equal(result.code, 64);
  assert.match(result.stderr, /expected --to ftrace\|csv\|msgpack, or an output name ending in \.msgpack/);
  const csv = await cli(['convert', trace('mixed-hazards.trace'), '-o', '-', '--to', 'csv']);
  assert.equal(csv.code, 0, csv.stderr);
  assert.match(csv.stdout, /^timestamp,cpu,pid,comm,event,fields,flags\n# vmid-replay: /);
  await convert(trace('mixed-hazards.trace'), at('as-text.msgpack'), '--to', 'ftrace');
  assert.ok(readFileSync(at('as-text.msgpack')).equals(readFileSync(trace('mixed-hazards.trace'))));
  const unwritable = await cli(['convert', trace('mixed-hazards.trace'), '-o', at('no-such-dir/out.msgpack')]);
  assert.equal(unwritable.code, 73);
  assert.match(unwritable.stderr, /no-such-dir\/out\.msgpack: cannot write the output \(ENOENT\) \[OUTPUT_UNWRITABLE\]\n$/);
});
