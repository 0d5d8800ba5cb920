/**
 * The generator's contract with the analyzer: on a generated trace, `analyze` reports exactly
 * the injected hazards, at the lines the sidecar names, and nothing else (precision and
 * recall both 100 %), for many seeds and option mixes; correct behaviour gets the verdict ok.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { faultCatalog, faultKinds } from '../../src/generate/faults.js';
import { allChecks } from '../../src/checks/index.js';
import { analyze, expected, generate, reported } from './helpers.js';

const mainlineFaults = 'missing-s12-vmall=2,ste-vmid-zero,unpinned-share=2,width-mismatch,ste-switch-no-inval=2,wrong-recorded-id=3';

/** Option mixes: allocator variants, widths, CPU counts, SMMU roles and BTM, churn, counts and rates. */
const mixes: readonly (readonly string[])[] = [
  ['--variant', 'rfc-v2', '--vmid-bits', '6', '--inject', 'all'],
  ['--variant', 'rfc-v3', '--vmid-bits', '5', '--cpus', '2', '--vms', '30', '--inject', 'pin-exhausted=2,leak-pin=2,early-unpin=2,stale-unpin-two-vmids=2,unpinned-share,wrong-recorded-id=4'],
  ['--variant', 'mainline', '--vmid-bits', '5', '--smmu', 'smmu0:5:off:own', '--smmu', 'smmu1:16:on:own', '--inject', mainlineFaults],
  ['--variant', 'rfc-v2', '--vmid-bits', '5', '--cpus', '6', '--vms', '40', '--inject', 'all', '--inject-rate', '0.01'],
  ['--variant', 'rfc-v2', '--vmid-bits', '16', '--smmu', 'smmu0:16:on:kvm', '--smmu', 'smmu1:8:off:own', '--inject', 'leak-pin=2,early-unpin,missing-s12-vmall,ste-vmid-zero,ste-switch-no-inval,width-mismatch,wrong-recorded-id=4'],
  ['--variant', 'rfc-v2', '--vmid-bits', '8', '--cpus', '16', '--concurrent', '12', '--vcpus', '1-8', '--vms', '30', '--inject', 'pin-exhausted,stale-unpin-two-vmids=2,early-unpin=2'],
  ['--variant', 'rfc-v3', '--vmid-bits', '6', '--smmu', 'smmu0:6:off:kvm', '--smmu', 'smmu1:6:off:own', '--smmu', 'smmu2:16:on:own', '--host-domains', '4', '--inject', 'all'],
  ['--variant', 'rfc-v3', '--vmid-bits', '4', '--smmu', 'none', '--inject', 'leak-pin=2,stale-unpin-two-vmids=2,wrong-recorded-id=4,pin-exhausted'],
  ['--variant', 'rfc-v2', '--vmid-bits', '3', '--cpus', '2', '--churn', '0.9', '--vms', '40', '--lifetime', '2-20', '--inject', 'unpinned-share=2,stale-unpin-two-vmids=2,pin-exhausted=2'],
  ['--variant', 'mainline', '--vmid-bits', '4', '--cpus', '3', '--smmu', 'smmu0:4:on:own', '--device-vms', '1', '--devices', '1-3', '--inject', 'unpinned-share=3,missing-s12-vmall=3'],
];

const cleanMixes: readonly (readonly string[])[] = [
  [],
  ['--variant', 'mainline', '--vmid-bits', '4', '--cpus', '2', '--vms', '40'],
  ['--variant', 'rfc-v3', '--vmid-bits', '3', '--cpus', '2', '--device-vms', '1', '--devices', '1-3', '--churn', '0.8', '--vms', '40'],
  ['--variant', 'rfc-v2', '--vmid-bits', '5', '--cpus', '8', '--smmu', 'smmu0:5:off:kvm', '--smmu', 'smmu1:5:on:kvm', '--smmu', 'smmu2:8:on:own', '--host-domains', '6', '--device-vms', '0.8'],
  ['--variant', 'rfc-v2', '--vmid-bits', '16', '--cpus', '32', '--concurrent', '16', '--vcpus', '4-8'],
];

const seeds = [1, 29, 1234567];
const firedChecks = new Set<string>();
const injectedFaults = new Set<string>();

for (const mix of mixes) {
  for (const seed of seeds) {
    test(`analyze reports exactly the injected hazards: --seed ${seed} ${mix.join(' ')}`, async () => {
      const { trace, sidecar } = await generate(['--seed', String(seed), ...mix]);
      assert.ok(sidecar.hazards.length > 0, 'the mix injects something');
      assert.deepEqual(sidecar.skipped, [], 'every requested fault was injected');
      for (const hazard of sidecar.hazards) {
        // The sidecar's checks are the catalog's, one line each, inside the episode.
        assert.deepEqual(hazard.expected.map((finding) => finding.check), sidecar.faults[hazard.fault]?.checks);
        for (const finding of hazard.expected) assert.ok(finding.line !== null && finding.line >= hazard.firstLine && finding.line <= hazard.lastLine);
        injectedFaults.add(hazard.fault);
      }
      const { code, report } = await analyze(trace);
      assert.equal(report.counts.malformedEvents, 0);
      assert.equal(report.counts.allEventsAccounted, true);
      assert.deepEqual(reported(report), expected(sidecar));
      assert.deepEqual(report.findings.filter((finding) => finding.severity === 'notice'), [], 'clean endings: no pin held at the end');
      assert.equal(report.verdict, 'findings');
      assert.equal(code, 1);
      for (const finding of report.findings) firedChecks.add(finding.checkId);
    });
  }
}

for (const mix of cleanMixes) {
  for (const seed of seeds) {
    test(`correct behaviour gets the verdict ok: --seed ${seed} ${mix.join(' ')}`, async () => {
      const { trace, sidecar } = await generate(['--seed', String(seed), ...mix]);
      assert.deepEqual(sidecar.hazards, []);
      const { code, report } = await analyze(trace);
      assert.ok(report.counts.records['event'] !== undefined && report.counts.records['event'] > 500, 'a real workload, not an empty trace');
      assert.deepEqual(report.findings, []);
      assert.deepEqual(report.diagnostics.map((diagnostic) => diagnostic.code), []);
      assert.equal(report.verdict, 'ok');
      assert.equal(code, 0);
    });
  }
}

test('across the mixes every fault kind was injected and every check fired', () => {
  assert.deepEqual([...injectedFaults].sort(), [...faultKinds].sort());
  assert.deepEqual([...firedChecks].sort(), allChecks.map((check) => check.meta.id).sort());
  for (const kind of faultKinds) assert.ok(faultCatalog[kind].checks('rfc-v2').length > 0);
});
