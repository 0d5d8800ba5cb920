/** The HTML report's stylesheet, inline: the page loads nothing. */
export const reportStyle = `
:root { color-scheme: light; --error: #c62828; --warning: #ef6c00; --notice: #1565c0; --grid: #e0e0e0; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1em 2em 3em; max-width: 110em; color: #212121; }
h1 { font-size: 1.3em; margin: 0.2em 0; word-break: break-all; }
h2 { font-size: 1.1em; margin-top: 2em; border-bottom: 1px solid var(--grid); }
code { font: 12px/1.3 ui-monospace, monospace; word-break: break-all; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid var(--grid); padding: 2px 6px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { font-size: 1.1em; }
.verdict-findings strong { color: var(--error); }
.verdict-inconclusive strong { color: var(--warning); }
.verdict-ok strong { color: #2e7d32; }
.facts, .notes { margin: 0.3em 0; padding-left: 1.2em; }
.notes { color: var(--warning); }
tr.sev-error td:nth-child(3) { color: var(--error); }
tr.sev-warning td:nth-child(3) { color: var(--warning); }
details.finding { margin: 0.6em 0; padding: 0.3em 0.6em; border-left: 4px solid var(--notice); background: #fafafa; }
details.finding.sev-error { border-color: var(--error); }
details.finding.sev-warning { border-color: var(--warning); }
details.finding.inconclusive { border-style: dashed; }
details.finding summary { cursor: pointer; }
table.scenario td.step-missing { color: var(--error); font-weight: bold; }
table.scenario td.step-consequence { font-style: italic; }
p.needed { font-weight: bold; }
tr.vm th { background: #f5f5f5; }
tr.omitted td { color: #757575; font-style: italic; }
#timeline-section .controls { display: flex; gap: 0.4em; align-items: center; flex-wrap: wrap; margin: 0.4em 0; }
#timeline-section button { font: inherit; padding: 0 0.6em; }
#view-range { font-variant-numeric: tabular-nums; margin-left: 0.6em; }
#timeline { display: block; width: 100%; border: 1px solid var(--grid); background: #fff; cursor: grab; user-select: none; touch-action: none; }
#timeline.panning { cursor: grabbing; }
#timeline .lane-label { font: 11px system-ui, sans-serif; fill: #424242; }
#timeline .cell-label { font: 10px system-ui, sans-serif; fill: #212121; stroke: #fff; stroke-width: 2px; paint-order: stroke; pointer-events: none; }
#timeline .tick { font: 10px system-ui, sans-serif; fill: #616161; }
#timeline .gridline { stroke: var(--grid); }
#timeline .rollover { stroke: #8e24aa; stroke-opacity: 0.35; }
#timeline .rollover-mark { fill: #8e24aa; }
#timeline .marker { cursor: pointer; stroke: #fff; stroke-width: 0.5; }
#timeline .marker.sev-error { fill: var(--error); }
#timeline .marker.sev-warning { fill: var(--warning); }
#timeline .marker.sev-notice { fill: var(--notice); }
#timeline .marker.inconclusive { fill-opacity: 0.45; }
#timeline .pinned { fill: none; stroke: #00695c; stroke-width: 1.5; }
#timeline .pinned-max { stroke: var(--error); stroke-dasharray: 4 3; }
#hover-info { min-height: 1.45em; font-size: 12px; color: #424242; white-space: pre-wrap; }
#explanation { border: 1px solid var(--grid); padding: 0.4em 0.8em; margin: 0.5em 0; background: #fffde7; }
#explanation[hidden] { display: none; }
`;
