/**
 * Garbage is not "ok": an input in which the replay found nothing to replay ends in a
 * NO_EVENTS error (exit 3) that says what the input held instead and what would read it, for
 * `analyze` and `replay` alike. Configuration lines alone are not events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ExitCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';
import { pseudoRandomBytes } from '../helpers/randomBytes.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-nothing-'));
function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs `analyze` and asserts exit 3 with a NO_EVENTS message about `path`, nothing on stdout; returns the message. */
async function noEvents(path: string, extra: readonly string[] = []): Promise<string> {
  const result = await runCli(['analyze', path, ...extra]);
  assert.equal(result.code, ExitCode.noEvents, result.stdout + result.stderr);
  assert.equal(ExitCode.noEvents, 3);
  assert.equal(result.stdout, '', 'no report: a report would read as a verdict');
  assert.match(result.stderr, new RegExp(`^vmid-replay: ${escaped(path)}: no vmid-replay events[;:] .* \\[NO_EVENTS\\]\\n$`));
  return result.stderr;
}

test('an empty file is no clean host: exit 3, "the input is empty"', async () => {
  const message = await noEvents(file('empty.trace', ''));
  assert.match(message, /no vmid-replay events: the input is empty \[NO_EVENTS\]/);
});

test('random bytes and their gzip: exit 3, counted as lines that are not trace lines, most of them binary data', async () => {
  const bytes = pseudoRandomBytes(100_000, 0x9e3779b9);
  const lines = bytes.reduce((n, byte) => n + (byte === 0x0a ? 1 : 0), 0) + 1;
  for (const path of [file('random.bin', bytes), file('random.bin.gz', gzipSync(bytes))]) {
    const message = await noEvents(path);
    // Every line is malformed or, starting with "#", a header line: together all of them.
    const found = /found (\d+) lines that are not trace lines, (\d+) of them binary data \(first at line \d+: expected [^)]+\)(?:, (\d+) other header lines?)?/.exec(message);
    assert.ok(found !== null, message);
    const [malformed, binary, headers] = [Number(found[1]), Number(found[2]), Number(found[3] ?? 0)];
    assert.equal(malformed + headers, lines);
    assert.ok(binary > malformed / 2, message);
    assert.match(message, /binary data is not a trace: a file compressed other than with gzip, or trace-cmd's trace\.dat/);
  }
});

test('a CSV without the header row the default layout needs: exit 3, naming --csv-map and --input-format', async () => {
  const message = await noEvents(file('abc.csv', 'a,b,c\n1,2,3\n'));
  assert.match(message, /found 2 lines that are not trace lines \(first at line 1: expected a header row naming at least the columns timestamp, cpu, event/);
  assert.match(message, /--input-format names its format and --csv-map reads a CSV of other columns/);
});

test('ftrace text forced to CSV: exit 3, the forced format named as the cause; the header alone is no event', async () => {
  const message = await noEvents('traces/mixed-hazards.trace', ['--input-format', 'csv']);
  // Its 198 event lines are rows without a CSV header; its two "# vmid-replay:" lines are configuration.
  assert.match(message, /found 198 lines that are not trace lines .*, 2 configuration lines, 1 other header line: it was read as csv because of --input-format csv: without it the format is chosen by content/);
});

test('configuration alone: a header and a trace marker are not events to replay', async () => {
  const text = new TraceWriter()
    .header('vmid_bits=8 cpus=2 variant=mainline')
    .event('tracing_mark_write', 'vmid-replay: smmu=smmu0 vmid_bits=16 btm=on', { cpu: 0 })
    .toString();
  const message = await noEvents(file('config-only.trace', text));
  assert.match(message, /found 2 configuration lines: the configuration says what the host is, but no event says what it did/);
});

test('a trace of events the tool does not use: exit 3, counted by name, pointing at what to record', async () => {
  const writer = new TraceWriter().header('vmid_bits=8 cpus=2');
  for (let i = 0; i < 5; i++) writer.event('sched_switch', 'prev_comm=a prev_pid=1 ==> next_comm=b next_pid=2', { cpu: 0 }).event('kvm_entry', 'PC: 0x40000000', { cpu: 1 });
  writer.event('kvm_exit', 'TRAP', { cpu: 1 });
  const message = await noEvents(file('unused.trace', writer.toString()));
  assert.match(message, /found 11 lines of events the tool does not use \(kvm_entry 5, sched_switch 5, kvm_exit 1\), 1 configuration line: none of its events is one the tool replays: docs\/trace-format\.md, "Capturing a trace", says what to record/);
});

/** The bundled 6.1 capture without the four probes the tool recognises by their functions alone. */
function captureWithoutRecognisedProbes(): string {
  const text = gunzipSync(readFileSync('traces/capture-a57-8bit-portable-tgid.trace.gz')).toString('utf8');
  const kept = text.split('\n').filter((line) => !/: (update|clear_active|s2_init|free_s2): \(/.test(line));
  assert.ok(kept.some((line) => line.includes(': after_update: (kvm_pmu_flush_hwstate+0x0/0x24)')));
  return kept.join('\n');
}

test('a 6.1 capture whose probes all need the map: exit 3, "--map captures-6.1 reads these probes"', async () => {
  const path = file('capture-probes.trace', captureWithoutRecognisedProbes());
  const message = await noEvents(path, ['--vmid-bits', '8', '--cpus', '4']);
  assert.match(message, /found \d+ lines of unrecognised probes \(after_update \d+, vcpu_load \d+, vcpu_put \d+ and 2 other names\)/);
  assert.match(message, /: --map captures-6\.1 reads these probes, those of the real 6\.1 captures \(Debian 6\.1\.0-56-arm64\); it ships as traces\/captures-6\.1\.map\.json \[NO_EVENTS\]/);
  // With that map the same lines are understood: after_update is an update's return.
  const mapped = await runCli(['analyze', path, '--vmid-bits', '8', '--cpus', '4', '--map', 'captures-6.1', '--format', 'json']);
  assert.notEqual(mapped.code, ExitCode.noEvents, mapped.stderr);
  const counts = (JSON.parse(mapped.stdout) as { counts: { unrecognisedProbes: number; allEventsAccounted: boolean; eventsByKind: Record<string, number> } }).counts;
  assert.deepEqual([counts.unrecognisedProbes, counts.allEventsAccounted], [0, true]);
  assert.ok((counts.eventsByKind['vmid-update'] ?? 0) > 1000, JSON.stringify(counts.eventsByKind));
});

test('unknown probes of no known set: exit 3, asking whether the capture needs --map', async () => {
  const writer = new TraceWriter().header('vmid_bits=8 cpus=2');
  for (let i = 0; i < 4; i++) writer.event('my_probe', '(kvm_arch_vcpu_run_pid_change+0x0/0x2a0) vcpu=0xffff000008380000', { cpu: 0 });
  const message = await noEvents(file('unknown-probes.trace', writer.toString()));
  assert.match(message, /found 4 lines of unrecognised probes \(my_probe 4\), 1 configuration line: is this a capture that needs --map\? A probe map says what its probes mean/);
});

test('`replay` of an input with nothing to replay fails the same way; one event is enough for both commands', async () => {
  const empty = file('empty-for-replay.trace', '# vmid-replay: vmid_bits=8 cpus=2\n');
  const replay = await runCli(['replay', empty]);
  assert.equal(replay.code, ExitCode.noEvents);
  assert.match(replay.stderr, /no vmid-replay events; found 1 configuration line/);
  const one = file('one-event.trace', new TraceWriter().header('vmid_bits=8 cpus=2').vmCreate(vmPointer(1)).toString());
  assert.equal((await runCli(['replay', one])).code, ExitCode.ok);
  const analyzed = await runCli(['analyze', one]);
  assert.equal(analyzed.code, ExitCode.ok, analyzed.stderr);
  assert.match(analyzed.stdout, /^verdict: ok$/m);
});
