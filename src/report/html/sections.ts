/**
 * The HTML report's static parts: the summary, the findings (each a `<details>` block the
 * timeline's markers open, shaped as the text report's: parties, witnesses, scenario,
 * argument, what was needed) and each VM's VMID history. Every string that came from a trace
 * goes through `escapeHtml`.
 */
import type { Finding, Witness } from '../../checks/types.js';
import type { Party, ScenarioStep } from '../../steps/findingParts.js';
import { counted } from '../../plural.js';
import type { Report } from '../report.js';
import { actorKey, actorsOf, stepText } from '../textFinding.js';
import { partyDetail, severityTag } from '../words.js';
import type { Timeline, VmHistory } from '../../timeline/types.js';
import { escapeHtml as e, traceTime } from './escape.js';

export function summarySection(report: Report): string {
  const c = report.config;
  const k = report.costs;
  const config =
    `${c.variant ?? '?'} allocator, ${c.vmidBits ?? '?'}-bit VMIDs, ${c.cpus === null ? '? CPUs' : counted(c.cpus, 'CPU')}` + (c.maxPinnedVmids === null ? '' : `, max_pinned_vmids ${c.maxPinnedVmids}`);
  const smmus = c.smmus.map((smmu) => `<li>SMMU ${e(smmu.name)}: ${smmu.vmidBits}-bit VMIDs, BTM ${smmu.btm ? 'on' : 'off'}</li>`).join('');
  const allocator = `${counted(k.loads, 'load')} (${k.slowLoads} slow path), ${counted(k.rollovers, 'rollover')}, generation ${k.generation ?? '?'}` + (k.nrPinnedAtEnd === null ? '' : `, ${k.nrPinnedAtEnd} pinned at end`);
  const notes: string[] = [];
  if (report.dataLossAt !== null) notes.push(`<li>Data loss from ${e(report.dataLossAt.file)}:${report.dataLossAt.line}: findings after it are inconclusive.</li>`);
  if (report.unreadableFrom !== null) notes.push(`<li>Unreadable lines from ${e(report.unreadableFrom.file)}:${report.unreadableFrom.line}: findings from there on are inconclusive.</li>`);
  if (!report.counts.allEventsAccounted) notes.push('<li>Not every event line is accounted for.</li>');
  const checks = report.checks
    .filter((check) => check.count + check.inconclusive > 0)
    .map((check) => `<tr><td><code>${e(check.id)}</code></td><td class="num">${check.count}</td><td class="num">${check.inconclusive}</td><td>${e(check.description)}</td></tr>`)
    .join('');
  return `<section id="summary">
<p class="verdict verdict-${e(report.verdict)}">verdict: <strong>${e(report.verdict)}</strong></p>
<ul class="facts"><li>config: ${e(config)}</li>${smmus}<li>allocator: ${e(allocator)}</li></ul>
${notes.length === 0 ? '' : `<ul class="notes">${notes.join('')}</ul>`}
${checks === '' ? '<p>No check found anything.</p>' : `<table class="checks"><thead><tr><th>check</th><th>findings</th><th>inconclusive</th><th>finds</th></tr></thead><tbody>${checks}</tbody></table>`}
</section>`;
}

function witnessRows(witnesses: readonly Witness[]): string {
  return witnesses.map((witness) => `<tr><td class="num">${witness.ref.line}</td><td>${e(witness.role)}</td><td><code>${e(witness.ref.text.trim())}</code></td></tr>`).join('');
}

function partiesTable(parties: readonly Party[]): string {
  if (parties.length === 0) return '';
  const rows = parties.map((party) => `<tr><td>${e(party.name)}</td><td>${e(partyDetail(party))}</td></tr>`).join('');
  return `<table class="parties"><thead><tr><th>party</th><th>VMIDs, part</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Lockdep's CPU0/CPU1 table: a column per CPU, then per SMMU, a row per step; what was missing stands out. */
function scenarioTable(scenario: readonly ScenarioStep[]): string {
  if (scenario.length === 0) return '';
  const actors = actorsOf(scenario);
  const rows = scenario.map((step) => {
    const cells = actors.map((actor) => (actor === actorKey(step.actor) ? `<td class="step-${step.kind}">${e(stepText(step))}</td>` : '<td></td>'));
    return `<tr><td class="num">${step.kind === 'event' ? step.line : ''}</td>${cells.join('')}</tr>`;
  });
  return `<table class="scenario"><thead><tr><th>line</th>${actors.map((actor) => `<th>${e(actor)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function findingBlock(finding: Finding, index: number): string {
  const witnesses = finding.witnesses.length === 0 ? '' : `<table class="witnesses"><thead><tr><th>line</th><th>witness</th><th>trace line</th></tr></thead><tbody>${witnessRows(finding.witnesses)}</tbody></table>`;
  const steps = finding.explanation.length === 0 ? '' : `<ol class="explanation">${finding.explanation.map((step) => `<li>${e(step)}</li>`).join('')}</ol>`;
  const needed = finding.needed === undefined ? '' : `<p class="needed">needed: ${e(finding.needed)}</p>`;
  return `<details class="finding sev-${e(finding.severity)}${finding.inconclusive ? ' inconclusive' : ''}" id="finding-${index}">
<summary>[${index}] <code>${e(finding.checkId)}</code> (${e(severityTag(finding))}) at ${e(finding.file)}:${finding.line}, ${traceTime(finding.tsUs)}: ${e(finding.message)}</summary>
${partiesTable(finding.parties)}${witnesses}${scenarioTable(finding.scenario)}${steps}${needed}
</details>`;
}

export function findingsSection(report: Report): string {
  if (report.findings.length === 0) return '<section id="findings"><h2>Findings</h2><p>None.</p></section>';
  const rows = report.findings
    .map((finding, i) => `<tr class="sev-${e(finding.severity)}"><td class="num"><a href="#finding-${i + 1}">${i + 1}</a></td><td><code>${e(finding.checkId)}</code></td><td>${e(finding.severity)}${finding.inconclusive ? ', inconclusive' : ''}</td><td class="num">${finding.line}</td><td>${traceTime(finding.tsUs)}</td><td>${e(finding.message)}</td></tr>`)
    .join('\n');
  return `<section id="findings"><h2>Findings</h2>
<table class="findings"><thead><tr><th>#</th><th>check</th><th>severity</th><th>line</th><th>time</th><th>message</th></tr></thead><tbody>
${rows}
</tbody></table>
${report.findings.map((finding, i) => findingBlock(finding, i + 1)).join('\n')}
</section>`;
}

function historyRows(history: VmHistory): string {
  const rows = history.entries.map(
    (entry) => `<tr><td>${traceTime(entry.tsUs)}</td><td class="num" title="${e(entry.text.trim())}">${entry.line}</td><td class="num">${entry.cpu < 0 ? '' : entry.cpu}</td><td>${e(entry.what)}</td></tr>`,
  );
  if (history.omitted > 0) rows.splice(history.omittedAfter, 0, `<tr class="omitted"><td colspan="4">${counted(history.omitted, 'more entry', 'more entries')} left out</td></tr>`);
  return `<tr class="vm"><th colspan="4">${e(history.label)}</th></tr>\n${rows.join('\n')}`;
}

export function vmHistorySection(timeline: Timeline): string {
  const omitted = timeline.vmsOmitted === 0 ? '' : `<p>${counted(timeline.vmsOmitted, 'more VM')} not listed: histories are kept for the first ${timeline.vms.length} VMs seen.</p>`;
  if (timeline.vms.length === 0) return `<section id="vm-history"><h2>VMID history per VM</h2><p>No VM ran.</p>${omitted}</section>`;
  return `<section id="vm-history"><h2>VMID history per VM</h2>
<p>Each VM's VMID changes and pin events (not every load); hover a line number for the trace line.</p>
<table class="vm-history"><thead><tr><th>time</th><th>line</th><th>CPU</th><th>what</th></tr></thead><tbody>
${timeline.vms.map(historyRows).join('\n')}
</tbody></table>${omitted}</section>`;
}
