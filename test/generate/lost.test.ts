/**
 * Lost-event bursts: from the first `CPU:N [LOST M EVENTS]` on, the analyzer cannot vouch for
 * anything, so every finding after it is inconclusive and a trace with nothing conclusive
 * before it gets the verdict inconclusive (exit 2). Hazards injected before the burst are
 * still reported exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, expected, generate, reported } from './helpers.js';

test('a clean trace with lost-event bursts is inconclusive, and nothing after a burst is asserted', async () => {
  for (const seed of [3, 4, 5]) {
    const { trace, sidecar } = await generate(['--seed', String(seed), '--vmid-bits', '5', '--lost-bursts', '2']);
    const loss = sidecar.summary.firstLossLine;
    assert.ok(loss !== null && loss > 1000, 'the first burst is inside the workload');
    assert.equal(sidecar.losses.length, 2);
    assert.equal(trace.split('\n')[loss - 1], `CPU:${sidecar.losses[0]?.cpu} [LOST ${sidecar.losses[0]?.count} EVENTS]`);
    const { code, report } = await analyze(trace);
    assert.equal(report.verdict, 'inconclusive');
    assert.equal(code, 2);
    assert.ok(report.diagnostics.some((diagnostic) => diagnostic.code === 'lost-events'));
    assert.deepEqual(reported(report), [], 'nothing conclusive');
    for (const finding of report.findings) assert.ok(finding.inconclusive && finding.line > loss);
  }
});

test('hazards before a burst are reported exactly; findings after it are all inconclusive', async () => {
  let before = 0;
  let after = 0;
  for (const seed of [11, 12, 13, 14]) {
    const { trace, sidecar } = await generate(['--seed', String(seed), '--vmid-bits', '5', '--inject', 'all=2', '--smmu', 'smmu0:5:on:kvm', '--smmu', 'smmu1:16:off:own', '--smmu', 'smmu2:8:off:own', '--lost-bursts', '1']);
    const loss = sidecar.summary.firstLossLine;
    assert.ok(loss !== null);
    for (const hazard of sidecar.hazards) {
      assert.equal(hazard.inconclusive, hazard.firstLine > loss, 'the sidecar marks what comes after the burst');
      if (hazard.inconclusive) after += 1;
      else before += 1;
    }
    const { report } = await analyze(trace);
    assert.deepEqual(reported(report), expected(sidecar));
    for (const finding of report.findings) assert.equal(finding.inconclusive, finding.line > loss, `${finding.checkId}@${finding.line}`);
    assert.equal(report.verdict, expected(sidecar).length > 0 ? 'findings' : 'inconclusive');
  }
  assert.ok(before > 0 && after > 0, 'hazards on both sides of a burst');
});
