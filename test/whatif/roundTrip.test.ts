/**
 * The counterfactual is an ordinary replay (issue 15, section 5): the calls a policy's
 * allocator makes, written out as a trace of our own probes, replay through `analyze` as any
 * capture does, and the model reproduces every answer (no model-divergence), so the
 * kernel-oracle corpus that guards `analyze` guards the what-if too. The findings of that
 * trace are the policy's own would-have findings about the allocator.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Decision } from '../../src/cli/decisionLines.js';
import { runCli } from '../helpers/cli.js';
import { TraceWriter } from '../helpers/traceWriter.js';
import { analyze } from '../checks/harness.js';
import { generated } from './helpers.js';

async function policyCalls(text: string, policy: string, assign: string): Promise<{ calls: Decision[]; summary: Record<string, number> }> {
  const result = await runCli(['replay', '-', '--policy', policy, '--assign', assign], text);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Decision | { summary: Record<string, number> });
  const last = lines.pop() as { summary: Record<string, number> };
  return { calls: lines as Decision[], summary: last.summary };
}

/**
 * The calls as a trace: each load an update entry with the id the VM had and a return with
 * the id it got; each pin its return value. `callAt` maps the last line each call wrote to
 * that call.
 */
function asTrace(header: string, calls: readonly Decision[]): { text: string; callAt: Map<number, Decision> } {
  const writer = new TraceWriter().header(header);
  const ids = new Map<string, number>();
  const callAt = new Map<number, Decision>();
  for (const call of calls) {
    switch (call.op) {
      case 'create':
        ids.set(call.vm, 0);
        writer.vmCreate(call.vm);
        break;
      case 'destroy':
        writer.vmDestroy(call.vm);
        break;
      case 'load':
        writer.load(call.vm, call.cpu, ids.get(call.vm), Number(call.vm_id_after));
        ids.set(call.vm, Number(call.vm_id_after));
        break;
      case 'put':
        writer.put(call.cpu);
        break;
      case 'pin':
        writer.pin(call.vm, call.ret);
        ids.set(call.vm, Number(call.vm_id_after));
        break;
      case 'unpin':
        writer.unpin(call.vm);
        break;
    }
    callAt.set(writer.lineCount(), call);
  }
  return { text: writer.toString(), callAt };
}

/**
 * 3-bit VMIDs on 2 CPUs (max_pinned_vmids = 8 - 2 - 2 = 4) and 16 VMs, up to 6 at once, each
 * given a device at creation: more VMs hold a device than there are pinnable VMIDs, so RFC v2
 * refuses pins, and with 7 indexes the allocator rolls over.
 */
const workload = ['--vmid-bits', '3', '--cpus', '2', '--vms', '16', '--concurrent', '6', '--variant', 'mainline'];

/**
 * The allocator each policy drives: RFC v2's pin returns 0 when the pool is full; pin-or-fail
 * and pin-at-create fail the caller, as the later posting's -EINVAL (the model's rfc-v3).
 */
const variants = [
  ['rfc-v2', 'rfc-v2'],
  ['pin-or-fail', 'rfc-v3'],
  ['pin-at-create', 'rfc-v3'],
  ['mainline', 'rfc-v2'],
] as const;

for (const [policy, variant] of variants) {
  test(`${policy}'s calls, written as an ${variant} trace, replay with no divergence and its refused pins as pin-exhausted`, async () => {
    let refused = 0;
    let rollovers = 0;
    for (const seed of [1, 2]) {
      const { calls, summary } = await policyCalls(await generated([...workload, '--seed', String(seed)]), policy, 'all');
      const { text, callAt } = asTrace(`vmid_bits=3 cpus=2 variant=${variant}`, calls);
      const analysis = await analyze(text);
      const findings = analysis.report.findings;
      assert.deepEqual(
        findings.filter((finding) => finding.checkId === 'model-divergence').map((finding) => `${finding.line}: ${finding.message}`),
        [],
        'the model reproduces every answer the policy run gave',
      );
      // Every pin the policy's allocator refused (0 or -EINVAL: nr_pinned_vmids at the maximum)
      // is a pin-exhausted finding at that pin's return line, and no other pin is.
      const refusedPins = [...callAt].filter(([, call]) => call.op === 'pin' && call.ret <= 0).map(([line]) => line);
      assert.deepEqual(
        findings.filter((finding) => finding.checkId === 'pin-exhausted').map((finding) => finding.line),
        refusedPins,
      );
      refused += refusedPins.length;
      rollovers += summary['flushes'] ?? 0;
    }
    assert.ok(rollovers > 0, 'a rollover was replayed');
    // mainline never pins; the pinning policies overflow the pool of 4 with 6 VMs at once.
    if (policy === 'mainline') assert.equal(refused, 0);
    else assert.ok(refused > 0, 'a refused pin was replayed');
  });
}
