/**
 * The HTML report: one self-contained page (inline CSS, script and SVG; its Content Security
 * Policy lets it load nothing), deterministic (same report, same bytes). It shows the summary,
 * the timeline when the report carries one (a lane per CPU and per SMMU stream, rollovers, the
 * pinned-VMID count against max_pinned_vmids, finding markers that open their explanation,
 * zoom and pan), the findings, each VM's VMID history, and the what-if tables when the caller
 * computed a comparison (`compare --format html`).
 */
import type { ErrorDescription } from '../../errors.js';
import type { Report } from '../report.js';
import { escapeHtml as e, jsonForScript } from './escape.js';
import { viewerPayload } from './payload.js';
import { findingsSection, summarySection, vmHistorySection } from './sections.js';
import { reportStyle } from './style.js';
import { viewerScript } from './viewerScript.js';
import { whatIfSection } from './whatIf.js';
import type { CompareResult } from '../../whatif/compare.js';
import type { Timeline } from '../../timeline/types.js';

const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

function timelineSection(report: Report, timeline: Timeline): string {
  const omitted = timeline.streamsOmitted === 0 ? '' : ` ${timeline.streamsOmitted} more SMMU streams are not drawn.`;
  return `<section id="timeline-section"><h2>Timeline</h2>
<p>A lane per CPU (the VM that ran and its VMID, by colour; paler: idle part of the time; hover for the figures) and per SMMU stream (its STE's binding), rollovers, and the pinned-VMID count. Click a marker for its finding; drag to pan, wheel or buttons to zoom.${omitted}</p>
<div class="controls"><button type="button" id="zoom-in">zoom in</button><button type="button" id="zoom-out">zoom out</button><button type="button" id="pan-left">&larr;</button><button type="button" id="pan-right">&rarr;</button><button type="button" id="zoom-reset">whole trace</button><output id="view-range"></output></div>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" tabindex="0" role="img" aria-label="timeline"></svg>
<div id="hover-info"></div>
<div id="explanation" hidden></div>
<script type="application/json" id="timeline-data">${jsonForScript(viewerPayload(report, timeline))}</script>
<script>${viewerScript}</script>
</section>`;
}

/** The page of a report, with its timeline when one was collected (src/timeline) and the what-if tables of a comparison. */
export function renderHtml(report: Report, timeline: Timeline | undefined, whatIf?: CompareResult): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(contentSecurityPolicy)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vmid-replay: ${e(report.file)}</title>
<style>${reportStyle}</style>
</head>
<body>
<h1>vmid-replay: ${e(report.file)}</h1>
${summarySection(report)}
${timeline === undefined ? '' : timelineSection(report, timeline)}
${findingsSection(report)}
${timeline === undefined ? '' : vmHistorySection(timeline)}
${whatIf === undefined ? '' : `${whatIfSection(whatIf)}\n`}</body>
</html>
`;
}

/** What `analyze --out` writes for a trace that could not be analysed, in place of its page. */
export function renderFailedHtml(file: string, error: ErrorDescription): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(contentSecurityPolicy)}">
<title>vmid-replay: ${e(file)}</title>
</head>
<body>
<h1>vmid-replay: ${e(file)}</h1>
<p>error: ${e(error.message)} [${e(error.code)}]</p>
</body>
</html>
`;
}
