/**
 * `replay --policy P --assign trace` is an ordinary replay of the calls the policy makes (issue
 * 15, section 5). On a trace generated under P's own allocator, with the attaches the trace
 * records, those calls are the trace's own: every allocator decision must come out the same,
 * call by call, as `replay` of the trace itself prints it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decision } from '../../src/cli/decisionLines.js';
import { runCli } from '../helpers/cli.js';
import { generated } from './helpers.js';

interface Replayed {
  readonly decisions: readonly Decision[];
  readonly summary: Record<string, number>;
}

async function replay(text: string, args: readonly string[]): Promise<Replayed> {
  const result = await runCli(['replay', '-', ...args], text);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Decision | { summary: Record<string, number> });
  const last = lines.pop() as { summary: Record<string, number> };
  return { decisions: lines as Decision[], summary: last.summary };
}

function withoutLine(decision: Decision): Record<string, unknown> {
  return { ...decision, line: undefined };
}

/**
 * The generator's host pins, then writes the STE (`kvm_arm_pinned_vmid_get()` returns before
 * `arm_smmu_write_ste()`); detaching, it aborts the STE, invalidates, then unpins
 * (src/generate/workload.ts). The workload charges an attach to the STE that binds the VM
 * and a detach to the STE that stops using it, so the policy's pin is charged to the STE line
 * after the trace's pin, and its unpin to the abort before the trace's unpin.
 */
function assertSameCalls(text: string, own: Replayed, policy: Replayed): { pins: number; unpins: number; flushes: number } {
  const lines = ['', ...text.split('\n')];
  assert.equal(policy.decisions.length, own.decisions.length);
  let pins = 0;
  let unpins = 0;
  own.decisions.forEach((ownCall, i) => {
    const call = policy.decisions[i] as Decision;
    assert.deepEqual(withoutLine(call), withoutLine(ownCall), `call ${i} (trace line ${ownCall.line})`);
    if (call.op === 'pin') {
      pins += 1;
      assert.ok(call.line > ownCall.line, `pin at ${ownCall.line} charged to ${call.line}`);
      assert.match(lines[call.line] ?? '', new RegExp(`smmu_ste: .* cfg=nested s2vmid=${call.ret} vm=${call.vm}$`), `line ${call.line}`);
    } else if (call.op === 'unpin') {
      unpins += 1;
      assert.ok(call.line < ownCall.line, `unpin at ${ownCall.line} charged to ${call.line}`);
      assert.match(lines[call.line] ?? '', /smmu_ste: .* cfg=abort s2vmid=0$/, `line ${call.line}`);
    } else assert.equal(call.line, ownCall.line, `call ${i}`);
  });
  assert.deepEqual(policy.summary, own.summary);
  return { pins, unpins, flushes: own.summary['flushes'] ?? 0 };
}

/**
 * 3-bit VMIDs on 2 CPUs: 7 indexes, so the 12 VMs roll the allocator over; max_pinned_vmids =
 * 8 - 2 - 2 = 4, which the generator's workload never exceeds. `--host-domains 0`: the host's
 * own DMA domains on the sharing SMMU would make the generator pin and at once unpin when the
 * pinned VMID collides with one of theirs (an attach the trace never shows, so no workload
 * attach stands for it).
 */
const pinning = ['--vmid-bits', '3', '--cpus', '2', '--vms', '12', '--concurrent', '4', '--smmu', 'smmu0:3:on:kvm', '--host-domains', '0'];

describe('replay --policy --assign trace reproduces the trace it was generated from', () => {
  for (const [policy, variant] of [
    ['rfc-v2', 'rfc-v2'],
    ['pin-or-fail', 'rfc-v3'],
  ] as const) {
    it(`${policy} on ${variant} traces: the same VMIDs, generations, paths and pin results, call by call`, async () => {
      let totals = { pins: 0, unpins: 0, flushes: 0 };
      for (const seed of [1, 2, 3]) {
        const text = await generated([...pinning, '--variant', variant, '--seed', String(seed)]);
        const counts = assertSameCalls(text, await replay(text, []), await replay(text, ['--policy', policy, '--assign', 'trace']));
        totals = { pins: totals.pins + counts.pins, unpins: totals.unpins + counts.unpins, flushes: totals.flushes + counts.flushes };
      }
      // Not vacuous: pins, unpins and rollovers were all compared.
      assert.ok(totals.pins > 0 && totals.unpins > 0 && totals.flushes > 0, JSON.stringify(totals));
    });
  }

  it('mainline on mainline traces: every call the same, on the same line; devices change nothing in KVM, so --assign all too', async () => {
    let flushes = 0;
    for (const seed of [1, 2]) {
      const text = await generated(['--variant', 'mainline', '--vmid-bits', '3', '--cpus', '2', '--vms', '12', '--seed', String(seed)]);
      const own = await replay(text, []);
      assert.ok(own.decisions.length > 0);
      for (const assign of ['trace', 'all']) assert.deepEqual(await replay(text, ['--policy', 'mainline', '--assign', assign]), own, `--assign ${assign}`);
      flushes += own.summary['flushes'] ?? 0;
    }
    assert.ok(flushes > 0, 'no rollover was compared');
  });
});
