/**
 * The timeline collected from a replay: which VM ran where and under which VMID, the
 * rollovers, generations and pins (expected from vmid.c's rules, derived below), each VM's
 * VMID history, and memory bounded by the limits whatever the trace's length.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { analyzeTraceWithVisuals } from '../../src/cli/analyzeTrace.js';
import { TimelineCollector, defaultTimelineLimits } from '../../src/timeline/collector.js';
import type { ReplayStep } from '../../src/steps/step.js';
import type { VmState } from '../../src/steps/state.js';
import type { Timeline } from '../../src/timeline/types.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-timeline-'));

async function timelineOf(name: string, trace: string, limits = defaultTimelineLimits): Promise<Timeline> {
  const path = join(dir, name);
  writeFileSync(path, trace);
  const { timeline } = await analyzeTraceWithVisuals(path, Readable.from([]), {}, undefined, undefined, { timeline: true, timelineLimits: limits });
  assert.ok(timeline !== undefined);
  return timeline;
}

/** Per lane, per owner label, the microseconds it held the lane. */
function heldBy(timeline: Timeline, lanes: Timeline['cpus']): Map<string, Map<string, number>> {
  return new Map(
    lanes.map((lane) => {
      const held = new Map<string, number>();
      for (const cell of lane.cells) for (const top of cell.top) held.set((timeline.owners[top.owner] as { label: string }).label, (held.get((timeline.owners[top.owner] as { label: string }).label) ?? 0) + top.us);
      return [lane.label, held];
    }),
  );
}

test('four VMs on 2-bit VMIDs: lanes, one rollover into generation 2, and the VMID histories', async () => {
  // 2-bit VMIDs: indexes 1..3. A, B, C take 1, 2, 3 by new_vmid()'s search; D finds no free
  // index above cur_idx, rolls over (generation 2) and takes index 1 again (the map was
  // cleared, nothing running is reserved). A's next load then finds its generation-1 id
  // stale: new_vmid() tries its old index 1 (taken by D), searches on from cur_idx and gets 2.
  const [a, b, c, d] = [1, 2, 3, 4].map(vmPointer) as [string, string, string, string];
  const trace = new TraceWriter().header('vmid_bits=2 cpus=2 variant=mainline');
  for (const vm of [a, b, c, d]) trace.vmCreate(vm);
  // Lines advance 1 µs each; the load is replayed at its return line.
  trace.load(a, 0).wait(9).put(0); // A on CPU 0 from its return to the put: 10 µs
  trace.load(b, 1).wait(19).put(1); // B on CPU 1: 20 µs
  trace.load(c, 0).wait(4).put(0); // C on CPU 0: 5 µs
  trace.load(d, 1).wait(29).put(1); // D on CPU 1: 30 µs, after the rollover
  trace.load(a, 0).wait(39).put(0); // A again on CPU 0, 40 µs, VMID 2 of generation 2
  const timeline = await timelineOf('four.trace', trace.toString());
  const held = heldBy(timeline, timeline.cpus);
  const vm = (p: string) => `VM ${p}`;
  assert.deepEqual([...held.keys()], ['CPU 0', 'CPU 1']);
  assert.deepEqual(
    held.get('CPU 0'),
    new Map([
      [`${vm(a)}, VMID 1`, 10],
      [`${vm(c)}, VMID 3`, 5],
      [`${vm(a)}, VMID 2`, 40],
    ]),
  );
  assert.deepEqual(
    held.get('CPU 1'),
    new Map([
      [`${vm(b)}, VMID 2`, 20],
      [`${vm(d)}, VMID 1`, 30],
    ]),
  );
  assert.equal(timeline.rollovers.reduce((sum, entry) => sum + entry.count, 0), 1);
  assert.deepEqual(
    timeline.counters.generation.map((cell) => cell.last),
    [1, 2],
  );
  const historyOf = (p: string) => timeline.vms.find((history) => history.label === vm(p))?.entries.map((entry) => entry.what);
  assert.deepEqual(historyOf(a), ['VMID 1, generation 1 (search)', 'VMID 2, generation 2 (search)']);
  assert.deepEqual(historyOf(d), ['VMID 1, generation 2 (search)']);
  assert.equal(timeline.vmsOmitted, 0);
});

test('pins move the pinned counter, and a refused pin and the unpin are in the VM history', async () => {
  // 4-bit VMIDs on 4 CPUs, RFC v2: max_pinned_vmids = 16 - 4 - 2 = 10. Ten VMs pin; the
  // eleventh is refused (ret 0); then the first unpins: 10 -> 9.
  const trace = new TraceWriter().header('vmid_bits=4 cpus=4 variant=rfc-v2');
  for (let n = 1; n <= 11; n++) trace.vmCreate(vmPointer(n)).load(vmPointer(n), 0).put(0).pin(vmPointer(n));
  trace.unpin(vmPointer(1));
  const timeline = await timelineOf('pins.trace', trace.toString());
  const pinned = timeline.counters.pinnedVmids;
  assert.equal(Math.max(...pinned.map((cell) => cell.max)), 10);
  assert.equal(pinned.at(-1)?.last, 9);
  const eleventh = timeline.vms.find((history) => history.label === `VM ${vmPointer(11)}`);
  assert.deepEqual(eleventh?.entries.map((entry) => entry.what), ['VMID 11, generation 1 (search)', 'pin refused (returned 0)']);
  const first = timeline.vms.find((history) => history.label === `VM ${vmPointer(1)}`);
  assert.deepEqual(first?.entries.map((entry) => entry.what), ['VMID 1, generation 1 (search)', 'pinned VMID 1', 'unpinned VMID 1']);
});

test('an SMMU stream lane shows its binding from STE write to the next', async () => {
  const vm = vmPointer(1);
  const trace = new TraceWriter().header('vmid_bits=8 cpus=1 variant=rfc-v2').vmCreate(vm).load(vm, 0).pin(vm);
  trace.ste('smmu0', 0x10, 's2', 1, vm).wait(49).ste('smmu0', 0x10, 'abort', 0).wait(9).put(0);
  const timeline = await timelineOf('stream.trace', trace.toString());
  const held = heldBy(timeline, timeline.streams);
  // The s2 binding holds from its write to the abort write, 50 µs; abort from there to the end (the put): 10 µs.
  assert.deepEqual(held.get('smmu0 SID 0x10'), new Map([[`s2 VMID 1, shared with VM ${vm}`, 50], ['abort', 10]]));
});

/** A step as the replay makes it, with only the fields the collector reads. */
function loadStep(vm: VmState, cpu: number, tsUs: number, vmid: number, gen: number): ReplayStep {
  const event = { kind: 'vmid-update', span: { file: 't', line: tsUs, offset: 0 }, source: { text: `line at ${tsUs}` }, cpu, tsUs, tsNs: tsUs * 1000 };
  return { kind: 'load', event, vm, cpu, idBefore: 0, outcome: { activeId: (gen << 8) | vmid, vmid, gen, flushes: 0, slow: true, idAfter: (gen << 8) | vmid }, previouslyRunning: undefined } as unknown as ReplayStep;
}

test('memory stays bounded: 200 000 loads on 1000 VMs keep 16 buckets per lane, 10 histories of 4 entries, and every microsecond', () => {
  const limits = { buckets: 16, maxOwnersPerCell: 3, maxStreams: 2, maxVms: 10, headEntries: 2, tailEntries: 2 };
  const collector = new TimelineCollector(limits);
  const vms: VmState[] = Array.from({ length: 1000 }, (_, n) => ({ key: `vm:${n}#1`, pointer: `0x${n}`, lifetime: 1, label: `VM ${n}`, kvmVmid: { id: 0, pinned: 0 }, destroyed: false }));
  let tsUs = 1_000_000;
  for (let i = 0; i < 200_000; i++) {
    // Each load on CPU i % 4 ends the slice before it there; each VM's VMID changes at every
    // load of it (generation i), so its history has 200 changes.
    collector.observe(loadStep(vms[i % 1000] as VmState, i % 4, tsUs, 1 + (i % 200), 1 + Math.floor(i / 1000)));
    tsUs += 3;
  }
  collector.observe({ kind: 'trace-end', at: undefined });
  const timeline = collector.timeline();
  assert.equal(timeline.cpus.length, 4);
  for (const lane of timeline.cpus) {
    assert.ok(lane.cells.length > 0 && lane.cells.length <= 16, `${lane.label}: ${lane.cells.length} cells`);
    for (const cell of lane.cells) assert.ok(cell.top.length <= 3);
  }
  // Each CPU runs a slice from every 4th load to the next one on it (12 µs later); the last
  // slice of each CPU ends at the trace's last step. So every CPU but the last one to load
  // holds (its loads - 1) * 12 µs plus the stretch to the end.
  const lastUs = tsUs - 3;
  const expected = [0, 1, 2, 3].map((cpu) => {
    const loads = 50_000;
    const lastLoad = 1_000_000 + (cpu + 4 * (loads - 1)) * 3;
    return (loads - 1) * 12 + (lastUs - lastLoad);
  });
  assert.deepEqual(
    timeline.cpus.map((lane) => lane.cells.reduce((sum, cell) => sum + cell.busyUs, 0)),
    expected,
  );
  assert.equal(timeline.vms.length, 10);
  assert.equal(timeline.vmsOmitted, 990);
  for (const history of timeline.vms) {
    assert.equal(history.entries.length, 4);
    assert.equal(history.omitted, 196);
  }
  // VM 0 is loaded at i = 0, 1000, ..., 199000: its last entries are from the last two.
  assert.deepEqual(timeline.vms[0]?.entries.map((entry) => entry.tsUs), [1_000_000, 1_003_000, 1_000_000 + 198_000 * 3, 1_000_000 + 199_000 * 3]);
});
