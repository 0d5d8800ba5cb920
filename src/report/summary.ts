import type { Report } from './report.js';

/** The combined summary after several reports: one line per trace, worst verdict first. */
export function renderSummary(reports: readonly Report[]): string {
  const order = { findings: 0, inconclusive: 1, ok: 2 } as const;
  const rows = [...reports]
    .map((report, index) => ({ report, index }))
    .sort((a, b) => order[a.report.verdict] - order[b.report.verdict] || a.index - b.index)
    .map(({ report }) => {
      const conclusive = report.findings.filter((finding) => !finding.inconclusive).length;
      const inconclusive = report.findings.length - conclusive;
      return `  ${report.verdict.padEnd(12)} ${report.file}  (${conclusive} findings${inconclusive > 0 ? `, ${inconclusive} inconclusive` : ''})`;
    });
  return `summary: ${reports.length} traces\n${rows.join('\n')}\n`;
}
