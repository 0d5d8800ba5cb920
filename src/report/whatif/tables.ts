/**
 * The side-by-side table: a row per number, a column per policy. In mail the columns are
 * grouped so that no line passes 72 characters (a reply quotes with "> "); Markdown has no
 * width and keeps one table.
 */
import type { RunResult } from '../../whatif/policyRun.js';
import { escapeMarkdown, markdownTable, type Alignment } from '../markdown.js';
import { mailWidth } from '../layout.js';
import type { MetricRow } from './words.js';

const gap = 2;

function labelWidth(rows: readonly MetricRow[]): number {
  return Math.max(...rows.map((row) => row.label.length));
}

function columnWidth(run: RunResult, rows: readonly MetricRow[]): number {
  return Math.max(run.policy.length, ...rows.map((row) => row.cell(run).length));
}

/** The runs in groups whose table fits a mail line (a run wider than a line has a group of its own). */
export function columnGroups(runs: readonly RunResult[], rows: readonly MetricRow[], indent = 2): RunResult[][] {
  const groups: RunResult[][] = [];
  let width = indent + labelWidth(rows);
  for (const run of runs) {
    const added = gap + columnWidth(run, rows);
    const current = groups.at(-1);
    if (current === undefined || width + added > mailWidth) {
      groups.push([run]);
      width = indent + labelWidth(rows) + added;
    } else {
      current.push(run);
      width += added;
    }
  }
  return groups;
}

/** One group as plain-text lines: a header of policy names, then the rows, numbers right-aligned. */
export function textTable(runs: readonly RunResult[], rows: readonly MetricRow[], indent: string): string[] {
  const label = labelWidth(rows);
  const widths = runs.map((run) => columnWidth(run, rows));
  const line = (first: string, cells: readonly string[]) => `${indent}${first.padEnd(label)}${cells.map((cell, index) => `${' '.repeat(gap)}${cell.padStart(widths[index] as number)}`).join('')}`.trimEnd();
  return [
    line(
      '',
      runs.map((run) => run.policy),
    ),
    ...rows.map((row) =>
      line(
        row.label,
        runs.map((run) => row.cell(run)),
      ),
    ),
  ];
}

/** All runs in one GFM table. */
export function markdownRows(runs: readonly RunResult[], rows: readonly MetricRow[]): string[] {
  return markdownTable(
    ['', ...runs.map((run) => escapeMarkdown(run.policy))],
    rows.map((row) => [escapeMarkdown(row.label), ...runs.map((run) => escapeMarkdown(row.cell(run)))]),
    ['left', ...runs.map((): Alignment => 'right')],
  );
}
