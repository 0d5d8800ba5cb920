/**
 * Reading a trace file: a regular file by position with reads ahead, anything else (a FIFO) as
 * a stream. Either way every byte arrives once, in order, and failures are the tool's errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { VmidReplayError } from '../../src/errors.js';
import { msgpackMagic } from '../../src/ingest/msgpack/msgpackFormat.js';
import { openTraceSource, readRecords, type ReadOptions } from '../../src/ingest/readTrace.js';

const mib = 1 << 20;

async function readAll(file: string): Promise<{ bytes: Buffer; chunks: number }> {
  const parts: Buffer[] = [];
  for await (const chunk of openTraceSource(file, Readable.from([]))) parts.push(Buffer.from(chunk));
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

/** Bytes that show any reordering or repetition: each 4-byte word is its own offset. */
function numbered(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let at = 0; at + 4 <= size; at += 4) bytes.writeUInt32LE(at, at);
  return bytes;
}

test('a regular file of any size around the read size arrives whole and in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-read-'));
  try {
    for (const size of [0, 1, mib - 1, mib, mib + 1, 2 * mib, 3 * mib + 5]) {
      const file = join(dir, `t${size}`);
      const expected = numbered(size);
      writeFileSync(file, expected);
      const { bytes, chunks } = await readAll(file);
      assert.ok(bytes.equals(expected), `${size} bytes`);
      assert.equal(chunks, Math.ceil(size / mib), `${size} bytes in 1 MiB reads`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a FIFO (as from a shell process substitution) is streamed, not read by position', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-fifo-'));
  try {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const expected = numbered(2 * mib + 3);
    const writer = createWriteStream(fifo);
    writer.end(expected);
    const { bytes } = await readAll(fifo);
    assert.ok(bytes.equals(expected));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing file and a directory are the tool errors, with the file named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-err-'));
  try {
    mkdirSync(join(dir, 'sub'));
    await assert.rejects(readAll(join(dir, 'nope')), (error: unknown) => error instanceof VmidReplayError && error.code === 'INPUT_NOT_FOUND' && error.message.includes('nope'));
    await assert.rejects(readAll(join(dir, 'sub')), (error: unknown) => error instanceof VmidReplayError && error.code === 'INPUT_UNREADABLE' && /directory/.test(error.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stopping early closes the file, and the reads ahead of it end quietly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-stop-'));
  const openFiles = (): number => readdirSync('/proc/self/fd').length;
  try {
    const file = join(dir, 't');
    writeFileSync(file, numbered(5 * mib));
    const before = openFiles();
    for await (const chunk of openTraceSource(file, Readable.from([]))) {
      assert.equal(chunk.length, mib);
      assert.equal(openFiles(), before + 1);
      break;
    }
    assert.equal(openFiles(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a read that fails part-way closes its file: a corrupt MessagePack file, a truncated gzip, a refused format', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-read-'));
  const openFiles = (): string[] => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  });
  try {
    // Several reads' worth, so each fails with reads still to come.
    const text = `${'   x-1 [000] d..1.     1.000001: vmid_update: (kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff000010001000\n'.repeat(60_000)}`;
    const msgpack = join(dir, 'corrupt.msgpack');
    writeFileSync(msgpack, Buffer.concat([msgpackMagic, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0]), Buffer.alloc(3 * mib)]));
    const gz = join(dir, 'cut.trace.gz');
    const zipped = gzipSync(text);
    writeFileSync(gz, zipped.subarray(0, zipped.length - 10));
    const plain = join(dir, 'plain.trace');
    writeFileSync(plain, text);
    const cases: [string, ReadOptions][] = [
      [msgpack, { file: msgpack }],
      [gz, { file: gz }],
      [plain, { file: plain, format: 'msgpack' }],
    ];
    for (const [file, options] of cases) {
      await assert.rejects(async () => {
        for await (const batch of readRecords(openTraceSource(file, Readable.from([])), options)) assert.ok(batch.length >= 0);
      }, VmidReplayError);
      assert.deepEqual(openFiles(), [], `${file} is closed after its error`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
