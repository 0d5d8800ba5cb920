/**
 * The what-if section of the HTML report (`compare --format html`): what the workload is, then
 * per host a table with a column per policy and the rows of the text and Markdown tables
 * (src/report/whatif/words.ts), would-have findings counted, and the hosts skipped. Every
 * number is what would have happened, not what the trace shows.
 */
import type { CompareResult } from '../../whatif/compare.js';
import type { RunResult } from '../../whatif/policyRun.js';
import { assignText, hostText, metricRows, runsByHost, workloadText } from '../whatif/words.js';
import { escapeHtml as e } from './escape.js';

function hostTable(title: string, runs: readonly RunResult[]): string {
  const head = `<tr><th></th>${runs.map((run) => `<th>${e(run.policy)}</th>`).join('')}</tr>`;
  const rows = metricRows.map((row) => `<tr><th>${e(row.label)}</th>${runs.map((run) => `<td class="num">${e(row.cell(run))}</td>`).join('')}</tr>`);
  return `<table class="what-if"><caption>${e(title)}</caption><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

export function whatIfSection(result: CompareResult): string {
  const tables = runsByHost(result.runs).map(({ host, runs }) => hostTable(`${hostText(host)}${runs[0]?.sweptBtm === undefined ? '' : `, BTM ${runs[0].sweptBtm ? 'on' : 'off'}`}`, runs));
  const skipped = result.skipped.map((run) => `<li>${e(run.policy)} on ${e(hostText(run.host))}: ${e(run.why)}</li>`).join('');
  return `<section id="what-if"><h2>What if</h2>
<p>Every number below is what would have happened under each policy on this trace's workload, not what the trace shows; <code>compare --format text</code> lists the would-have findings and, with <code>--diff</code>, where two policies differ.</p>
<ul class="facts"><li>traced host: ${e(hostText(result.tracedHost))}</li><li>workload: ${e(workloadText(result))}</li><li>devices: ${e(assignText(result))}</li></ul>
${tables.join('\n')}
${skipped === '' ? '' : `<p>Skipped (no such host can boot):</p><ul>${skipped}</ul>`}
</section>`;
}
