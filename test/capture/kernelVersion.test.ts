/**
 * Kernel versions: the TypeScript parser and the script's kernel_code agree on real `uname -r`
 * strings, and every version from 5.18 on falls into exactly one probe set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateCaptureScript } from '../../src/capture/captureScript.js';
import { inInterval, kernel, parseKernelVersion, versionCode } from '../../src/capture/kernelVersion.js';
import { probeSets } from '../../src/capture/probeSets.js';

const releases = ['6.1.0-56-arm64', '6.12.18+', '6.6.59-1.el9.aarch64', '5.18.0', '6.14', '6.13.6-rc1', '6.8.0-1012-aws', '10.2.3'];

/** The script's own kernel_code and is_count, run by dash. */
function shellKernelCode(release: string): string {
  const script = generateCaptureScript({ durationSeconds: 0, traceCmd: false, generatedBy: 'test' });
  const functionText = (name: string) => {
    const start = script.indexOf(`\n${name}() {`);
    assert.ok(start !== -1, name);
    const oneLine = script.indexOf('\n', start + 1);
    const line = script.slice(start + 1, oneLine);
    return line.endsWith('}') ? line : script.slice(start + 1, script.indexOf('\n}\n', start) + 2);
  };
  const program = `${functionText('is_count')}\n${functionText('kernel_code')}\nkernel_code "$1" || echo refused`;
  const result = spawnSync('dash', ['-c', program, 'dash', release], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

test('kernel_code in the script computes what versionCode does', () => {
  for (const release of releases) {
    const parsed = parseKernelVersion(release);
    assert.ok(parsed !== undefined, release);
    assert.equal(shellKernelCode(release), String(versionCode(parsed)), release);
  }
  assert.equal(shellKernelCode('not-a-kernel'), 'refused');
  assert.equal(parseKernelVersion('not-a-kernel'), undefined);
  assert.equal(shellKernelCode('6.1000.0'), 'refused');
  assert.equal(parseKernelVersion('6.1000.0'), undefined);
});

test('each kernel from 5.18 on is in exactly one probe set, and none before', () => {
  const samples = [kernel(5, 17, 9), kernel(5, 18), kernel(6, 4, 16), kernel(6, 5), kernel(6, 6), kernel(6, 6, 58), kernel(6, 6, 59), kernel(6, 6, 120), kernel(6, 7), kernel(6, 8, 12), kernel(6, 9), kernel(6, 11, 11), kernel(6, 12), kernel(6, 12, 18), kernel(6, 13, 6), kernel(6, 18), kernel(7, 0)];
  const expected = ['none', '5.18', '5.18', '6.5', '6.6', '6.6', '6.6.59', '6.6.59', '6.6', '6.6', '6.9', '6.9', '6.12', '6.12', '6.12', '6.12', '6.12'];
  const found = samples.map((version) => {
    const sets = probeSets.filter((set) => set.intervals.some((interval) => inInterval(version, interval)));
    assert.ok(sets.length <= 1, `${JSON.stringify(version)} in ${sets.length} sets`);
    return sets[0]?.id ?? 'none';
  });
  assert.deepEqual(found, expected);
});
