/**
 * The JSON report's schema (docs/report.schema.json) is generated from the TypeScript types
 * (scripts/reportSchema.ts) and committed: generating it again gives the committed file, and
 * every JSON document the tool wrote into reports/ and test/golden/ validates against it, as do
 * the documents for several traces and for a trace that failed. ajv validates: a standard
 * draft-07 validator, so the check does not rest on a validator written for this test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { reportSchemaText, schemaFile } from '../../scripts/reportSchema.js';
import { reportSchemaVersion } from '../../src/report/json.js';
import { runCli } from '../helpers/cli.js';

const committed = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;

/**
 * The committed schema with every object closed (no property it does not name): the documents
 * this tool writes hold nothing beyond their types, though consumers may meet newer fields.
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const entries = Object.entries(schema).map(([key, value]) => [key, key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([name, inner]) => [name, closed(inner)])) : closed(value)]);
  const object = Object.fromEntries(entries) as Record<string, unknown>;
  return 'properties' in object && !('additionalProperties' in object) ? { ...object, additionalProperties: false } : object;
}

const validators: readonly [string, ValidateFunction][] = [
  ['the committed schema', new Ajv({ allErrors: true, strict: false }).compile(committed)],
  ['the committed schema, closed', new Ajv({ allErrors: true, strict: false }).compile(closed(committed) as object)],
];

function assertValid(document: unknown, where: string): void {
  for (const [name, validate] of validators) assert.ok(validate(document), `${where} against ${name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
}

test('docs/report.schema.json is what scripts/reportSchema.ts generates from the types (npm run schema)', () => {
  assert.equal(readFileSync(schemaFile, 'utf8'), reportSchemaText());
});

test('every JSON report in reports/ and test/golden/ validates and carries the schema version', () => {
  const files = [
    // The what-if comparisons (`*.whatif.json`) are another document, `"kind": "compare"` (test/whatif);
    // `*.perfetto.json` is Chrome Trace Event JSON (test/timeline/perfetto.test.ts).
    ...readdirSync('reports').filter((name) => name.endsWith('.json') && !name.endsWith('.whatif.json') && !name.endsWith('.perfetto.json')).map((name) => join('reports', name)),
    ...readdirSync('test/golden/checks').filter((name) => name.endsWith('.json')).map((name) => join('test/golden/checks', name)),
  ];
  assert.ok(files.length >= 9 + 20, files.join(' '));
  for (const file of files) {
    const document = JSON.parse(readFileSync(file, 'utf8')) as { schemaVersion?: unknown; findings?: unknown[] };
    assert.equal(document.schemaVersion, reportSchemaVersion, file);
    assertValid(document, file);
  }
});

test('the documents for several traces and for a trace that failed validate too', async () => {
  const missing = join('traces', 'no-such.trace');
  const several = await runCli(['analyze', 'traces/mixed-hazards.trace', missing, '--format', 'json', '--jobs', '1']);
  const document = JSON.parse(several.stdout) as { schemaVersion: number; reports: unknown[]; summary: unknown[] };
  assert.deepEqual([document.schemaVersion, document.reports.length, document.summary.length], [reportSchemaVersion, 1, 2]);
  assertValid(document, 'several traces');
  const out = await runCli(['analyze', missing, '--out', 'out']);
  const failed = JSON.parse(out.files.get(join('out', 'no-such.trace.json')) ?? 'null') as { error?: { code: string } };
  assert.equal(failed.error?.code, 'INPUT_NOT_FOUND');
  assertValid(failed, 'a failed trace');
});

test('the schema rejects what is not a report: no schema version, a misspelt verdict, a finding without its parties', () => {
  const report = JSON.parse(readFileSync('reports/mixed-hazards.trace.json', 'utf8')) as Record<string, unknown> & { findings: Record<string, unknown>[] };
  assert.ok(report.findings.length > 0);
  const unversioned = Object.fromEntries(Object.entries(report).filter(([key]) => key !== 'schemaVersion'));
  const [first, ...rest] = report.findings;
  const partyless = Object.fromEntries(Object.entries(first ?? {}).filter(([key]) => key !== 'parties'));
  for (const [name, bad] of [
    ['no schemaVersion', unversioned],
    ['verdict "finding"', { ...report, verdict: 'finding' }],
    ['a finding without parties', { ...report, findings: [partyless, ...rest] }],
    ['a scenario step without an actor', { ...report, findings: [{ ...first, scenario: [{ kind: 'event', action: 'x', line: 1 }] }, ...rest] }],
  ] as const) {
    for (const [schema, validate] of validators) assert.equal(validate(bad), false, `${name} passes ${schema}`);
  }
  // A field this version does not know is a consumer's newer report: only the closed schema refuses it.
  const [open, shut] = validators.map(([, validate]) => validate({ ...report, addedLater: 1 }));
  assert.deepEqual([open, shut], [true, false]);
});
