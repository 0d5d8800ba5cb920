/**
 * A real 6.1 capture analysed without `--map` names the shipped map that reads it: its
 * unrecognised probes are recognised as the captures' set by name, function and offset (and
 * the function's size for in-function probes). `--map captures-6.1` finds that map wherever
 * the tool is run from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { decodeEventRecord } from '../../src/events/decode.js';
import { knownProbeSets, probeSetsFitting, type SeenProbe } from '../../src/events/knownProbeSets.js';
import { parseFtraceLine } from '../../src/ingest/ftraceLine.js';
import { runCli } from '../helpers/cli.js';
import { unwrapped } from '../helpers/textReport.js';

/** Real lines of the a57 full capture (../shared/captures/a57-8bit-nvhe-full), one per probe the tool does not know by itself. */
const capturedLines = [
  '         vmchurn-188     [000] d....     4.278438: init_vm: (kvm_arch_init_vm+0x0/0x16c) kvm=0xffff00000837c000 type=0x0',
  '         vmchurn-190     [000] d....     4.296628: vcpu_load: (kvm_arch_vcpu_load+0x0/0x1d4) vcpu=0xffff000008380000 cpu=0 vcpu_id=0 mmu=0xffff00000837c9c8',
  '         vmchurn-190     [000] d....     4.297596: after_update: (kvm_pmu_flush_hwstate+0x0/0x24) vcpu=0xffff000008380000 mmu=0xffff00000837c9c8 id=257',
  '           <...>-221     [000] d....     6.418209: new_alloc: (kvm_arm_vmid_update+0x2f0/0x46c) vmid=0xffff00000403b9c8 newid=257 cur_idx=1',
  '           <...>-221     [000] d....     6.418243: update_ret: (kvm_arm_vmid_update+0xc4/0x46c) vmid=0xffff00000403b9c8 id=257 act0=257 act1=0 act2=0 act3=0 res0=0 res1=0 res2=0 res3=0',
];

/** What the decoder reports for each line read without a map: every one an unrecognised probe. */
function seenProbes(lines: readonly string[]): SeenProbe[] {
  return lines.map((text, i) => {
    const record = parseFtraceLine(text, { file: 'capture', line: i + 1, offset: 0 });
    if (record.type !== 'event') assert.fail(`${text}: not an event line`);
    const outcome = decodeEventRecord(record, { vmidBits: 8 });
    if (outcome.type !== 'unrecognised-probe') assert.fail(`${text}: ${outcome.type}, not an unrecognised probe`);
    return { name: outcome.name, location: outcome.location };
  });
}

const sixOne = knownProbeSets.find((set) => set.mapName === 'captures-6.1');

test('the captures\' probes, as the decoder reports them, are the 6.1 set', () => {
  assert.ok(sixOne !== undefined);
  const seen = seenProbes(capturedLines);
  assert.deepEqual(seen[3]?.location, { func: 'kvm_arm_vmid_update', offset: 0x2f0, size: 0x46c, isReturn: false });
  assert.deepEqual(probeSetsFitting(seen), [sixOne]);
  // The portable probes alone (function entries, any build) are enough: three of them.
  assert.deepEqual(probeSetsFitting(seen.slice(0, 3)), [sixOne]);
});

test('not the 6.1 set: too few probes, another build, or one of its names somewhere else', () => {
  const seen = seenProbes(capturedLines);
  // Two probes prove too little: `update_ret` and `new_alloc` are names anyone might choose.
  assert.deepEqual(probeSetsFitting(seen.slice(3)), []);
  // The same in-function offsets in a function of another size: another build, where +0x2f0 is another instruction.
  const otherBuild = seenProbes(capturedLines.map((line) => line.replace('/0x46c)', '/0x470)')));
  assert.deepEqual(probeSetsFitting(otherBuild), []);
  // `vcpu_load` probed elsewhere: not these probes, so not this map, whatever the other names.
  const elsewhere = seenProbes(capturedLines.map((line) => line.replace('(kvm_arch_vcpu_load+0x0/0x1d4)', '(kvm_vcpu_ioctl+0x0/0x8a0)')));
  assert.deepEqual(probeSetsFitting(elsewhere), []);
});

test('every probe of a known set is an entry of the map it names, and the map ships in traces/', () => {
  assert.ok(knownProbeSets.length > 0);
  for (const set of knownProbeSets) {
    assert.match(set.file, /^traces\/[^/]+\.map\.json$/);
    const map = JSON.parse(readFileSync(set.file, 'utf8')) as { events: Record<string, unknown> };
    assert.deepEqual(set.probes.map((probe) => probe.name).filter((name) => !(name in map.events)), [], set.file);
  }
});

test('a bundled 6.1 capture analysed without --map names the map in a probe-map-fits notice; with it, no notice', async () => {
  const trace = 'traces/capture-a57-8bit-portable-tgid.trace.gz';
  const bare = await runCli(['analyze', trace, '--format', 'json']);
  assert.equal(bare.code, 0, bare.stderr);
  const diagnostics = (JSON.parse(bare.stdout) as { diagnostics: { code: string; severity: string; samples: { line: number; detail: string }[] }[] }).diagnostics;
  const notice = diagnostics.find((d) => d.code === 'probe-map-fits');
  // Line 15 is the trace's first unrecognised probe of the set: `init_vm: (kvm_arch_init_vm+0x0/0x16c)`.
  assert.deepEqual(
    { severity: notice?.severity, line: notice?.samples[0]?.line, detail: notice?.samples[0]?.detail },
    { severity: 'notice', line: 15, detail: '--map captures-6.1 reads these probes (traces/captures-6.1.map.json)' },
  );
  const text = await runCli(['analyze', trace]);
  assert.match(unwrapped(text.stdout), /^ +1 {2}probe-map-fits \(notice\), first at traces\/capture-a57-8bit-portable-tgid\.trace\.gz:15: --map captures-6\.1 reads these probes/m);
  const mapped = await runCli(['analyze', trace, '--format', 'json', '--map', 'captures-6.1']);
  assert.equal(mapped.code, 0, mapped.stderr);
  assert.equal((JSON.parse(mapped.stdout) as { diagnostics: { code: string }[] }).diagnostics.find((d) => d.code === 'probe-map-fits'), undefined);
});

test('--map captures-6.1 is the shipped file, found from the package rather than the working directory', async () => {
  const trace = 'traces/capture-a57-8bit-trace-pipe.trace.gz';
  const byName = await runCli(['analyze', trace, '--format', 'json', '--map', 'captures-6.1']);
  const byPath = await runCli(['analyze', trace, '--format', 'json', '--map', 'traces/captures-6.1.map.json']);
  assert.equal(byName.code, 0, byName.stderr);
  assert.equal(byName.stdout, byPath.stdout);
  // The installed command, run from elsewhere: no traces/ folder there, the name still works.
  const fromElsewhere = execFileSync(process.execPath, [resolve('dist/bundle/cli/main.js'), 'analyze', resolve(trace), '--format', 'json', '--map', 'captures-6.1'], { cwd: tmpdir(), encoding: 'utf8' });
  assert.equal(fromElsewhere, byPath.stdout.split('traces/capture-a57').join(`${resolve('traces')}/capture-a57`));
  // A name that is no shipped map is a file name like any other.
  const missing = await runCli(['analyze', trace, '--map', 'captures-5.10']);
  assert.equal(missing.code, 66);
  assert.match(missing.stderr, /^vmid-replay: captures-5\.10: no such probe map \[INPUT_NOT_FOUND\]\n$/);
});
