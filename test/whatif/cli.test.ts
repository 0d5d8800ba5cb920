/**
 * `compare`, `headroom` and `replay --policy` on the command line, in-process: usage errors exit
 * 64 (ExitCode.usage, as every command's) naming what was expected, the verdict exit codes
 * (0 compared, 2 the workload is unsure, 3 nothing to replay), and the JSON's identity.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { pinningPolicies, policyNames } from '../../src/whatif/policies/index.js';
import { runCli } from '../helpers/cli.js';
import { TraceWriter, vmPointer } from '../helpers/traceWriter.js';

const [a, b] = [vmPointer(1), vmPointer(2)];

/** Two VMs on two CPUs, each loaded once; lines 1 header, 2-3 create, 4-6 A on CPU 0, 7-9 B on CPU 1, 10-11 destroy. */
function twoVms(): TraceWriter {
  return new TraceWriter().header('vmid_bits=8 cpus=2 variant=mainline').vmCreate(a).vmCreate(b).load(a, 0).put(0).load(b, 1).put(1);
}

const clean = twoVms().vmDestroy(a).vmDestroy(b).toString();

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('what-if usage errors exit 64 and say what was expected', () => {
  const cases: readonly (readonly [readonly string[], RegExp])[] = [
    [['compare', '-', '--policy', 'rfc-v9'], new RegExp(`no policy "rfc-v9": one of ${escaped(policyNames.join(', '))}`)],
    [['compare', '-', '--policy', 'rfc-v2,nope'], /no policy "nope"/],
    [['replay', '-', '--policy', 'pinned'], /no policy "pinned": one of mainline/],
    [['headroom', '-', '--policy', 'mainline'], new RegExp(`"mainline" does not pin: one of ${escaped(pinningPolicies.join(', '))}`)],
    [['compare', '-', '--assign', 'some'], /all, ratio=R, vms=PTR,\.\.\., trace, first-run or devices=N \(got "some"\)/],
    [['compare', '-', '--assign', 'ratio=1.5'], /ratio= a fraction from 0 to 1 \(got "ratio=1\.5"\)/],
    [['compare', '-', '--assign', 'ratio='], /ratio= a fraction from 0 to 1/],
    [['headroom', '-', '--assign', 'all,devices=0'], /devices= a count from 1 to 64 \(got "devices=0"\)/],
    [['replay', '-', '--policy', 'rfc-v2', '--assign', 'vms=ffff0000'], /vms= kernel pointers such as 0xffff000010001000 \(got "vms=ffff0000"\)/],
    [['compare', '-', '--assign', 'all,trace'], /one of all, ratio=R, vms=PTR,\.\.\., trace \(got a second in "all,trace"\)/],
    [['compare', '-', '--diff', 'rfc-v2'], /--diff takes two different policies, A,B \(got "rfc-v2"\)/],
    [['compare', '-', '--diff', 'rfc-v2,rfc-v2'], /--diff takes two different policies/],
    [['compare', '-', '--diff', 'rfc-v2,vsmmu,mainline'], /--diff takes two different policies/],
    [['compare', '-', '--diff', 'rfc-v2,nope'], /no policy "nope"/],
    [['compare', '-', '--sweep-vmid-bits', '8,17'], /--sweep-vmid-bits/],
    [['compare', '-', '--sweep-vmid-bits', '8,x'], /--sweep-vmid-bits/],
    [['compare', '-', '--sweep-cpus', '0'], /--sweep-cpus/],
    [['compare', '-', '--sweep-btm', 'on,maybe'], /expected on or off, got "maybe"/],
    [['compare', '-', '--scale', '0'], /--scale/],
    [['headroom', '-', '--scale', '65'], /--scale/],
    [['compare', '-', '--format', 'csv'], /Allowed choices are text, markdown, json, html/],
  ];
  for (const [argv, message] of cases) {
    it(argv.slice(2).join(' '), async () => {
      const result = await runCli(argv, clean);
      assert.equal(result.code, ExitCode.usage, `${argv.join(' ')}: exit ${result.code}, stderr ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '', 'a usage error prints no report');
    });
  }

  it('the range errors name the range', async () => {
    for (const [flag, value] of [
      ['--sweep-vmid-bits', '17'],
      ['--sweep-cpus', '0'],
      ['--scale', '0'],
    ] as const) {
      const result = await runCli(['compare', '-', flag, value], clean);
      assert.equal(result.code, ExitCode.usage);
      // commander names the option and the value, integerIn() the range.
      assert.match(result.stderr, new RegExp(`^error: option '${flag} <[a-z]+>' argument '${value}' is invalid\\. ${flag} must be an integer from \\d+ to \\d+\\.`));
    }
  });

  it('--diff errors read as every other option error: the option, the value, then what was expected', async () => {
    const result = await runCli(['compare', '-', '--diff', 'rfc-v2'], clean);
    assert.equal(result.code, ExitCode.usage);
    assert.match(result.stderr, /^error: option '--diff <A,B>' argument 'rfc-v2' is invalid\. --diff takes two different policies, A,B \(got "rfc-v2"\)\.\n/);
  });

  it('replay --policy on a host its policy cannot run on is an error naming why, not an empty replay', async () => {
    // --cpus 1 says the traced host has one CPU, but B runs on CPU 1 at lines 7-8: the
    // allocator of a 1-CPU host has no CPU 1 to run it on.
    const result = await runCli(['replay', '-', '--policy', 'rfc-v2', '--assign', 'all', '--cpus', '1'], clean);
    assert.equal(result.code, ExitCode.usage);
    assert.match(result.stderr, /--policy rfc-v2 cannot run on the traced host: the workload runs a vCPU on CPU 1 \(line 8\); a host of 1 CPU has no such CPU \[CONFIG_INVALID\]/);
  });
});

describe('--diff with policies that --policy does not list', () => {
  it('runs them too, so the two can be compared call by call', async () => {
    const result = await runCli(['compare', '-', '--format', 'json', '--assign', 'all', '--policy', 'mainline', '--diff', 'rfc-v2,pin-or-fail'], clean);
    assert.equal(result.code, ExitCode.ok, result.stderr);
    const json = JSON.parse(result.stdout) as { runs: { policy: string }[]; diff: { policyA: string; policyB: string; loads: number } };
    assert.deepEqual(
      json.runs.map((run) => run.policy),
      ['mainline', 'rfc-v2', 'pin-or-fail'],
    );
    // Two loads (A at line 5, B at line 8), compared under both.
    assert.deepEqual([json.diff.policyA, json.diff.policyB, json.diff.loads], ['rfc-v2', 'pin-or-fail', 2]);
  });
});

describe('what-if exit codes and JSON identity', () => {
  for (const command of ['compare', 'headroom'] as const) {
    it(`${command}: 0 on a clean trace, with a JSON report of kind "${command}", schema version 1`, async () => {
      const result = await runCli([command, '-', '--format', 'json', '--assign', 'all'], clean);
      assert.equal(result.code, ExitCode.ok, result.stderr);
      const json = JSON.parse(result.stdout) as { tool: string; kind: string; schemaVersion: number; trace: { verdict: string } };
      assert.deepEqual([json.tool, json.kind, json.schemaVersion, json.trace.verdict], ['vmid-replay', command, 1, 'ok']);
    });

    it(`${command}: 2 when events were lost (the workload is unsure), in every format`, async () => {
      const lossy = twoVms().lost(0, 5).load(a, 0).put(0).vmDestroy(a).vmDestroy(b).toString();
      for (const format of ['text', 'markdown', 'json']) {
        const result = await runCli([command, '-', '--format', format, '--assign', 'all'], lossy);
        assert.equal(result.code, ExitCode.inconclusive, `${format}: ${result.stderr}`);
        assert.ok(result.stdout.length > 0, `${format}: no report`);
      }
    });

    it(`${command}: 3 when the trace holds no event to replay`, async () => {
      const result = await runCli([command, '-', '--assign', 'all'], '# tracer: nop\n#\n');
      assert.equal(result.code, ExitCode.noEvents, result.stderr);
      assert.match(result.stderr, /\[NO_EVENTS\]/);
      assert.equal(result.stdout, '');
    });
  }

  it('findings do not change the exit code: pins that would have failed are a report, not a verdict', async () => {
    // 2-bit VMIDs, 1 CPU: max_pinned_vmids = 4 - 1 - 2 = 1; A pins at its creation, B finds the pool full.
    const trace = new TraceWriter().header('vmid_bits=2 cpus=1 variant=mainline').vmCreate(a).vmCreate(b).load(a, 0).put(0).load(b, 0).put(0).vmDestroy(a).vmDestroy(b).toString();
    const result = await runCli(['compare', '-', '--format', 'json', '--assign', 'all', '--policy', 'rfc-v2'], trace);
    assert.equal(result.code, ExitCode.ok, result.stderr);
    const json = JSON.parse(result.stdout) as { runs: { metrics: { pinsFailed: number } }[] };
    assert.equal(json.runs[0]?.metrics.pinsFailed, 1);
  });
});
