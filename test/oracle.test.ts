/**
 * Oracle conformance: every scenario in ../shared/oracle (the real vmid.c compiled in
 * userspace) is turned into trace text and run through `vmid-replay replay`, the command
 * users run; every result field of every call and the summary must match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { oracleFiles, readScenario, scenarioToTrace, type OracleCall } from './helpers/oracle.js';
import { vmPointer } from './helpers/traceWriter.js';

const files = oracleFiles();

function expectedDecision(call: OracleCall, line: number): Record<string, unknown> {
  switch (call.op) {
    case 'create':
    case 'destroy':
      return { line, op: call.op, vm: vmPointer(call.vm) };
    case 'put':
      return { line, op: 'put', cpu: call.cpu };
    case 'load':
      return { line, op: 'load', vm: vmPointer(call.vm), cpu: call.cpu, vmid: call.vmid, gen: call.gen, flushes: call.flushes, slow: call.slow, vm_id_after: call.vm_id_after };
    case 'pin':
      return { line, op: 'pin', vm: vmPointer(call.vm), ret: call.ret, flushes: call.flushes, vm_id_after: call.vm_id_after, nr_pinned: call.nr_pinned };
    case 'unpin':
      return { line, op: 'unpin', vm: vmPointer(call.vm), nr_pinned: call.nr_pinned };
  }
}

test('the oracle corpus is present and complete', () => {
  assert.ok(files.length >= 224, `expected the 24 edge and 200 random scenarios, found ${files.length} files`);
  assert.ok(files.some((file) => file.includes('rfcv2-edge-unpin-stale-two-vmids')));
});

test('every oracle scenario replays exactly through `vmid-replay replay`', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-oracle-'));
  let calls = 0;
  try {
    for (const file of files) {
      const scenario = readScenario(file);
      const { text, lineOfCall } = scenarioToTrace(scenario);
      const tracePath = join(dir, 'scenario.trace');
      writeFileSync(tracePath, text);
      const result = await runCli(['replay', tracePath]);
      assert.equal(result.code, 0, `${scenario.name}: exit ${result.code}: ${result.stderr}`);
      const output = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const summary = output.pop();
      assert.equal(output.length, scenario.calls.length, `${scenario.name}: one decision per call`);
      scenario.calls.forEach((call, i) => {
        assert.deepEqual(output[i], expectedDecision(call, lineOfCall[i] as number), `${scenario.name}: call ${i + 1} (${call.op})`);
      });
      assert.deepEqual(summary, { summary: scenario.summary }, `${scenario.name}: summary`);
      calls += scenario.calls.length;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(calls > 1_000_000, `checked ${calls} calls`);
  console.log(`oracle conformance: ${files.length} files, ${calls} calls, all fields matched`);
});

test('oracle scenarios with observed ids produce no divergence and the expected two-VMIDs finding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-oracle-'));
  try {
    const edge = files.filter((file) => file.includes('/edge/'));
    assert.ok(edge.length >= 24);
    for (const file of edge) {
      const scenario = readScenario(file);
      const tracePath = join(dir, 'scenario.trace');
      writeFileSync(tracePath, scenarioToTrace(scenario).text);
      const result = await runCli(['analyze', tracePath, '--format', 'json']);
      const report = JSON.parse(result.stdout) as { findings: { checkId: string }[]; counts: { allEventsAccounted: boolean } };
      assert.equal(report.counts.allEventsAccounted, true, scenario.name);
      const ids = report.findings.map((finding) => finding.checkId);
      assert.ok(!ids.includes('model-divergence'), `${scenario.name}: ${ids.join(',')}`);
      const expectsSplit = scenario.name.includes('unpin-stale-two-vmids');
      assert.equal(ids.includes('vm-two-vmids'), expectsSplit, `${scenario.name}: vm-two-vmids ${ids.join(',')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
