/**
 * Sparse traces for the reading-thread tests: the bundled mixed-hazards trace with noise
 * lines (kvm_entry/kvm_exit, which the replay only counts) after each event line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadOptions } from '../../src/ingest/importer.js';
import { analyzeTrace } from '../../src/cli/analyzeTrace.js';
import { Replay, type ReplayOptions } from '../../src/replay/replay.js';

const mixed = readFileSync(join(process.cwd(), 'traces', 'mixed-hazards.trace'), 'utf8').split('\n').filter((line) => line.length > 0);
const header = mixed.filter((line) => line.startsWith('#'));
const events = mixed.filter((line) => !line.startsWith('#'));

/** The bundled trace with `noise` kvm_entry/kvm_exit lines after each event line: a sparse trace. */
export function sparse(noise: number, extra: (index: number) => string[] = () => []): string {
  const out = [...header];
  events.forEach((line, index) => {
    out.push(line, ...extra(index));
    const stamp = /\s(\d+\.\d+):/.exec(line)?.[1] ?? '1.000000';
    for (let i = 0; i < noise; i++) out.push(`        CPU 1/KVM-4001 [001] d..1.     ${stamp}: ${i % 2 === 0 ? 'kvm_entry: PC: 0x40000018' : 'kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW)'}`);
  });
  return `${out.join('\n')}\n`;
}

export function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-skim-'));
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Where `analyzeTrace` may read a file of any size on a reading thread. */
export const withReadingThread = { readingThread: true, minBytes: 0 };

/**
 * Asserts that `planned` (a reading thread's plan) takes `file`, and that the report read with
 * the thread is the in-thread one, which has findings to compare.
 */
export async function assertSameReportWithThread(file: string, planned: (file: string, options: ReadOptions, minBytes: number) => unknown, options: ReplayOptions = {}): Promise<void> {
  assert.ok(planned(file, { file, wantEvent: new Replay(options).wantEvent }, 0), `${file} is read with a reading thread`);
  const inThread = await analyzeTrace(file, Readable.from([]), options);
  assert.deepEqual(await analyzeTrace(file, Readable.from([]), options, undefined, withReadingThread), inThread);
  assert.ok(inThread.findings.length > 0, 'the trace has findings to compare');
}
