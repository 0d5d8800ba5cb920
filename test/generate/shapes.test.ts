/**
 * Line shapes: the same events printed as each kernel prints them. Every ftrace shape must
 * parse with no malformed line and give the same findings at the same lines; trace-cmd report
 * output, default and `-l`, must look like trace-cmd's and give the same findings at the lines
 * its own sidecar names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, expected, generate, reported } from './helpers.js';

const workload = ['--seed', '31', '--vmid-bits', '5', '--inject', 'all', '--vms', '16'];

/** Each shape, and a line it must contain (so a shape option that is ignored fails the test). */
const shapes: readonly { readonly args: readonly string[]; readonly looks: RegExp }[] = [
  { args: [], looks: /^ {0,16}CPU \d\/KVM-\d+ {1,7}\[\d{3}\] d\.\.\.\. +\d+\.\d{6}: vmid_update: / },
  { args: ['--flags', '4'], looks: /^ {0,16}CPU \d\/KVM-\d+ {1,7}\[\d{3}\] d\.\.\. +\d+\.\d{6}: vmid_update: / },
  { args: ['--flags', 'none'], looks: /^ {0,16}CPU \d\/KVM-\d+ {1,7}\[\d{3}\] +\d+\.\d{6}: vmid_update: / },
  { args: ['--tgid'], looks: /^ {0,16}CPU \d\/KVM-\d{4} {4}\( {3}\d{4}\) \[\d{3}\] d\.\.\.\. / },
  { args: ['--pid-width', '5', '--tgid', '--flags', '4'], looks: /^ {0,16}CPU \d\/KVM-\d{4} {2}\( \d{4}\) \[\d{3}\] d\.\.\. / },
  { args: ['--pid-width', '5', '--flags', 'none'], looks: /^ {0,16}CPU \d\/KVM-\d{4} {2}\[\d{3}\] +\d+\.\d{6}: / },
];

const findingsOf = async (trace: string) => {
  const { report } = await analyze(trace);
  assert.equal(report.counts.malformedEvents, 0);
  assert.equal((report.counts.records['malformed'] ?? 0) + (report.counts.records['continuation'] ?? 0), 0, 'no malformed line');
  assert.deepEqual(report.diagnostics.map((diagnostic) => diagnostic.code), []);
  return report.findings.map((finding) => `${finding.checkId}@${finding.line}/${finding.severity}/${finding.inconclusive}`);
};

test('every ftrace line shape parses cleanly and gives the same findings at the same lines', async () => {
  const reference = await generate(workload);
  const referenceFindings = await findingsOf(reference.trace);
  assert.ok(referenceFindings.length >= 10);
  for (const shape of shapes) {
    const { trace, sidecar } = await generate([...workload, ...shape.args]);
    assert.ok(trace.split('\n').some((line) => shape.looks.test(line)), `${shape.args.join(' ')}: no line looks like ${shape.looks}`);
    assert.equal(trace.split('\n').length, reference.trace.split('\n').length, 'one line per event whatever the shape');
    assert.deepEqual(await findingsOf(trace), referenceFindings, shape.args.join(' '));
    assert.deepEqual(sidecar.hazards, reference.sidecar.hazards);
  }
});

test('trace-cmd report style: cpus=N first, markers, raw kprobe addresses, its own lost-event marker; analyze reads it alike', async () => {
  const ftrace = await generate([...workload, '--lost-bursts', '1']);
  const ftraceReport = (await analyze(ftrace.trace)).report;
  const events = (trace: string) => trace.split('\n').filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('cpus=') && !line.includes(': print: '));
  for (const [flags, looks] of [
    ['none', /^ {0,16}CPU \d\/KVM-\d+ +\[\d{3}\] +\d+\.\d{6}: vmid_update: {10}\(ffff[0-9a-f]{12}\) kvm_vmid=0x/],
    ['5', /^CPU \d\/KV-\d+ +\d+d\.\.\.\. +\d+\.\d{6}: vmid_update: {10}\(ffff[0-9a-f]{12}\) kvm_vmid=0x/],
  ] as const) {
    const { trace, sidecar } = await generate([...workload, '--lost-bursts', '1', '--style', 'trace-cmd', '--flags', flags]);
    const lines = trace.split('\n');
    assert.equal(lines[0], 'cpus=4');
    assert.match(lines[1] ?? '', /print: {16}tracing_mark_write: vmid-replay: vmid_bits=5 cpus=4 variant=rfc-v2 trace_clock=global$/);
    assert.equal(events(trace).length, events(ftrace.trace).length, 'one line per event, as in the ftrace shape');
    assert.ok(lines.some((line) => looks.test(line)), `--flags ${flags}: no line looks like ${looks}`);
    assert.ok(lines.some((line) => /vmid_update_ret: +\(ffff[0-9a-f]{12} <- ffff[0-9a-f]{12}\) kvm_vmid=0x/.test(line)));
    assert.ok(lines.some((line) => /^CPU:\d \[\d+ EVENTS DROPPED\]$/.test(line)));
    assert.ok(!lines.some((line) => line.startsWith('#') || line.includes('kvm_arm_vmid_update+0x')), 'no comment, no symbolic kprobe location');
    const { report } = await analyze(trace);
    assert.equal(report.counts.malformedEvents, 0);
    assert.equal(report.counts.records['malformed'] ?? 0, 0);
    assert.deepEqual(reported(report), expected(sidecar));
    assert.ok(reported(report).length > 0);
    assert.equal(report.verdict, ftraceReport.verdict);
    // The same findings as the ftrace shape, each as many lines earlier as the header is shorter.
    const shift = ftrace.sidecar.hazards[0]!.firstLine - sidecar.hazards[0]!.firstLine;
    const moved = (findings: typeof report.findings, by: number) => findings.map((finding) => `${finding.checkId}@${finding.line + by}/${finding.inconclusive}`);
    assert.deepEqual(moved(report.findings, shift), moved(ftraceReport.findings, 0));
  }
});
