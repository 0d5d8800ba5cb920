/**
 * The HTML report: one self-contained page (nothing to load, a policy that forbids loading),
 * the same bytes for the same trace, every string from the trace escaped, each finding with
 * its parties and scenario, the what-if tables when `compare` computed them. The browser test
 * (test/browser/) opens it for real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../helpers/cli.js';
import { hostileFile, hostileTask, writeHostileTrace } from '../helpers/hostileTrace.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';
import { analyzeTrace } from '../../src/cli/analyzeTrace.js';
import { renderHtml } from '../../src/report/html/page.js';
import { escapeHtml, jsonForScript } from '../../src/report/html/escape.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-html-'));

test('strings from the trace are escaped: task names and file names show as text, never as markup', async () => {
  const path = writeHostileTrace(dir);
  const result = await runCli(['analyze', path, '--format', 'html']);
  assert.equal(result.code, 1, result.stderr);
  const html = result.stdout;
  assert.match(html, /pin-exhausted/, 'the finding whose witness quotes the task');
  assert.ok(html.includes(escapeHtml(hostileTask)), 'the task name, escaped');
  assert.ok(html.includes(escapeHtml(hostileFile)), 'the file name, escaped');
  assert.ok(!html.includes(hostileTask) && !html.includes('hostile<b>'), 'never raw');
  // Only the page's own two script elements: the timeline's data and the viewer.
  assert.equal(html.match(/<script\b/g)?.length, 2);
  const data = /<script type="application\/json" id="timeline-data">([^]*?)<\/script>/.exec(html)?.[1] ?? '';
  assert.ok(data.length > 0 && !/[<>&]/.test(data), 'the data holds no character that could end its element');
});

test('the page loads nothing: no external reference, and a policy that forbids loading', async () => {
  const result = await runCli(['analyze', 'traces/mixed-hazards.trace', '--format', 'html']);
  const html = result.stdout;
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
  assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*"(?!#)/i, 'no src or href but in-page anchors');
  assert.doesNotMatch(html, /url\((?!#)|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i, 'no URL but in-page fragments and the SVG namespace');
});

test('the same trace gives the same page, byte for byte', async () => {
  const first = await runCli(['analyze', 'traces/generated-faults.trace', '--format', 'html']);
  const second = await runCli(['analyze', 'traces/generated-faults.trace', '--format', 'html']);
  assert.ok(first.stdout.length > 1000);
  assert.equal(first.stdout, second.stdout);
});

test('a finding opens to its parties, witnesses, scenario as a CPU/SMMU table, argument and what was needed', async () => {
  const report = await analyzeTrace('traces/mixed-hazards.trace', Readable.from([]), {});
  const html = renderHtml(report, undefined);
  // traces/mixed-hazards.trace shares VM 0xffff00001000c000's VMID 12 with smmu0's SID 768 at
  // line 120 without pinning it; at line 169 (CPU 1) a rollover gives the VM VMID 15, so the STE
  // carries a VMID the VM no longer owns: what was needed is a pin before line 120.
  const index = report.findings.findIndex((finding) => finding.checkId === 'vmid-changed-under-bound-ste') + 1;
  assert.ok(index > 0);
  const block = new RegExp(`<details class="finding[^"]*" id="finding-${index}">([^]*?)</details>`).exec(html)?.[1] ?? '';
  assert.match(block, /<table class="parties">.*<td>VM 0xffff00001000c000<\/td><td>VMID 12, then 15; not pinned<\/td>/);
  assert.match(block, /<td>SMMU smmu0 SID 768<\/td><td>S2VMID 12<\/td>/);
  assert.match(block, /<table class="scenario"><thead><tr><th>line<\/th><th>CPU 1<\/th><th>SMMU smmu0<\/th><\/tr><\/thead>/);
  assert.match(block, /<tr><td class="num">120<\/td><td><\/td><td class="step-event">STE SID 768: S2VMID 12/);
  assert.match(block, /<tr><td class="num">169<\/td><td class="step-event">new_vmid\(\) gives the VM VMID 15/);
  assert.match(block, /<td class="step-consequence">=&gt; guest TLBIs by VMID 15 miss/);
  assert.match(block, /<ol class="explanation"><li>Let SID 768/);
  assert.match(block, /<p class="needed">needed: pin the VMID \(kvm_arm_pinned_vmid_get\(\)\) before sharing it with the SMMU at line 120<\/p>/);
});

test('compare --format html: the trace\'s page with a what-if table per host, a column per policy', async () => {
  // test/whatif/golden.test.ts's three VMs: 3-bit VMIDs, 4 CPUs, so the RFC's
  // max_pinned_vmids = 2^3 - 4 - 2 = 2; each VM gets a device at creation (lines 2-4). A and B
  // pin, C's pin (line 4) fails: rfc-v2 runs C's device on S2VMID 0, pin-or-fail refuses the
  // attach instead.
  const [a, b, c] = [vmPointer(1), vmPointer(2), vmPointer(3)];
  const trace = new TraceWriter().header('vmid_bits=3 cpus=4 variant=mainline').vmCreate(a).vmCreate(b).vmCreate(c);
  for (const vm of [a, b, c]) trace.load(vm, 0).put(0);
  const path = join(dir, 'three-vms.trace');
  writeFileSync(path, trace.vmDestroy(a).vmDestroy(b).vmDestroy(c).toString());
  const result = await runCli(['compare', path, '--assign', 'all', '--policy', 'rfc-v2,pin-or-fail', '--format', 'html']);
  assert.equal(result.code, 0, result.stderr);
  const html = result.stdout;
  const section = /<section id="what-if">([^]*?)<\/section>/.exec(html)?.[1] ?? '';
  assert.match(section, /<caption>3-bit VMIDs, 4 CPUs<\/caption><thead><tr><th><\/th><th>rfc-v2<\/th><th>pin-or-fail<\/th><\/tr><\/thead>/);
  const row = (label: string) => [...(new RegExp(`<tr><th>${label}</th>((?:<td class="num">[^<]*</td>)+)</tr>`).exec(section)?.[1] ?? '').matchAll(/<td class="num">([^<]*)<\/td>/g)].map((cell) => cell[1]);
  assert.deepEqual(row('max_pinned_vmids'), ['2', '2']);
  assert.deepEqual(row('pins failed'), ['1 (line 4)', '1 (line 4)']);
  assert.deepEqual(row('attaches refused'), ['0', '1']);
  assert.deepEqual(row('devices on VMID 0'), ['1', '0']);
  // The rest of the page is analyze's: the trace itself, under mainline, ran the three VMs on CPU 0.
  assert.match(html, /<svg id="timeline"/);
  assert.match(html, /"CPU 0","cpu"/);
  assert.doesNotMatch((await runCli(['analyze', path, '--format', 'html'])).stdout, /id="what-if"/, 'analyze computes no comparison');
});

test('a report without a timeline (none was collected) still renders its findings, without the viewer', async () => {
  const report = await analyzeTrace('traces/mixed-hazards.trace', Readable.from([]), {});
  const html = renderHtml(report, undefined);
  assert.doesNotMatch(html, /<script/);
  assert.match(html, /id="finding-1"/);
});

test('JSON in a script element escapes what could close it', () => {
  assert.equal(jsonForScript({ a: '</script><!--&\u2028' }), '{"a":"\\u003c/script\\u003e\\u003c!--\\u0026\\u2028"}');
  assert.deepEqual(JSON.parse(jsonForScript({ a: '</script>&' })), { a: '</script>&' });
});

test('--format html takes one trace; --out writes a page per trace, and one saying why for a trace that failed', async () => {
  const several = await runCli(['analyze', 'traces/mixed-hazards.trace', 'traces/vhe-rollover-inside-update.trace', '--format', 'html']);
  assert.equal(several.code, 64);
  assert.match(several.stderr, /--format html writes one trace's report, found 2 traces: give one, or --out DIR for one per trace/);
  const out = join(dir, 'out');
  const result = await runCli(['analyze', 'traces/vhe-rollover-inside-update.trace', join(dir, 'missing.trace'), '--out', out, '--jobs', '1']);
  assert.equal(result.code, 66, result.stderr);
  assert.match(result.files.get(join(out, 'vhe-rollover-inside-update.trace.html')) ?? '', /<svg id="timeline"/);
  assert.match(result.files.get(join(out, 'missing.trace.html')) ?? '', /<p>error: .*\[INPUT_NOT_FOUND\]<\/p>/);
  const json = result.files.get(join(out, 'vhe-rollover-inside-update.trace.json')) ?? '';
  assert.ok(json.length > 0 && !json.includes('"timeline"'), 'the JSON report leaves the timeline out');
});
