/**
 * A look at a few places of a plain file before it is read: per-CPU files pasted together show
 * there as timestamps going back, each file covering the whole trace's time. Seen so, the
 * first pass only looks for the runs instead of replaying the first of them, which is the
 * costly part (one CPU's events without the others diverge from the model at every call).
 * Otherwise runs are still found while reading; this only saves time.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Importer, ReadOptions } from '../importer.js';
import type { EventRecord } from '../records.js';

/** Places looked at, evenly spread: far more than the CPUs of most captures. */
const samples = 32;
/** Bytes read at each place: a few lines. */
const sampleBytes = 1 << 14;

/** Whether the first event at some of `samples` places of `file` is older than one before it by more than `windowUs`. */
export async function samplesGoBack(file: string, importer: Importer, options: ReadOptions, windowUs: number): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch {
    // Here and below: reading the file will say what is wrong with it, with the tool's own error.
    return false;
  }
  try {
    const size = (await handle.stat()).size;
    const buffer = Buffer.alloc(sampleBytes);
    let newest = -Infinity;
    for (let i = 0; i < samples; i++) {
      const at = Math.floor((size * i) / samples);
      const { bytesRead } = await handle.read(buffer, 0, sampleBytes, at);
      const read = buffer.subarray(0, bytesRead);
      // Whole lines only: after the first newline (unless at the start), up to the last.
      const start = at === 0 ? 0 : read.indexOf(0x0a) + 1;
      const end = read.lastIndexOf(0x0a) + 1;
      if ((start === 0 && at !== 0) || end <= start) continue;
      // Line numbers are unknown there, and not needed: only the timestamps are looked at.
      const event = await firstEvent(importer, read.subarray(start, end), { ...options, wasmSkim: false, from: { line: 1, offset: at + start } });
      if (event === undefined) continue;
      if (event.tsUs + windowUs < newest) return true;
      if (event.tsUs > newest) newest = event.tsUs;
    }
    return false;
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

async function firstEvent(importer: Importer, bytes: Buffer, options: ReadOptions): Promise<EventRecord | undefined> {
  const wantEvent = options.wantEvent;
  for await (const batch of importer.records(Readable.from([bytes]), options)) {
    for (const record of batch) {
      if (record.type === 'event' && (wantEvent === undefined || wantEvent(record.name, record.body.charCodeAt(0) === 0x28 /* ( */))) return record;
    }
  }
  return undefined;
}
