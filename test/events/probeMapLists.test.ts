/**
 * A probe map's list fields (`"act": ["act0", ..., "act3"]`) mean what the documented array
 * argument means (src/events/probeMap.ts: "a list builds an array field (`act={a0,a1}`) from
 * several arguments"): a capture line read through the map must decode to exactly what the
 * tool's own line with those values written as `act={...}` decodes to, whatever the values
 * are, including what is no id (a sign, a comma, an empty value, more than 2^53 - 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEventRecord, type DecodeOutcome } from '../../src/events/decode.js';
import { parseProbeMap } from '../../src/events/probeMap.js';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';

const cpus = 4;
const names = (prefix: string) => Array.from({ length: cpus }, (_, cpu) => `${prefix}${cpu}`);
const probeMap = parseProbeMap(
  {
    format: 'vmid-replay-probe-map',
    version: 1,
    events: { update_ret: { event: 'vmid_update_ret', args: { kvm_vmid: 'vmid', id: 'id', act: names('act'), res: names('res'), map: names('map') } } },
  },
  'test-map.json',
);

/** An element as a probe may print it: mostly ids, sometimes something that is not one (no brace: the tool line could not hold it as the joined text does). */
const elementArb = fc.oneof(
  { weight: 6, arbitrary: fc.nat(1 << 20).map(String) },
  { weight: 3, arbitrary: fc.nat(1 << 20).map((n) => `0x${n.toString(16)}`) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => `0x${n.toString(16)}`) },
  { weight: 1, arbitrary: fc.constantFrom('-1', '1,2', ',', '', '0x', 'x', '00', '9007199254740993') },
);
/** A list field: all its elements printed, or one of them missing (the field is then absent). */
const listArb = fc.record({ values: fc.array(elementArb, { minLength: cpus, maxLength: cpus }), missing: fc.option(fc.nat(cpus - 1), { freq: 8 }) });

function decodeLine(line: string): DecodeOutcome {
  const record = parseFtraceLine(line, { file: 't', line: 1, offset: 0 });
  assert.ok(record.type === 'event', line);
  return decodeEventRecord(record, { vmidBits: 8, probeMap });
}

/** The event's meaning, without where it came from (the two lines differ there). */
function meaning(outcome: DecodeOutcome): unknown {
  if (outcome.type !== 'event') return outcome.type;
  return Object.fromEntries(Object.entries(outcome.event).filter(([key]) => key !== 'span' && key !== 'source'));
}

test('property: a capture line read through list fields decodes as the tool line with {...} arrays', () => {
  fc.assert(
    fc.property(listArb, listArb, listArb, ({ values: act, missing: noAct }, { values: res, missing: noRes }, { values: map, missing: noMap }) => {
      const capture = (prefix: string, values: string[], missing: number | null) => values.flatMap((value, cpu) => (cpu === missing ? [] : [`${prefix}${cpu}=${value}`]));
      const tool = (field: string, values: string[], missing: number | null) => (missing === null ? [`${field}={${values.join(',')}}`] : []);
      const head = '  CPU 0/KVM-2016 [002] d.... 100.000107:';
      const captureLine = `${head} update_ret: (kvm_arm_vmid_update+0xc4/0x46c) vmid=0xffff0000100009c8 id=257 ${[...capture('act', act, noAct), ...capture('res', res, noRes), ...capture('map', map, noMap)].join(' ')}`;
      const toolLine = `${head} vmid_update_ret: kvm_vmid=0xffff0000100009c8 id=257 ${[...tool('act', act, noAct), ...tool('res', res, noRes), ...tool('map', map, noMap)].join(' ')}`;
      const viaMap = decodeLine(captureLine);
      const direct = decodeLine(toolLine);
      assert.deepEqual(meaning(viaMap), meaning(direct), `${captureLine}\n${toolLine}`);
    }),
    { numRuns: 3000 },
  );
});

test("a capture's update_ret through the map: act0..3 and res0..3 are the lists of every CPU's ids", () => {
  const outcome = decodeLine('  CPU 0/KVM-2016 [002] d.... 100.000107: update_ret: (kvm_arm_vmid_update+0xc4/0x46c) vmid=0xffff0000100009c8 id=257 act0=0 act1=0x101 act2=257 act3=0 res0=0 res1=0 res2=0 res3=3 map0=0x3 map1=0 map2=0 map3=0x8000000000000000');
  assert.ok(outcome.type === 'event' && outcome.event.kind === 'vmid-update');
  assert.deepEqual(outcome.event.observed, { activeAll: [0, 257, 257, 0], reservedAll: [0, 0, 0, 3], mapWords: [3n, 0n, 0n, 1n << 63n] });
});
