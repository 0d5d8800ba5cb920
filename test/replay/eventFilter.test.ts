/**
 * The replay tells readers which event lines it has no use for, and they skip those after the
 * name. That must never show in a report: every bundled trace, as ftrace text and as MessagePack,
 * gives the same report read with the filter (as `analyze` reads) and without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseProbeMap } from '../../src/events/probeMap.js';
import { readRecords, recordsFromBytes } from '../../src/ingest/readTrace.js';
import { encodeMsgpackTrace } from '../../src/ingest/msgpackWriter.js';
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
  for await (const batch of readRecords(inChunks(bytes, 1 << 16), { file, wantEvent })) count += batch.filter((record) => record.type === 'unused-event').length;
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
    }
  });
}

test('at least one bundled trace has unused lines to skip', async () => {
  const raw = readFileSync(join(tracesDir, 'capture-max-16bit-vhe.trace.gz'));
  assert.ok((await unusedEventRecords(gunzipSync(raw), 'c', { probeMap: captureMap })) > 100);
});
