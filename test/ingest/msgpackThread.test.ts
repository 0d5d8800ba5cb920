/**
 * A large MessagePack trace is read, checked and filtered on a second thread
 * (src/ingest/threads/msgpackThread.ts). That must not show: every trace gives the report the
 * in-thread reader gives, sparse or dense, plain or gzip, and a corrupt file or a replay
 * error ends the run as it does in one thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { VmidReplayError } from '../../src/errors.js';
import { encodeMsgpackTrace } from '../../src/ingest/writers/msgpackWriter.js';
import { msgpackThreadPlan, readMsgpackWithThread } from '../../src/ingest/threads/msgpackThread.js';
import { openTraceSource, readRecords, recordsFromBytes } from '../../src/ingest/readTrace.js';
import type { ReadRecord } from '../../src/ingest/records.js';
import { analyzeTrace } from '../../src/cli/analyzeTrace.js';
import { Replay, type ReplayOptions } from '../../src/replay/replay.js';
import { assertSameReportWithThread, inTempDir, sparse, withReadingThread } from '../helpers/sparseTrace.js';

/** The MessagePack form of ftrace text, in blocks of `blockRecords` records. */
async function packed(text: string, blockRecords = 4096): Promise<Buffer> {
  const out: Buffer[] = [];
  const records = recordsFromBytes(Readable.from([Buffer.from(text)]), { file: 'sparse.trace' });
  for await (const chunk of encodeMsgpackTrace(records, { source: 'sparse.trace', blockRecords })) out.push(chunk);
  return Buffer.concat(out);
}

const bothWays = (file: string, options?: ReplayOptions): Promise<void> => assertSameReportWithThread(file, msgpackThreadPlan, options);

test('a sparse MessagePack trace gives the same report with a reading thread, plain and gzip, in small blocks and large', () =>
  inTempDir(async (dir) => {
    const text = sparse(60);
    for (const blockRecords of [4096, 97]) {
      const bytes = await packed(text, blockRecords);
      writeFileSync(join(dir, 'sparse.msgpack'), bytes);
      writeFileSync(join(dir, 'sparse.msgpack.gz'), gzipSync(bytes));
      await bothWays(join(dir, 'sparse.msgpack'));
      await bothWays(join(dir, 'sparse.msgpack.gz'));
    }
  }));

test('a dense MessagePack trace, and one read with a probe variant option, give the same report with a reading thread', () =>
  inTempDir(async (dir) => {
    const file = join(dir, 'dense.msgpack');
    writeFileSync(file, await packed(sparse(0), 50));
    await bothWays(file);
    await bothWays(file, { variant: 'rfc-v3' });
  }));

test('the replaying thread gets every record the in-thread reader gives, refused events only as counts', () =>
  inTempDir(async (dir) => {
    const file = join(dir, 'sparse.msgpack');
    writeFileSync(file, await packed(sparse(30), 64));
    // Refuses kvm_exit only: every other event must come across as a record, in order.
    const wantEvent = (name: string): boolean => name !== 'kvm_exit';
    const threaded: ReadRecord[] = [];
    await readMsgpackWithThread(file, { file, wantEvent }, (batch) => threaded.push(...batch));
    const all: ReadRecord[] = [];
    for await (const batch of recordsFromBytes(Readable.from([readFileSync(file)]), { file })) all.push(...batch);
    const kept = all.filter((record) => record.type !== 'event' || record.name !== 'kvm_exit');
    assert.deepEqual(
      threaded.filter((record) => record.type !== 'unused-events'),
      kept,
    );
    const counted = threaded.flatMap((record) => (record.type === 'unused-events' ? [...record.countsByName] : []));
    assert.deepEqual(new Set(counted.map(([name]) => name)), new Set(['kvm_exit']));
    assert.equal(
      counted.reduce((sum, [, count]) => sum + count, 0),
      all.length - kept.length,
    );
  }));

test('the plan reads only MessagePack files of at least the size given, from a file', () =>
  inTempDir(async (dir) => {
    const wantEvent = new Replay({}).wantEvent;
    const msgpack = join(dir, 'a.msgpack');
    const text = join(dir, 'a.trace');
    writeFileSync(msgpack, await packed(sparse(5)));
    writeFileSync(text, sparse(5));
    assert.equal(msgpackThreadPlan(msgpack, { file: msgpack, wantEvent }, 0), true);
    assert.equal(msgpackThreadPlan(msgpack, { file: msgpack, wantEvent }, 1 << 30), false, 'below the size where a thread pays');
    assert.equal(msgpackThreadPlan(msgpack, { file: msgpack }, 0), false, 'nothing to filter');
    assert.equal(msgpackThreadPlan(msgpack, { file: msgpack, wantEvent, format: 'ftrace' }, 0), false, 'read as another format');
    assert.equal(msgpackThreadPlan(text, { file: text, wantEvent }, 0), false);
    assert.equal(msgpackThreadPlan(join(dir, 'missing.msgpack'), { file: 'missing.msgpack', wantEvent }, 0), false);
  }));

test('a corrupt or truncated MessagePack file fails on the reading thread as in this thread; a strict-mode error from the replay stops the reader', () =>
  inTempDir(async (dir) => {
    const bytes = await packed(sparse(30), 200);
    const corrupt = Buffer.from(bytes);
    const middle = Math.floor(corrupt.length / 2);
    corrupt[middle] = (corrupt[middle] as number) ^ 0xff;
    for (const [name, contents] of [
      ['corrupt.msgpack', corrupt],
      ['cut.msgpack', bytes.subarray(0, bytes.length - 100)],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, contents);
      const expected = await analyzeTrace(file, Readable.from([]), {}).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(expected instanceof VmidReplayError && expected.code === 'INPUT_CORRUPT', name);
      await assert.rejects(analyzeTrace(file, Readable.from([]), {}, undefined, withReadingThread), (error: unknown) => error instanceof VmidReplayError && error.code === 'INPUT_CORRUPT' && error.message === expected.message);
    }

    const broken = join(dir, 'broken.msgpack');
    writeFileSync(broken, await packed(sparse(30, (index) => (index === 100 ? ['   x-1 [000] d..1.     1.0: vmid_update: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=nonsense'] : [])), 200));
    await assert.rejects(analyzeTrace(broken, Readable.from([]), { strict: true }, undefined, withReadingThread), (error: unknown) => error instanceof VmidReplayError && error.code === 'MALFORMED_LINE');
  }));

test('property: whatever the block size and the names refused, the reading thread gives the in-thread reader\'s records and counts', () =>
  inTempDir(async (dir) => {
    const names = ['kvm_entry', 'kvm_exit', 'vmid_update', 'vmid_update_ret', 'smmu_cmd', 'smmu_ste', 'vmid_clear_active', 'vm_create'];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.constantFrom(0, 2, 9), fc.subarray(names), async (blockRecords, noise, refusedNames) => {
        const file = join(dir, `p${run++}.msgpack`);
        writeFileSync(file, await packed(sparse(noise), blockRecords));
        const refused = new Set(refusedNames);
        const wantEvent = (name: string): boolean => !refused.has(name);
        const threaded: ReadRecord[] = [];
        await readMsgpackWithThread(file, { file, wantEvent }, (batch) => threaded.push(...batch));
        const inThread: ReadRecord[] = [];
        for await (const batch of readRecords(openTraceSource(file, Readable.from([])), { file, wantEvent })) inThread.push(...batch);
        const kept = (records: ReadRecord[]): ReadRecord[] => records.filter((record) => record.type !== 'unused-events');
        const counts = (records: ReadRecord[]): Map<string, number> => {
          const out = new Map<string, number>();
          for (const record of records) if (record.type === 'unused-events') for (const [name, count] of record.countsByName) out.set(name, (out.get(name) ?? 0) + count);
          return out;
        };
        assert.deepEqual(kept(threaded), kept(inThread));
        assert.deepEqual(counts(threaded), counts(inThread));
      }),
      { numRuns: 25 },
    );
  }));
