/**
 * The property both WebAssembly skims (ftrace and trace-cmd lines) are held to: read with the
 * skim or without it, any text gives the same records, counts and spans.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EventFilter, Importer } from '../../src/ingest/importer.js';
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
