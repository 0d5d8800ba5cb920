/**
 * The what-if results as JSON: every run with all its numbers and findings, for scripts and
 * for the tables a reviewer builds from several captures. `kind` says which command made it;
 * the trace's own replay is reduced to how sure the workload is.
 */
import type { CompareResult } from '../../whatif/compare.js';
import type { HeadroomResult } from '../../whatif/headroom.js';
import { buildReport } from '../report.js';

/** Bumped when a field changes meaning or goes away; new fields do not bump it. */
export const whatIfSchemaVersion = 1;

function traceFacts(file: string, replay: CompareResult['replay']) {
  return {
    verdict: buildReport(file, replay).verdict,
    dataLossAt: replay.dataLossAt ?? null,
    unreadableFrom: replay.unreadableFrom ?? null,
  };
}

function stringify(value: unknown): string {
  return `${JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? `0x${field.toString(16)}` : field === undefined ? null : field), 2)}\n`;
}

/**
 * Every run's findings carry `counterfactual: true`: a finding copied out of the file on its
 * own still says that the trace does not show it, only that the policy would have led to it.
 */
export function compareJson(result: CompareResult): string {
  const { replay, runs, ...rest } = result;
  const labelled = runs.map((run) => ({ ...run, findings: run.findings.map((finding) => ({ counterfactual: true, policy: run.policy, ...finding })) }));
  return stringify({ tool: 'vmid-replay', kind: 'compare', schemaVersion: whatIfSchemaVersion, counterfactual: true, ...rest, runs: labelled, trace: traceFacts(result.file, replay) });
}

export function headroomJson(result: HeadroomResult): string {
  const { replay, ...rest } = result;
  return stringify({ tool: 'vmid-replay', kind: 'headroom', schemaVersion: whatIfSchemaVersion, ...rest, trace: traceFacts(result.file, replay) });
}
