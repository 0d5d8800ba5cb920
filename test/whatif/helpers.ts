/** What the what-if tests share: generated traces, in-process compares, and the real captures with their probe map. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { parseProbeMap } from '../../src/events/probeMap.js';
import type { ReplayOptions } from '../../src/replay/replayTypes.js';
import { parseAssign } from '../../src/whatif/assign.js';
import { compareTrace, type CompareResult, type CompareSpec } from '../../src/whatif/compare.js';
import type { RunResult } from '../../src/whatif/policyRun.js';
import { runCli } from '../helpers/cli.js';

/** `vmid-replay generate ARGS` in-process: the trace text. */
export async function generated(args: readonly string[]): Promise<string> {
  const result = await runCli(['generate', '--quiet', ...args]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

/** A compare spec: every list empty (the traced host), one copy, devices as `assign` says (undefined: the default). */
export function specOf(policies: readonly string[], assign: string | undefined, more: Partial<CompareSpec> = {}): CompareSpec {
  return { policies, assign: assign === undefined ? undefined : parseAssign(assign, more.seed ?? 1), seed: 1, vmidBits: [], cpus: [], btm: [], scale: 1, ...more };
}

/** `compare` of a trace held in memory, read as stdin is. */
export function compareText(text: string, spec: CompareSpec, options: ReplayOptions = {}): Promise<CompareResult> {
  return compareTrace('-', Readable.from([Buffer.from(text)]), options, spec);
}

export function runOf(result: CompareResult, policy: string, vmidBits?: number): RunResult {
  const run = result.runs.find((each) => each.policy === policy && (vmidBits === undefined || each.host.vmidBits === vmidBits));
  assert.ok(run !== undefined, `no run of ${policy}${vmidBits === undefined ? '' : ` at ${vmidBits} bits`}`);
  return run;
}

/** The finding lines of `checkId` in a run, sorted. */
export function linesOf(run: RunResult, checkId: string, messageId?: string): number[] {
  return run.findings
    .filter((finding) => finding.checkId === checkId && (messageId === undefined || finding.messageId === messageId))
    .map((finding) => finding.line)
    .sort((x, y) => x - y);
}

const capturesRoot = resolve(process.cwd(), '..', 'shared', 'captures');

/**
 * The smallest real capture (../shared/captures/README.md): Debian 6.1, 8-bit VMIDs, 4 CPUs,
 * read from trace_pipe, ~600 VMs, 2 rollovers, at most 4 VMs alive at once.
 */
export const smallCapture = resolve(capturesRoot, 'a57-8bit-nvhe-trace-pipe', 'trace_pipe.txt.gz');
export const captureMapFile = 'traces/captures-6.1.map.json';
/** The capture's host, as its README says (the trace_pipe output has no header to say it). */
export const captureHost = ['--vmid-bits', '8', '--cpus', '4', '--map', captureMapFile] as const;

export function captureOptions(): ReplayOptions {
  return { vmidBits: 8, cpus: 4, probeMap: parseProbeMap(JSON.parse(readFileSync(captureMapFile, 'utf8')) as unknown, captureMapFile) };
}

/** The capture's lines, 1-based (index 0 is empty), to check a finding against the line it names. */
export function captureLines(): readonly string[] {
  return ['', ...gunzipSync(readFileSync(smallCapture)).toString('utf8').split('\n')];
}
