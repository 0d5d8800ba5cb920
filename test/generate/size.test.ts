/**
 * `--size` targets an output size for benchmarks, and the output streams: memory stays
 * bounded whatever the size, and the writer waits for a stream that pushes back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { generateTrace } from '../../src/generate/generate.js';
import { defaultOptions } from '../../src/generate/options.js';
import { generate } from './helpers.js';

const mib = 1024 * 1024;
const distRoot = fileURLToPath(new URL('../../', import.meta.url));

test('--size lands within 1% of the target, with the workload, not only padding', async () => {
  for (const [size, bytes] of [
    ['512K', 512 * 1024],
    ['3M', 3 * mib],
  ] as const) {
    const { trace, sidecar } = await generate(['--seed', '9', '--size', size, '--inject', 'leak-pin,missing-s12-vmall']);
    assert.ok(Math.abs(trace.length - bytes) / bytes < 0.01, `${size}: ${trace.length} bytes`);
    assert.equal(sidecar.summary.bytes, trace.length);
    assert.equal(sidecar.hazards.length, 2);
    const padding = trace.split('\n').filter((line) => line.includes('sched_switch: prev_comm=swapper')).length;
    assert.ok(padding * 200 < bytes * 0.05, 'idle padding is a small tail');
  }
});

test('64 MiB to a file with a 32 MiB JavaScript heap: the size is reached and peak RSS stays small', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-generate-'));
  try {
    const out = join(dir, 'big.trace');
    const child = spawnSync(
      process.execPath,
      ['--max-old-space-size=32', '--import', join(distRoot, 'test/generate/helpers/reportMaxRss.js'), join(distRoot, 'src/cli/main.js'), 'generate', '--size', '64M', '--inject', 'all', '--inject-rate', '0.0005', '-o', out],
      { encoding: 'utf8' },
    );
    assert.equal(child.status, 0, child.stderr);
    const size = statSync(out).size;
    assert.ok(Math.abs(size - 64 * mib) / (64 * mib) < 0.01, `${size} bytes`);
    const sidecar = JSON.parse(readFileSync(`${out}.hazards.json`, 'utf8')) as { summary: { bytes: number; hazards: number } };
    assert.equal(sidecar.summary.bytes, size);
    assert.ok(sidecar.summary.hazards > 10);
    const maxRssKb = Number(/max-rss-kb=(\d+)/.exec(child.stderr)?.[1]);
    assert.ok(maxRssKb > 0, child.stderr);
    // Node itself takes about 45 MB; holding the trace would take 64 MiB more (and break the 32 MiB heap).
    assert.ok(maxRssKb < 160 * 1024, `peak RSS ${maxRssKb} kB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the writer waits for a slow stream: it never holds more than a batch or two', async () => {
  let received = 0;
  let maxBuffered = 0;
  const slow = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      setImmediate(done);
    },
  });
  const write = slow.write.bind(slow);
  slow.write = ((chunk: string, ...rest: never[]) => {
    const accepted = write(chunk, ...rest);
    maxBuffered = Math.max(maxBuffered, slow.writableLength);
    return accepted;
  }) as typeof slow.write;
  const summary = await generateTrace({ ...defaultOptions(), sizeBytes: 8 * mib }, { trace: slow, sidecar: undefined, traceName: 'slow' });
  assert.equal(received, summary.bytes);
  assert.ok(summary.bytes >= 8 * mib * 0.99);
  assert.ok(maxBuffered <= 2 * 256 * 1024, `the stream held ${maxBuffered} bytes at once`);
});
