/**
 * The generated traces in traces/ are what the commands in traces/README.md write, byte for
 * byte (trace and sidecar), and the analyzer reports exactly what their sidecars list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli } from '../helpers/cli.js';
import { expected, reported, type JsonReport, type Sidecar } from './helpers.js';

const commands = [...readFileSync('traces/README.md', 'utf8').matchAll(/`node dist\/bundle\/cli\/main\.js (generate [^`]+)`/g)].map((match) => (match[1] as string).split(' '));

test('traces/README.md gives a generate command for each generated trace', () => {
  const outputs = commands.map((args) => args[args.indexOf('-o') + 1]);
  assert.deepEqual(outputs.sort(), ['traces/generated-clean-multi-smmu.trace', 'traces/generated-faults.trace']);
});

for (const args of commands) {
  const out = args[args.indexOf('-o') + 1] as string;
  test(`${out} is exactly what its documented command writes, and analyze reports what its sidecar lists`, async () => {
    const result = await runCli([...args, '--quiet']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.files.get(out), readFileSync(out, 'utf8'), `${out} differs from its command's output: regenerate it`);
    const sidecarText = readFileSync(`${out}.hazards.json`, 'utf8');
    assert.equal(result.files.get(`${out}.hazards.json`), sidecarText);
    const analysis = await runCli(['analyze', out, '--format', 'json']);
    const report = JSON.parse(analysis.stdout) as JsonReport;
    const sidecar = JSON.parse(sidecarText) as Sidecar;
    assert.deepEqual(reported(report), expected(sidecar));
    assert.equal(report.verdict, sidecar.hazards.length === 0 ? 'ok' : 'findings');
  });
}
