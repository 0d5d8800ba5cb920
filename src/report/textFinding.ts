/**
 * One finding in the text report, shaped like a lockdep report: a rule, the title (check,
 * severity, what the check finds), the place and message, the parties, the witness lines
 * quoted whole under their `file:line`, the scenario as a CPU/SMMU table, the argument, and
 * what was needed.
 */
import type { Actor, Party, ScenarioStep } from '../steps/findingParts.js';
import type { Finding, Severity, Witness } from '../checks/types.js';
import { mailWidth, prose, table, type Column, type Line, type Tone } from './layout.js';
import { partyDetail, severityTag } from './words.js';

const sectionIndent = '    ';
/** Where a paragraph's later lines start: each paragraph (the message, a step of the argument) stands out by its first line. */
const hanging = '  ';
/** Deeper than anything else, so that a quoted line stands apart from the prose around it. */
const quoteIndent = '        ';
const continuationIndent = '      ';
/** Party names longer than this put their detail on the next line. */
const partyNameWidth = 28;
/** Line numbers listed for folded witnesses before the rest are only counted. */
const foldedLinesShown = 20;

const severityTones: Readonly<Record<Severity, Tone>> = { error: 'error', warning: 'warning', notice: 'notice' };

function partyLines(parties: readonly Party[]): Line[] {
  const width = Math.min(partyNameWidth, Math.max(...parties.map((party) => party.name.length)));
  return parties.flatMap((party) => {
    const detail = partyDetail(party);
    if (detail.length === 0) return [{ text: `${sectionIndent}${party.name}` }];
    const hanging = `${sectionIndent}${' '.repeat(width + 2)}`;
    if (party.name.length > width) return [{ text: `${sectionIndent}${party.name}` }, ...prose(detail, hanging)];
    return prose(detail, `${sectionIndent}${party.name.padEnd(width + 2)}`, hanging);
  });
}

/**
 * Witnesses in trace order, each as `file:line: role` with its line quoted whole below; later
 * witnesses of a role already shown fold into one line under the first, with their count and
 * line numbers (a notice over nine pinned VMs quotes one).
 */
function witnessLines(witnesses: readonly Witness[]): Line[] {
  const byRole = new Map<string, Witness[]>();
  for (const witness of witnesses) {
    const group = byRole.get(witness.role);
    if (group === undefined) byRole.set(witness.role, [witness]);
    else group.push(witness);
  }
  const lines: Line[] = [];
  for (const [role, group] of byRole) {
    const [first, ...more] = group as [Witness, ...Witness[]];
    lines.push(...prose(`${first.ref.file}:${first.ref.line}: ${role}`, sectionIndent, continuationIndent));
    lines.push({ text: `${quoteIndent}${first.ref.text}`, tone: 'quote' });
    if (more.length === 0) continue;
    const shown = more.slice(0, foldedLinesShown).map((witness) => witness.ref.line);
    const rest = more.length - shown.length;
    lines.push(...prose(`${more.length} more ${role}, ${shown.length === 1 ? 'line' : 'lines'} ${shown.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`, continuationIndent));
  }
  return lines;
}

export function actorKey(actor: Actor): string {
  return actor.kind === 'cpu' ? `CPU ${actor.cpu}` : `SMMU ${actor.smmu}`;
}

/** CPUs in number order, then SMMUs by name: lockdep's CPU0, CPU1 columns. */
export function actorsOf(scenario: readonly ScenarioStep[]): string[] {
  const actors = new Map<string, Actor>();
  for (const step of scenario) actors.set(actorKey(step.actor), step.actor);
  return [...actors.values()]
    .sort((a, b) => (a.kind === b.kind ? (a.kind === 'cpu' && b.kind === 'cpu' ? a.cpu - b.cpu : actorKey(a).localeCompare(actorKey(b))) : a.kind === 'cpu' ? -1 : 1))
    .map(actorKey);
}

/** A step's cell: what was missing stands out as lockdep's `*** DEADLOCK ***` does; a consequence follows an arrow. */
export function stepText(step: ScenarioStep): string {
  if (step.kind === 'missing') return `*** ${step.action} ***`;
  if (step.kind === 'consequence') return `=> ${step.action}`;
  return step.action;
}

function scenarioLines(scenario: readonly ScenarioStep[]): Line[] {
  const actors = actorsOf(scenario);
  const lineCell = (step: ScenarioStep) => (step.kind === 'event' ? String(step.line) : '');
  const columns: Column[] = [{ header: 'line', right: true, fixed: true }, ...actors.map((header) => ({ header }))];
  const rows = scenario.map((step) => [lineCell(step), ...actors.map((actor) => (actor === actorKey(step.actor) ? stepText(step) : ''))]);
  const laidOut = table(columns, rows, sectionIndent);
  if (laidOut !== undefined) return laidOut.map((text) => ({ text }));
  // Too many actors for readable columns: one step a line, its actor named.
  const width = Math.max(4, ...scenario.map((step) => lineCell(step).length));
  return scenario.flatMap((step) => prose(`${actorKey(step.actor)}: ${stepText(step)}`, `${sectionIndent}${lineCell(step).padStart(width)}  `, `${sectionIndent}${' '.repeat(width + 2)}`));
}

export function findingLines(finding: Finding, index: number, description: string | undefined): Line[] {
  const tone = finding.inconclusive ? 'inconclusive' : severityTones[finding.severity];
  const lines: Line[] = [{ text: '='.repeat(mailWidth) }, { text: `[${index}] ${finding.checkId} (${severityTag(finding)})`, tone }];
  if (description !== undefined) lines.push(...prose(description, '', hanging));
  lines.push({ text: '-'.repeat(mailWidth) });
  lines.push(...prose(`${finding.file}:${finding.line}: ${finding.message}`, '', hanging));
  const section = (title: string, body: readonly Line[]) => {
    if (body.length > 0) lines.push({ text: '' }, { text: title, tone: 'heading' }, ...body);
  };
  section('parties:', partyLines(finding.parties));
  section('witnesses:', witnessLines(finding.witnesses));
  section('scenario:', finding.scenario.length === 0 ? [] : scenarioLines(finding.scenario));
  if (finding.explanation.length > 0) lines.push({ text: '' }, ...finding.explanation.flatMap((step) => prose(step, '', hanging)));
  if (finding.needed !== undefined) lines.push({ text: '' }, ...prose(`needed: ${finding.needed}`, '', hanging, 'missing'));
  return lines;
}
