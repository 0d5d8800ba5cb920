/**
 * Shared by the check tests: runs trace text through the user-facing path
 * (`vmid-replay analyze <file> --format json`) and reduces the report to what the tests
 * assert exactly: finding ids with their lines, witnesses, verdict and exit code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Party, Remedy, ScenarioStep } from '../../src/checks/findingParts.js';
import { runCli } from '../helpers/cli.js';

export interface JsonWitness {
  readonly role: string;
  readonly ref: { readonly line: number; readonly text: string; readonly cpu: number };
}

export interface JsonFinding {
  readonly checkId: string;
  readonly severity: 'error' | 'warning' | 'notice';
  readonly messageId: string;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly tsUs: number;
  readonly witnesses: readonly JsonWitness[];
  readonly explanation: readonly string[];
  readonly needed?: string;
  readonly parties: readonly Party[];
  readonly scenario: readonly ScenarioStep[];
  readonly remedy?: Remedy;
  readonly inconclusive: boolean;
  readonly data: Readonly<Record<string, string | number>>;
}

export interface JsonReport {
  readonly verdict: 'ok' | 'findings' | 'inconclusive';
  readonly findings: readonly JsonFinding[];
  readonly checks: readonly { readonly id: string; readonly count: number; readonly inconclusive: number }[];
  readonly counts: {
    readonly allEventsAccounted: boolean;
    readonly malformedEvents: number;
    readonly unrecognisedProbes: number;
    readonly divergences: Readonly<Record<string, number>>;
    /** How many recorded values of each kind (`idBefore`, `idAfter`, ...) were compared with the model. */
    readonly observedFields: Readonly<Record<string, number>>;
  };
  readonly costs: { readonly loads: number; readonly slowLoads: number; readonly rollovers: number; readonly generation: number; readonly nrPinnedAtEnd: number | null };
  readonly dataLossAt: { readonly line: number } | null;
  readonly diagnostics: readonly { readonly code: string; readonly count: number; readonly samples: readonly { readonly line: number; readonly detail: string }[] }[];
}

export interface Analysis {
  readonly code: number;
  readonly stderr: string;
  readonly report: JsonReport;
  /** `checkId@line` per finding, in report order. */
  readonly found: readonly string[];
}

/** Writes `text` to a temporary file and runs `analyze <file> --format json ...extra` on it. */
export async function analyze(text: string, extra: readonly string[] = []): Promise<Analysis> {
  const dir = mkdtempSync(join(tmpdir(), 'vmid-check-'));
  try {
    const file = join(dir, 'case.trace');
    writeFileSync(file, text);
    const result = await runCli(['analyze', file, '--format', 'json', ...extra]);
    if (result.code !== 0 && result.code !== 1 && result.code !== 2) {
      throw new Error(`analyze exited ${result.code}: ${result.stderr}`);
    }
    const report = JSON.parse(result.stdout) as JsonReport;
    return { code: result.code, stderr: result.stderr, report, found: report.findings.map((f) => `${f.checkId}@${f.line}`) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The findings of one check (asserted non-empty by callers that loop over them). */
export function findingsOf(analysis: Analysis, checkId: string): JsonFinding[] {
  return analysis.report.findings.filter((finding) => finding.checkId === checkId);
}

/** `role@line` for each witness of a finding. */
export function witnessLines(finding: JsonFinding | undefined): string[] {
  if (finding === undefined) throw new Error('no finding to read witnesses from');
  return finding.witnesses.map((witness) => `${witness.role}@${witness.ref.line}`);
}
