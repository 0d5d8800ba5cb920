/**
 * A line's text is read only to quote it: events keep their record as their `source`, and a
 * reader may make the text on demand (the MessagePack reader does; making it for every line
 * was a fifth of a dense replay). These tests replay records whose `text` counts its reads:
 * a trace with no findings reads none, one with findings reads only the lines they quote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordsFromBytes } from '../../src/ingest/readTrace.js';
import type { EventRecord, TraceRecord } from '../../src/ingest/records.js';
import { Replay } from '../../src/replay/replay.js';
import { buildReport } from '../../src/report/report.js';
import { inChunks } from '../ingest/chunks.js';

/** The trace's records, each event's text counted when read (`reads` holds the line numbers). */
async function countingRecords(name: string, reads: number[]): Promise<TraceRecord[]> {
  const file = join(process.cwd(), 'traces', name);
  const records: TraceRecord[] = [];
  for await (const batch of recordsFromBytes(inChunks(readFileSync(file), 1 << 16), { file: name })) {
    for (const record of batch) {
      if (record.type !== 'event') {
        records.push(record);
        continue;
      }
      const { text, ...rest } = record;
      const counted: EventRecord = Object.defineProperty({ ...rest }, 'text', {
        get: () => {
          reads.push(record.span.line);
          return text;
        },
        enumerable: true,
      }) as EventRecord;
      records.push(counted);
    }
  }
  return records;
}

test('a replay without findings reads no event line text', async () => {
  const reads: number[] = [];
  const records = await countingRecords('device-assignment-clean.trace', reads);
  assert.ok(records.filter((record) => record.type === 'event').length > 100);
  const replay = new Replay();
  for (const record of records) replay.push(record);
  const result = replay.finish();
  const report = buildReport('device-assignment-clean.trace', result);
  assert.equal(report.findings.length, 0);
  assert.equal(report.verdict, 'ok');
  // The result's last line is the only quote a clean run makes.
  assert.ok(result.lastRef !== undefined);
  assert.deepEqual(reads, [result.lastRef.line]);
});

test('a replay with findings reads the text of the lines they quote, and only those', async () => {
  const reads: number[] = [];
  const records = await countingRecords('mixed-hazards.trace', reads);
  const replay = new Replay();
  for (const record of records) replay.push(record);
  const result = replay.finish();
  const report = buildReport('mixed-hazards.trace', result);
  assert.ok(report.findings.length >= 10);
  const quoted = new Set(report.findings.flatMap((finding) => finding.witnesses.map((witness) => witness.ref.line)));
  if (result.lastRef !== undefined) quoted.add(result.lastRef.line);
  if (result.dataLossAt !== undefined) quoted.add(result.dataLossAt.line);
  assert.deepEqual(new Set(reads), quoted);
  // Every quote is the line as the trace has it.
  const lines = readFileSync(join(process.cwd(), 'traces', 'mixed-hazards.trace'), 'utf8').split('\n');
  for (const finding of report.findings) for (const witness of finding.witnesses) assert.equal(witness.ref.text, lines[witness.ref.line - 1]);
});
