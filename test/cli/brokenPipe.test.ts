/**
 * `vmid-replay ... | head`: the reader of stdout goes away early. The binary must stop quietly
 * with status 141 (as a tool killed by SIGPIPE), not die on an unhandled EPIPE with a stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What users run (`bin`: the bundle). */
const bin = (JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }).bin['vmid-replay'] as string;

test('stdout closed early: exit 141, nothing on stderr', async () => {
  // Several megabytes of ftrace text: far more than a pipe holds.
  const child = spawn(process.execPath, [bin, 'convert', join('traces', 'churn-8bit-rollovers.trace.gz'), '-o', '-', '--to', 'ftrace'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  assert.equal(code, 141);
  assert.equal(stderr, '');
});
