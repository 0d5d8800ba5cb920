/**
 * The properties both WebAssembly skims (ftrace and trace-cmd lines) are held to: read with
 * the skim or without it (by the string grammar alone), any text gives the same records,
 * counts and spans; and the columns the skim hands over make the string grammar's record.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EventFilter, Importer } from '../../src/ingest/importer.js';
import type { FtraceSkimmer } from '../../src/ingest/lines/ftraceSkim.js';
import type { LineParser, SkimmedColumns } from '../../src/ingest/lines/lineRecords.js';
import type { ReadRecord } from '../../src/ingest/records.js';
import { inChunks } from './chunks.js';

/** A filter refusing about two names in three, and plain and `(location)` bodies differently. */
export function filterFrom(seed: number): EventFilter {
  return (name, opensWithLocation) => {
    let hash = seed;
    for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
    return (hash + (opensWithLocation ? 1 : 0)) % 3 === 0;
  };
}

export type ReadWith = (bytes: Uint8Array, chunk: number | readonly number[], wantEvent: EventFilter, wasmSkim: boolean | 'always', maxLineBytes?: number) => Promise<unknown[]>;

/** A ReadWith for one importer: every record it reads from `bytes` cut at `chunk`. */
export function readingWith(importer: Importer): (...args: Parameters<ReadWith>) => Promise<ReadRecord[]> {
  return async (bytes, chunk, wantEvent, wasmSkim, maxLineBytes) => {
    const out: ReadRecord[] = [];
    const options = { file: 't', wantEvent, wasmSkim, ...(maxLineBytes === undefined ? {} : { maxLineBytes }) };
    for await (const batch of importer.records(inChunks(bytes, chunk), options)) out.push(...batch);
    return out;
  };
}

/**
 * Texts made of `good` lines and variants of them with one or two bytes replaced by one of
 * `editBytes` (once a name is taught from a good variant, the skim meets the broken ones,
 * which it must hand back), mixed with `others`, in any line ends, chunking and line limit:
 * `read` gives the same records with the skim (`'always'`, and as it pays) as without it.
 */
export async function assertSameRecordsWithSkim(good: fc.Arbitrary<string>, others: fc.Arbitrary<Buffer>, editBytes: readonly number[], read: ReadWith, numRuns: number): Promise<void> {
  const edit = fc.tuple(fc.nat(), fc.constantFrom(...editBytes));
  const variants = fc.tuple(good, fc.array(fc.array(edit, { minLength: 1, maxLength: 2 }), { maxLength: 6 })).map(([text, edits]) => {
    const base = Buffer.from(text);
    return [base, ...edits.map((changes) => {
      const copy = Buffer.from(base);
      for (const [at, byte] of changes) if (copy.length > 0) copy[at % copy.length] = byte;
      return copy;
    })];
  });
  const templates = fc.tuple(variants, fc.array(others, { maxLength: 4 })).map(([family, rest]) => [...family, ...rest]);
  await fc.assert(
    fc.asyncProperty(
      templates,
      fc.array(fc.tuple(fc.nat(), fc.boolean()), { minLength: 1, maxLength: 150 }),
      fc.boolean(),
      fc.oneof(fc.integer({ min: 1, max: 400 }), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 4 })),
      fc.constantFrom(undefined, 12, 40, 70),
      fc.nat(),
      async (lines, picks, finalNewline, chunk, maxLineBytes, seed) => {
        const parts: Buffer[] = [];
        for (const [pick, crlf] of picks) parts.push(lines[pick % lines.length] as Buffer, Buffer.from(crlf ? '\r\n' : '\n'));
        if (!finalNewline) parts.pop();
        const bytes = Buffer.concat(parts);
        if (Array.isArray(chunk) && chunk.every((size) => size === 0)) return;
        const wantEvent = filterFrom(seed);
        const expected = await read(bytes, chunk, wantEvent, false, maxLineBytes);
        assert.deepEqual(await read(bytes, chunk, wantEvent, 'always', maxLineBytes), expected);
        assert.deepEqual(await read(bytes, chunk, wantEvent, true, maxLineBytes), expected);
      },
    ),
    { numRuns },
  );
}

/**
 * Each line of `buf` (whole lines) as the skimmer hands it over (no name taught: it skips
 * none), to `each` with its end without a CR, as the splitter hands it on, and where its
 * columns are in `skimmer.columnWords` (-1 for none; valid only during the call).
 */
export function eachSkimmedLine(skimmer: FtraceSkimmer, buf: Buffer, each: (start: number, end: number, columnsAt: number) => void): void {
  skimmer.readLines(
    buf,
    0,
    buf.length,
    (start, newline, _index, columnsAt) => each(start, newline > start && buf[newline - 1] === 0x0d ? newline - 1 : newline, columnsAt),
    () => assert.fail('a skimmer taught no name skips no line'),
    () => undefined,
  );
}

/**
 * What the skim of `line` (no newline inside) gives, checked against `parseText`: where the
 * skimmer hands it over with columns, they must name an event line of that name and body
 * flavor to the string grammar, and where they make a record it must be the string grammar's,
 * field for field and in order. Returns whether the line came with its columns and whether
 * they made its record.
 */
export function skimAgrees(skimmer: FtraceSkimmer, columns: SkimmedColumns, parseText: LineParser, line: Buffer): { columns: boolean; record: boolean } {
  const buf = Buffer.concat([line, Buffer.from('\n')]);
  let loaded: { start: number; end: number } | undefined;
  eachSkimmedLine(skimmer, buf, (start, end, columnsAt) => {
    if (columnsAt >= 0 && columns.load(buf, start, end, skimmer.columnWords, columnsAt)) loaded = { start, end };
  });
  if (loaded === undefined) return { columns: false, record: false };
  const { start, end } = loaded;
  const span = { file: 't', line: 3, offset: 7 };
  const expected = parseText(buf.toString('utf8', start, end), span);
  const shown = JSON.stringify(buf.toString('latin1', start, end));
  assert.equal(expected.type, 'event', `columns handed over for a line the string grammar reads as ${expected.type}: ${shown}`);
  if (expected.type !== 'event') return { columns: true, record: false };
  const name = buf.toString('latin1', columns.nameStart, columns.nameEnd);
  assert.equal(name, expected.name, shown);
  assert.equal(columns.opensWithLocation, expected.body.charCodeAt(0) === 0x28, `body flavor of ${shown}`);
  const record = columns.record(buf, start, end, span, name);
  if (record === undefined) return { columns: true, record: false };
  assert.deepStrictEqual(record, expected, shown);
  assert.deepEqual(Object.keys(record), Object.keys(expected), 'one object shape for both paths');
  return { columns: true, record: true };
}
