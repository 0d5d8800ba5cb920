/**
 * Plain-text layout for reports pasted into mail: lines of at most 72 columns (prose wrapped at
 * spaces, tables fitted), ASCII only, and colour only when the caller asks for it (a terminal).
 * Quoted trace lines are the one exception to the width: they are kept whole, as kernel commit
 * messages keep log lines.
 */

/** The width of a mail line: under the 75 columns the kernel's submitting-patches.rst asks of a commit message, with room for a reply's "> ". */
export const mailWidth = 72;

/** How a line is coloured on a terminal; lines without a tone stay plain. */
export type Tone = 'error' | 'warning' | 'notice' | 'ok' | 'inconclusive' | 'heading' | 'quote' | 'missing';

export interface Line {
  readonly text: string;
  readonly tone?: Tone;
}

const toneCodes: Readonly<Record<Tone, string>> = {
  error: '1;31',
  warning: '1;33',
  notice: '1;36',
  ok: '1;32',
  inconclusive: '1;35',
  heading: '1',
  quote: '2',
  missing: '31',
};

/**
 * Every character outside printable ASCII as an escape (`\x1b`, `\u{e9}`), so a report is
 * ASCII whatever the trace held: a task name in UTF-8, a stray control character.
 */
export function toAscii(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (char) => {
    const code = char.codePointAt(0) as number;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** The lines as one string, each made ASCII and, with `colour`, wrapped in its tone's SGR codes. */
export function joinLines(lines: readonly Line[], colour: boolean): string {
  const shown = lines.map((line) => {
    const text = toAscii(line.text);
    return colour && line.tone !== undefined && text.length > 0 ? `\x1b[${toneCodes[line.tone]}m${text}\x1b[0m` : text;
  });
  return `${shown.join('\n').replace(/\n+$/, '')}\n`;
}

interface Word {
  /** The spaces before the word in the text, kept when the word stays on the same line. */
  readonly gap: string;
  readonly text: string;
}

/**
 * The words of a paragraph with the spaces before each (aligned columns keep their padding).
 * A VM is named by its pointer: `VM 0xffff000010002000` is one word, never split over two lines.
 */
function wordsOf(paragraph: string): Word[] {
  const words: Word[] = [];
  let gap = '';
  for (const token of paragraph.split(/( +)/)) {
    if (token.length === 0) continue;
    if (token.startsWith(' ')) {
      gap = token;
      continue;
    }
    const last = words.at(-1);
    if (token.startsWith('0x') && last?.text === 'VM') words[words.length - 1] = { gap: last.gap, text: `VM${gap}${token}` };
    else words.push({ gap, text: token });
    gap = '';
  }
  return words;
}

/**
 * Words of `text` filled into lines of at most `width` columns, the first starting with
 * `first`, the others with `rest`; a line break in `text` (an error's stack) starts a new
 * line. A word longer than a line (a long path) is kept whole on a line of its own rather
 * than cut.
 */
export function wrap(text: string, width: number, first = '', rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const [index, paragraph] of text.split('\n').entries()) {
    if (index > 0) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    for (const word of wordsOf(paragraph)) {
      if (!empty && line.length + word.gap.length + word.text.length > width) {
        lines.push(line);
        line = rest;
        empty = true;
      }
      line += empty ? word.text : `${word.gap}${word.text}`;
      empty = false;
    }
  }
  lines.push(line);
  return lines;
}

/** `wrap` into plain lines of one tone. */
export function prose(text: string, first = '', rest = first, tone?: Tone): Line[] {
  return wrap(text, mailWidth, first, rest).map((line) => (tone === undefined ? { text: line } : { text: line, tone }));
}

export interface Column {
  readonly header: string;
  /** Right-aligned (numbers) rather than left. */
  readonly right?: boolean;
  /** Never narrower than this, nor wrapped (line numbers). */
  readonly fixed?: boolean;
}

function longestWord(text: string): number {
  return Math.max(0, ...text.split('\n').flatMap((paragraph) => wordsOf(paragraph).map((word) => word.text.length)));
}

/** Below this a cell wraps into so many lines that a list reads better than a table. */
const narrowestColumn = 14;

/**
 * A table of `rows` under `columns` (lockdep's CPU0/CPU1 layout: header, dashes, cells), each
 * line starting with `indent`: cells wrap within their column, the widest columns giving way
 * first until the table fits `mailWidth`. Undefined when it cannot fit with readable columns.
 */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[], indent: string, gap = 2): string[] | undefined {
  const natural = columns.map((column, index) => Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)));
  const room = mailWidth - indent.length - gap * (columns.length - 1);
  const widths = [...natural];
  // A column is never narrower than its longest word (a VM's `VM 0x...` is one): wrap keeps words whole.
  const narrowest = columns.map((column, index) => Math.max(narrowestColumn, column.header.length, ...rows.map((row) => longestWord(row[index] ?? ''))));
  const flexible = columns.map((column, index) => (column.fixed === true ? -1 : index)).filter((index) => index >= 0);
  while (widths.reduce((a, b) => a + b, 0) > room) {
    const widest = flexible.reduce((best, index) => ((widths[index] as number) > (widths[best] as number) ? index : best), flexible[0] as number);
    if ((widths[widest] as number) <= (narrowest[widest] as number)) return undefined;
    widths[widest] = (widths[widest] as number) - 1;
  }
  const pad = (text: string, index: number) => ((columns[index] as Column).right === true ? text.padStart(widths[index] as number) : text.padEnd(widths[index] as number));
  const render = (cells: readonly string[]) => `${indent}${cells.map((cell, index) => pad(cell, index)).join(' '.repeat(gap))}`.trimEnd();
  const lines = [render(columns.map((column) => column.header)), render(columns.map((column) => '-'.repeat(column.header.length)))];
  for (const row of rows) {
    const wrapped = columns.map((_column, index) => wrap(row[index] ?? '', widths[index] as number));
    const height = Math.max(...wrapped.map((cell) => cell.length));
    for (let line = 0; line < height; line++) lines.push(render(wrapped.map((cell) => cell[line] ?? '')));
  }
  return lines;
}
