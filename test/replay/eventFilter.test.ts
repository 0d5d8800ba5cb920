/**
 * The replay tells readers which event lines it has no use for (`mayDecode`), and they count
 * those by name instead of reading them. That must never show in a report: every bundled
 * trace, as ftrace text and as MessagePack, gives the same report read with the filter (as
 * `analyze` reads) and without it; and `mayDecode` refuses only lines that decode to `unused`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { decodeEventRecord, mayDecode } from '../../src/events/decode.js';
import { parseProbeMap } from '../../src/events/probeMap.js';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';
import { readRecords, recordsFromBytes } from '../../src/ingest/readTrace.js';
import { encodeMsgpackTrace } from '../../src/ingest/writers/msgpackWriter.js';
import type { TraceRecord } from '../../src/ingest/records.js';
import { replayBytes } from '../../src/replay/analyze.js';
import { Replay, type ReplayOptions } from '../../src/replay/replay.js';
import { buildReport, type Report } from '../../src/report/report.js';
import { inChunks } from '../ingest/chunks.js';

const tracesDir = join(process.cwd(), 'traces');
const captureMap = parseProbeMap(JSON.parse(readFileSync(join(tracesDir, 'captures-6.1.map.json'), 'utf8')), 'captures-6.1.map.json');

const traces: readonly { name: string; options: ReplayOptions }[] = [
  { name: 'mixed-hazards.trace', options: {} },
  { name: 'device-assignment-clean.trace', options: {} },
  { name: 'generated-faults.trace', options: {} },
  { name: 'generated-clean-multi-smmu.trace', options: {} },
  { name: 'churn-8bit-rollovers.trace.gz', options: { probeMap: captureMap } },
  { name: 'capture-a57-8bit-portable-tgid.trace.gz', options: { probeMap: captureMap } },
  { name: 'capture-max-16bit-vhe.trace.gz', options: { probeMap: captureMap } },
];

async function withoutFilter(bytes: Uint8Array, file: string, options: ReplayOptions): Promise<Report> {
  const replay = new Replay(options);
  for await (const batch of recordsFromBytes(inChunks(bytes, 1 << 16), { file })) for (const record of batch) replay.push(record);
  return buildReport(file, replay.finish());
}

async function unusedEventRecords(bytes: Uint8Array, file: string, options: ReplayOptions): Promise<number> {
  const wantEvent = new Replay(options).wantEvent;
  let count = 0;
  for await (const batch of readRecords(inChunks(bytes, 1 << 16), { file, wantEvent })) {
    for (const record of batch) if (record.type === 'unused-events') for (const lines of record.countsByName.values()) count += lines;
  }
  return count;
}

async function asMsgpack(text: Uint8Array, file: string): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of encodeMsgpackTrace(recordsFromBytes(inChunks(text, 1 << 16), { file }) as AsyncIterable<TraceRecord[]>, { source: file })) out.push(chunk);
  return Buffer.concat(out);
}

for (const { name, options } of traces) {
  test(`${name}: the same report with and without skipping unused lines, as text and as MessagePack`, async () => {
    const raw = readFileSync(join(tracesDir, name));
    const text = name.endsWith('.gz') ? gunzipSync(raw) : raw;
    const msgpack = await asMsgpack(text, name);
    for (const [form, bytes] of [['text', text], ['msgpack', msgpack]] as const) {
      const filtered = buildReport(name, await replayBytes(inChunks(bytes, 1 << 16), name, options));
      assert.deepEqual(filtered, await withoutFilter(bytes, name, options), `${name} as ${form}`);
      // The comparison means something only if lines were skipped.
      const skipped = await unusedEventRecords(bytes, name, options);
      const unused = Object.values(filtered.counts.unusedByName).reduce((sum, count) => sum + count, 0);
      assert.ok(unused === 0 || skipped > 0, `${name} as ${form}: ${unused} unused lines, none skipped`);
      assert.ok(skipped <= unused, `${name} as ${form}: ${skipped} skipped, only ${unused} unused`);
    }
    // Every line mayDecode refuses decodes to `unused`: skipping it loses nothing.
    for await (const batch of recordsFromBytes(inChunks(text, 1 << 16), { file: name })) {
      for (const record of batch) {
        if (record.type !== 'event' || mayDecode(record.name, record.body.startsWith('('), options.probeMap)) continue;
        assert.equal(decodeEventRecord(record, { vmidBits: 8, ...(options.probeMap === undefined ? {} : { probeMap: options.probeMap }) }).type, 'unused', record.text);
      }
    }
  });
}

const probeMapArb = fc.constantFrom(undefined, captureMap);
const nameArb = fc.oneof(
  fc.constantFrom('vmid_update', 'vmid_update_ret', 'smmu_ste', 'smmu_cmd', 'vm_create', 'tracing_mark_write', 'print', 'kvm_entry', 'sched_switch', 'kvm_arm_vmid_update__entry', 'kvm_arm_vmid_update__exit', 'x__entry', 'upd'),
  fc.constantFrom(...[...captureMap.events.keys()]),
  fc.stringMatching(/^[a-z_]{1,12}$/),
);
const bodyArb = fc.oneof(
  fc.constantFrom('(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff1 id=3', '(kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=0x1 id=5', '(foo+0x10/0x20) a=1', 'vmid-replay: vmid_bits=8', 'smmu=s0 sid=1 cfg=s2 s2vmid=3', 'PC: 0x1', '('),
  fc.string({ unit: fc.constantFrom(...'( )=x0kvm_+/<-'.split('')), maxLength: 40 }),
);

test('property: mayDecode refuses a line only when decodeEventRecord says unused', () => {
  fc.assert(
    fc.property(nameArb, bodyArb, probeMapArb, fc.constantFrom(undefined, 8, 16), (name, body, probeMap, vmidBits) => {
      if (mayDecode(name, body.startsWith('('), probeMap)) return;
      const text = `  bash-1 [000] d.... 1.000001: ${name}: ${body}`;
      const record = parseFtraceLine(text, { file: 't', line: 1, offset: 0 });
      assert.ok(record.type === 'event' && record.name === name);
      assert.equal(decodeEventRecord(record, { vmidBits, ...(probeMap === undefined ? {} : { probeMap }) }).type, 'unused', text);
    }),
    { numRuns: 3000 },
  );
});

test('at least one bundled trace has unused lines to skip', async () => {
  const raw = readFileSync(join(tracesDir, 'capture-max-16bit-vhe.trace.gz'));
  assert.ok((await unusedEventRecords(gunzipSync(raw), 'c', { probeMap: captureMap })) > 100);
});

/** Lines of the bundled mixed-hazards trace, noise, and broken lines, to shuffle into soups. */
const mixedLines = readFileSync(join(tracesDir, 'mixed-hazards.trace'), 'utf8').split('\n').filter((line) => line.length > 0);
const soupLineArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...mixedLines) },
  { weight: 2, arbitrary: fc.constantFrom('  CPU 0/KVM-1 [001] d.... 1.000001: kvm_entry: PC: 0x1', '  <idle>-0 [000] d.... 1.000002: sched_switch: prev_comm=swapper/0', '  q-1 (    1) [002] ..... 1.000003: kvm_exit: TRAP', '  q-1 [002] ..... 99999999999.000003: kvm_exit: TRAP', '  q-1 [002] ..... 1.000004: upd: (foo+0x0/0x10) a=1', '  q-é-1 [002] ..... 1.000005: sched_wakeup: comm=ñ') },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...mixedLines), fc.nat(), fc.constantFrom(' ', ':', '[', ']', '-', 'x', '\r', '\u00e9')).map(([line, at, ch]) => `${line.slice(0, at % (line.length + 1))}${ch}${line.slice((at % (line.length + 1)) + 1)}`) },
);

test('property: any soup of event, noise and broken lines gives the same report with and without skipping, at any chunking', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(soupLineArb, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 300 }), async (lines, chunk) => {
      const bytes = Buffer.from(`${mixedLines.filter((line) => line.startsWith('#')).join('\n')}\n${lines.join('\n')}\n`);
      const options: ReplayOptions = { vmidBits: 4, cpus: 4, variant: 'rfc-v2' };
      let filtered: Report | string;
      let unfiltered: Report | string;
      try {
        filtered = buildReport('s', await replayBytes(inChunks(bytes, chunk), 's', options));
      } catch (error) {
        filtered = String(error);
      }
      try {
        const replay = new Replay(options);
        for await (const batch of recordsFromBytes(inChunks(bytes, chunk), { file: 's' })) for (const record of batch) replay.push(record);
        unfiltered = buildReport('s', replay.finish());
      } catch (error) {
        unfiltered = String(error);
      }
      assert.deepEqual(filtered, unfiltered);
    }),
    { numRuns: 150 },
  );
});
