/**
 * The check pages (docs/checks/*.md) as data: their title, description, severity, every
 * ```trace block with the findings its `<!-- expect: ... -->` comment lists, and the text report
 * under "## Report". Read by the docs test and by the golden reports of each check's examples.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const docsDir = resolve(process.cwd(), 'docs', 'checks');

export interface TraceBlock {
  /** 1-based line of the opening fence in the page. */
  readonly at: number;
  readonly text: string;
  /** `[]` for `none`. */
  readonly expect: readonly string[];
}

export interface Page {
  readonly file: string;
  readonly title: string | undefined;
  readonly description: string | undefined;
  readonly severity: string | undefined;
  readonly traces: readonly TraceBlock[];
  /** The ```text block under "## Report", and the exit code the page states for it. */
  readonly report: { readonly text: string; readonly exit: number | undefined } | undefined;
}

const expectComment = /^<!-- expect: (.+?) -->$/;

/** Parses a page; throws with the page's name and line on a block without an expectation. */
export function parsePage(file: string): Page {
  const lines = readFileSync(join(docsDir, file), 'utf8').split('\n');
  const traces: TraceBlock[] = [];
  let report: Page['report'];
  let section = '';
  let pendingExpect: { value: string; line: number } | undefined;
  let lastExit: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('## ')) section = line.slice(3).trim();
    const comment = expectComment.exec(line.trim());
    if (comment !== null) {
      pendingExpect = { value: (comment[1] as string).trim(), line: i + 1 };
      continue;
    }
    const exit = /\(exit (\d+)\)/.exec(line);
    if (exit !== null) lastExit = Number(exit[1]);
    if (line.startsWith('```')) {
      const lang = line.slice(3).trim();
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !(lines[j] as string).startsWith('```')) body.push(lines[j++] as string);
      if (j >= lines.length) throw new Error(`${file}:${i + 1}: unclosed fence`);
      if (lang === 'trace') {
        // The expectation is the comment right before the block, or right after it.
        let expectation = pendingExpect !== undefined && pendingExpect.line >= i - 1 ? pendingExpect.value : undefined;
        if (expectation === undefined) {
          const after = expectComment.exec((lines[j + 1] ?? '').trim()) ?? expectComment.exec((lines[j + 2] ?? '').trim());
          expectation = after === null ? undefined : (after[1] as string).trim();
        }
        if (expectation === undefined) throw new Error(`${file}:${i + 1}: trace block without an <!-- expect: ... --> comment`);
        traces.push({ at: i + 1, text: `${body.join('\n')}\n`, expect: expectation === 'none' ? [] : expectation.split(/[\s,]+/).filter((s) => s.length > 0) });
      } else if (lang === 'text' && section === 'Report' && report === undefined) {
        report = { text: body.join('\n'), exit: lastExit };
      }
      pendingExpect = undefined;
      i = j;
    }
  }
  const title = /^# `([a-z0-9-]+)`$/.exec(lines[0] ?? '')?.[1];
  const description = lines.find((line) => line.startsWith('> '))?.slice(2).trim();
  const severity = /^\| Default severity \| (\w+) \|$/.exec(lines.find((line) => line.startsWith('| Default severity |')) ?? '')?.[1];
  return { file, title, description, severity, traces, report };
}

export const pageFiles = existsSync(docsDir) ? readdirSync(docsDir).filter((name) => name.endsWith('.md')).sort() : [];
export const pages: ReadonlyMap<string, Page> = new Map(pageFiles.map((file) => [file, parsePage(file)]));

