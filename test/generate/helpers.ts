/** Generate and analyze in-process, and read the two sides the way the precision tests compare them. */
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

export interface SidecarHazard {
  readonly id: number;
  readonly fault: string;
  readonly expected: readonly { readonly check: string; readonly line: number | null }[];
  readonly inconclusive: boolean;
  readonly firstLine: number;
  readonly lastLine: number;
}

export interface Sidecar {
  readonly tool: string;
  readonly seed: number;
  readonly command: string;
  readonly options: Record<string, unknown>;
  readonly faults: Record<string, { readonly checks: readonly string[] }>;
  readonly hazards: readonly SidecarHazard[];
  readonly losses: readonly { readonly line: number; readonly cpu: number; readonly count: number }[];
  readonly skipped: readonly { readonly fault: string }[];
  readonly summary: { readonly lines: number; readonly bytes: number; readonly firstLossLine: number | null; readonly expectedFindings: number };
}

export interface ReportFinding {
  readonly checkId: string;
  readonly severity: string;
  readonly line: number;
  readonly inconclusive: boolean;
}

export interface JsonReport {
  readonly verdict: string;
  readonly findings: readonly ReportFinding[];
  readonly counts: { readonly malformedEvents: number; readonly allEventsAccounted: boolean; readonly records: Record<string, number> };
  readonly diagnostics: readonly { readonly code: string }[];
}

export interface Generated {
  readonly trace: string;
  readonly sidecar: Sidecar;
}

/** `vmid-replay generate ARGS` to stdout, with the sidecar captured. */
export async function generate(args: readonly string[]): Promise<Generated> {
  const result = await runCli(['generate', ...args, '-o', '-', '--sidecar', 'side.json']);
  assert.equal(result.code, 0, `generate ${args.join(' ')} failed: ${result.stderr}`);
  const sidecarText = result.files.get('side.json');
  assert.ok(sidecarText !== undefined, 'no sidecar written');
  return { trace: result.stdout, sidecar: JSON.parse(sidecarText) as Sidecar };
}

export async function analyze(trace: string): Promise<{ code: number; report: JsonReport }> {
  const result = await runCli(['analyze', '-', '--format', 'json'], trace);
  assert.ok(result.code <= 2, `analyze failed (${result.code}): ${result.stderr}`);
  return { code: result.code, report: JSON.parse(result.stdout) as JsonReport };
}

/** The conclusive error and warning findings, as sorted `check@line` (a multiset). */
export function reported(report: JsonReport): string[] {
  return report.findings
    .filter((finding) => !finding.inconclusive && (finding.severity === 'error' || finding.severity === 'warning'))
    .map((finding) => `${finding.checkId}@${finding.line}`)
    .sort();
}

/** What the sidecar says the analyzer must report conclusively, as sorted `check@line`. */
export function expected(sidecar: Sidecar): string[] {
  return sidecar.hazards
    .filter((hazard) => !hazard.inconclusive)
    .flatMap((hazard) => hazard.expected.map((finding) => `${finding.check}@${finding.line}`))
    .sort();
}
