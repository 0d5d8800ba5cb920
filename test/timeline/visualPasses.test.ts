/**
 * A file of per-CPU runs is replayed twice and the first pass thrown away: only the standing
 * pass's Perfetto events may reach the output, and its timeline is the report's. A first pass
 * that may be thrown away holds its events back (what is written cannot be taken back), and
 * gives them up past a size, asking for a pass of their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VisualPasses } from '../../src/timeline/visualPasses.js';
import type { ReplayStep } from '../../src/steps/step.js';
import type { VmState } from '../../src/steps/state.js';

const vm: VmState = { key: 'vm:0x1#1', pointer: '0x1', lifetime: 1, label: 'VM 0x1', kvmVmid: { id: 0, pinned: 0 }, destroyed: false };

function load(cpu: number, tsUs: number): ReplayStep {
  const event = { kind: 'vmid-update', span: { file: 't', line: tsUs, offset: 0 }, source: { text: '' }, cpu, tsUs, tsNs: 0 };
  return { kind: 'load', event, vm, cpu, idBefore: 0, outcome: { activeId: 257, vmid: 1, gen: 1, flushes: 0, slow: true, idAfter: 257 }, previouslyRunning: undefined } as unknown as ReplayStep;
}

/** `loads` loads on `cpu`, a microsecond apart: each ends the slice before it, an event each. */
function replay(observers: readonly ((step: ReplayStep) => void)[], cpu: number, loads = 1): void {
  for (const observe of observers) {
    for (let i = 0; i < loads; i++) observe(load(cpu, 100 + i));
    observe({ kind: 'trace-end', at: undefined });
  }
}

test('the thrown-away first pass writes nothing: the second pass streams, and its timeline is the one kept', () => {
  const chunks: string[] = [];
  const passes = new VisualPasses('t', { timeline: true, perfetto: { pid: 1, emit: (chunk) => chunks.push(chunk) } }, true);
  replay(passes.observers(), 3);
  assert.deepEqual(chunks, [], 'held back while it may be thrown away');
  replay(passes.observers(), 5);
  passes.finish(undefined);
  const text = chunks.join('\n');
  assert.match(text, /"name":"CPU 5"/);
  assert.doesNotMatch(text, /"name":"CPU 3"/);
  assert.deepEqual(passes.timeline()?.cpus.map((lane) => lane.label), ['CPU 5']);
  assert.equal(passes.needsPerfettoPass, false);
});

test('a first pass that stands hands on what it held back; past the limit it asks for a pass of its own', () => {
  const chunks: string[] = [];
  const standing = new VisualPasses('t', { timeline: false, perfetto: { pid: 1, emit: (chunk) => chunks.push(chunk) } }, true);
  replay(standing.observers(), 2);
  standing.finish(undefined);
  assert.match(chunks.join('\n'), /"name":"CPU 2"/);
  const overflowing: string[] = [];
  const small = new VisualPasses('t', { timeline: false, perfetto: { pid: 1, emit: (chunk) => overflowing.push(chunk) } }, true, 10);
  // Events are handed on 512 at a time: 600 loads hand on a chunk of more than 10 characters.
  replay(small.observers(), 2, 600);
  assert.equal(small.needsPerfettoPass, true);
  small.finish(undefined);
  assert.deepEqual(overflowing, [], 'nothing from the pass that gave up');
});

test('a pass that cannot be thrown away streams as it goes', () => {
  const chunks: string[] = [];
  const passes = new VisualPasses('t', { timeline: false, perfetto: { pid: 1, emit: (chunk) => chunks.push(chunk) } }, false);
  replay(passes.observers(), 2, 600);
  assert.equal(chunks.length, 1, 'a chunk of 512 events before the end');
  passes.finish(undefined);
  // 6 naming events, 2 for the CPU track, 1 for the VM, 1 live-VM count, 1 generation, 1 ownership slice begun and ended, 600 VM slices.
  assert.equal(chunks.join(',\n').split('\n').length, 6 + 2 + 1 + 1 + 1 + 2 + 600);
});
