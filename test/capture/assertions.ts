/** What every run of the capture script must leave behind on the fake host. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeHost } from './fakeHost.js';

/** Probe names created (`p:`, `r:`, `f:`) and removed (`-:`) through one file, in order of writing. */
export function probeLog(host: FakeHost, file: 'kprobe_events' | 'dynamic_events'): { created: string[]; removed: string[] } {
  const created: string[] = [];
  const removed: string[] = [];
  for (const line of host.read(`tracefs/${file}`).split('\n').filter((l) => l.length > 0)) {
    const match = /^([-a-z]):vmid\/(\w+)/.exec(line);
    assert.ok(match !== null, `${file}: unexpected line ${line}`);
    if (match[1] === '-') removed.push(match[2] ?? '');
    else created.push(match[2] ?? '');
  }
  return { created, removed };
}

/** Every probe created is removed again (and none that was not), and every setting is back. */
export function assertRestored(host: FakeHost): void {
  for (const file of ['kprobe_events', 'dynamic_events'] as const) {
    if (isDirectory(host, file)) continue;
    const live = new Set<string>();
    for (const line of host.read(`tracefs/${file}`).split('\n').filter((l) => l.length > 0)) {
      const match = /^([-a-z]):vmid\/(\w+)/.exec(line);
      assert.ok(match !== null, `${file}: unexpected line ${line}`);
      const name = match[2] ?? '';
      if (match[1] === '-') assert.ok(live.delete(name), `${file}: ${name} removed but not live`);
      else live.add(name);
    }
    assert.deepEqual([...live], [], `${file}: probes left behind`);
  }
  for (const name of readdirSync(join(host.tracefs, 'events/vmid'))) {
    assert.equal(host.read(`tracefs/events/vmid/${name}/enable`), '0\n', `events/vmid/${name}/enable left enabled`);
  }
  assert.equal(host.read('tracefs/events/iommu/attach_device_to_domain/enable'), '0\n');
  assert.equal(host.read('tracefs/events/iommu/io_page_fault/enable'), '1\n');
  assert.equal(host.read('tracefs/events/kvm/kvm_entry/enable'), '0\n');
  assert.equal(host.read('tracefs/tracing_on'), '1\n');
  assert.equal(host.read('tracefs/buffer_size_kb'), '1408\n', 'buffer_size_kb restored to the expanded size');
  assert.equal(host.read('tracefs/trace_clock'), 'local\n');
  assert.deepEqual(host.workDirs(), [], 'the work directory is removed');
}

/** A refused run changes nothing at all. */
export function assertUntouched(host: FakeHost, writes: readonly string[], kprobeEvents = ''): void {
  assert.deepEqual(writes, [], 'no tracefs write');
  assert.equal(host.read('tracefs/kprobe_events'), kprobeEvents);
  assert.equal(host.read('tracefs/dynamic_events'), '');
  assert.equal(host.read('tracefs/tracing_on'), '1\n');
  assert.equal(host.read('tracefs/buffer_size_kb'), '7 (expanded: 1408)\n');
  assert.equal(host.read('tracefs/trace_clock'), '[local] global counter uptime perf mono mono_raw boot tai\n');
  assert.deepEqual(host.workDirs(), [], 'the work directory is removed');
}

function isDirectory(host: FakeHost, file: string): boolean {
  try {
    readdirSync(join(host.tracefs, file));
    return true;
  } catch {
    return false;
  }
}

/** The capture's header: its comment lines before the first event line. */
export function headerOf(text: string): string[] {
  const lines = text.split('\n');
  const end = lines.findIndex((line) => !line.startsWith('#'));
  return lines.slice(0, end === -1 ? lines.length : end);
}

/** The header up to the line that carries the start time, which ends it. */
export function stableHeader(text: string): string[] {
  const header = headerOf(text);
  const end = header.findIndex((line) => line.startsWith('# recorder '));
  assert.ok(end !== -1, `no "# recorder" line in\n${header.join('\n')}`);
  assert.match(header[end] ?? '', /^# recorder .*, started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  return header.slice(0, end);
}
