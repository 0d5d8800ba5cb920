/**
 * MessagePack version 3 stores what an event line means (src/events/precoded.ts). The contract:
 * the event built from the stored meaning is the event `decodeEventRecord` gives for the line
 * (docs/msgpack-format.md, "Meaning columns"), and where it cannot be (a probe map that knows
 * the name, observed allocator state, a code lacking its VM) the body is decoded instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PointerTable, decodeEventRecord } from '../../src/events/decode.js';
import { linePrecoder, precode, precodedOutcome } from '../../src/events/precoded.js';
import { parseProbeMap } from '../../src/events/probeMap.js';
import type { EventRecord, TraceRecord } from '../../src/ingest/records.js';
import { everyFtraceLineKind, inChunks, readAllRecords } from '../ingest/chunks.js';

const tracesDir = join(process.cwd(), 'traces');
const traces = ['mixed-hazards.trace', 'device-assignment-clean.trace', 'generated-faults.trace', 'vhe-rollover-inside-update.trace', 'capture-a57-8bit-portable-tgid.trace.gz', 'capture-max-16bit-vhe.trace.gz', 'churn-8bit-rollovers.trace.gz'];

async function eventsOf(name: string): Promise<EventRecord[]> {
  const stored = readFileSync(join(tracesDir, name));
  const bytes = stored[0] === 0x1f ? gunzipSync(stored) : stored;
  const records: TraceRecord[] = await readAllRecords(inChunks(bytes, 1 << 16), { file: name });
  return records.filter((record): record is EventRecord => record.type === 'event');
}

/** The record as a version 3 file hands it over: the same fields and what the line means. */
function withMeaning(record: EventRecord, meaning: { meaning: number; vm: string | undefined; value: number }): EventRecord {
  return { ...record, precodedMeaning: meaning.meaning, precodedVm: meaning.vm, precodedValue: meaning.value };
}

function line(body: string, name = 'vmid_update'): EventRecord {
  return { type: 'event', span: { file: 't', line: 1, offset: 0 }, text: `x-1 [000] 1.000000: ${name}: ${body}`, task: 'x', pid: 1, cpu: 0, tsUs: 1_000_000, tsNs: 0, name, body };
}

test('every event built from a stored meaning is the event decoding its body gives, field for field', async () => {
  for (const name of traces) {
    const precoder = linePrecoder();
    const context = { vmidBits: undefined, pointers: new PointerTable() };
    let coded = 0;
    for (const record of await eventsOf(name)) {
      const stored = withMeaning(record, precoder(record));
      const built = precodedOutcome(stored, undefined);
      if (built === undefined) continue;
      coded++;
      const decoded = decodeEventRecord(stored, context);
      assert.deepStrictEqual(built, decoded, `${name}:${record.span.line}`);
    }
    // Each of these traces holds VM lifetimes and updates: a test of nothing would pass too.
    assert.ok(coded > 0, `${name}: no line was coded`);
  }
});

test('the synthetic line kinds: a stored meaning never contradicts decoding', async () => {
  const precoder = linePrecoder();
  const records = (await readAllRecords(inChunks(Buffer.from(`${everyFtraceLineKind.join('\n')}\n`), 64), { file: 's' })).filter((record): record is EventRecord => record.type === 'event');
  assert.ok(records.length > 5);
  for (const record of records) {
    const stored = withMeaning(record, precoder(record));
    const built = precodedOutcome(stored, undefined);
    if (built !== undefined) assert.deepStrictEqual(built, decodeEventRecord(stored, { vmidBits: undefined }), record.text);
  }
});

test('a line whose name the probe map knows is decoded from its body, whatever was stored', () => {
  // The map says `vmid_update` lines are pin puts here: the stored meaning (an update entry) must not win.
  const record = line('kvm_vmid=0xffff000012340000 id=0x105');
  const stored = withMeaning(record, precode(decodeEventRecord(record, { vmidBits: undefined })));
  assert.ok(precodedOutcome(stored, undefined) !== undefined, 'coded without a map');
  const map = parseProbeMap({ format: 'vmid-replay-probe-map', version: 1, events: { vmid_update: { event: 'vmid_unpin', args: { kvm_vmid: 'kvm_vmid' } } } }, 'map.json');
  assert.equal(precodedOutcome(stored, map), undefined);
});

test('what a probe read of the allocator, and TLBI and SMMU lines, are not coded: their bodies are decoded', () => {
  const observed = line('(kvm_arm_vmid_update+0x0/0x1d0 <- kvm_arch_vcpu_load) id=0x105 act={1,2,0,0}', 'vmid_update');
  assert.equal(precode(decodeEventRecord(observed, { vmidBits: undefined })).meaning, 0);
  const tlbi = line('vmid=5', 'cpu_tlbi_vmid');
  assert.equal(precode(decodeEventRecord(tlbi, { vmidBits: undefined })).meaning, 0);
});

test('a coded VM creation without its VM pointer (a damaged or foreign file) is decoded from its body', () => {
  const record = line('mmu=0xffff000012340000', 'vm_create');
  const meaning = precode(decodeEventRecord(record, { vmidBits: undefined }));
  assert.ok(meaning.meaning !== 0 && meaning.vm === '0xffff000012340000');
  assert.equal(precodedOutcome(withMeaning(record, { ...meaning, vm: undefined }), undefined), undefined);
  // An unknown code too.
  assert.equal(precodedOutcome(withMeaning(record, { meaning: 31, vm: meaning.vm, value: 0 }), undefined), undefined);
});
