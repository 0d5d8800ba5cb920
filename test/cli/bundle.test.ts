/**
 * The command users run is the bundle (`bin`, made by scripts/bundle.ts), not the compiled
 * tree the other tests import. It must give what the compiled tree gives, including where it
 * starts worker threads by URL: a skim thread for a large sparse trace or report, a MessagePack thread
 * for a large MessagePack one, and analyze workers for several traces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultReadingThreadMinBytes } from '../../src/ingest/threads/readingThread.js';

const bin = (JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }).bin['vmid-replay'] as string;
const compiled = join('dist', 'src', 'cli', 'main.js');

function cli(entry: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function sameBothWays(args: readonly string[]): void {
  const fromBundle = cli(bin, args);
  const fromTree = cli(compiled, args);
  assert.equal(fromBundle.stderr, '');
  assert.equal(fromBundle.status, fromTree.status);
  assert.equal(fromBundle.stdout, fromTree.stdout);
  assert.ok(fromBundle.stdout.length > 0);
}

test('bin is the bundle, and it analyses a bundled trace as the compiled tree does', () => {
  assert.match(bin, /^dist\/bundle\//);
  sameBothWays(['analyze', join('traces', 'mixed-hazards.trace'), '--format', 'json']);
});

test('the bundle and the compiled tree both print package.json\'s version', () => {
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
  sameBothWays(['--version']);
  assert.equal(cli(bin, ['--version']).stdout, `${version}\n`);
});

test('the bundle analyses several traces in its analyze workers', () => {
  sameBothWays(['analyze', join('traces', 'mixed-hazards.trace'), join('traces', 'churn-8bit-rollovers.trace.gz'), '--jobs', '2', '--format', 'json', '--exit-zero']);
});

test('the bundle reads a large sparse trace and trace-cmd report with its skim thread, and a MessagePack form with its MessagePack thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-bundle-'));
  try {
    const trace = join(dir, 'sparse.trace');
    const report = join(dir, 'sparse.report');
    const packed = join(dir, 'sparse.msgpack');
    // The MessagePack form is about two thirds of the text: both above the reading-thread threshold.
    const size = `${Math.ceil((defaultReadingThreadMinBytes >> 20) * 1.7)}M`;
    const made = cli(bin, ['generate', '--noise', '14', '--size', size, '--seed', '3', '-o', trace]);
    assert.equal(made.status, 0, made.stderr);
    const madeReport = cli(bin, ['generate', '--noise', '14', '--size', size, '--seed', '3', '--style', 'trace-cmd', '-o', report]);
    assert.equal(madeReport.status, 0, madeReport.stderr);
    const converted = cli(bin, ['convert', trace, '-o', packed]);
    assert.equal(converted.status, 0, converted.stderr);
    for (const file of [trace, report, packed]) {
      assert.ok(statSync(file).size >= defaultReadingThreadMinBytes, `${file} is large enough for a reading thread`);
      // --jobs 2: a second core for the reading thread even on a one-core machine.
      sameBothWays(['analyze', file, '--jobs', '2', '--format', 'json', '--exit-zero']);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
