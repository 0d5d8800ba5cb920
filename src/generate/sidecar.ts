/**
 * The sidecar: a JSON document next to a generated trace that says what was injected and
 * where the analyzer must report it. Written as the trace is, a hazard at a time, so a
 * benchmark-sized trace with injections at a rate never holds its hazard list in memory.
 *
 *   { "tool": "vmid-replay generate", "format": 1, "seed": 7, "command": "...", "options": {...},
 *     "faults": { "leak-pin": { "checks": ["pin-leaked"], "summary": "..." } },
 *     "hazards": [ { "id": 1, "fault": "leak-pin", "expected": [{ "check": "pin-leaked", "line": 812 }],
 *                    "inconclusive": false, "firstLine": 801, "lastLine": 812, "detail": "..." } ],
 *     "losses": [ { "line": 4000, "cpu": 2, "count": 37 } ],
 *     "summary": { "lines": 9000, "bytes": 1200000, "hazards": 1, "expectedFindings": 1, ... } }
 */
import type { InjectedHazard } from './episodes.js';

export class SidecarWriter {
  private parts: string[] = [];
  private pending = 0;
  private hazards = 0;

  constructor(head: Readonly<Record<string, unknown>>) {
    this.push(`${JSON.stringify(head, null, 2).replace(/\n}$/, '')},\n  "hazards": [`);
  }

  private push(text: string): void {
    this.parts.push(text);
    this.pending += text.length;
  }

  get pendingBytes(): number {
    return this.pending;
  }

  /** `inconclusive`: a lost-event burst came before the episode. */
  hazard(hazard: InjectedHazard, inconclusive: boolean): void {
    this.hazards += 1;
    const entry = { id: this.hazards, fault: hazard.fault, expected: hazard.expected, inconclusive, firstLine: hazard.firstLine, lastLine: hazard.lastLine, detail: hazard.detail };
    this.push(`${this.hazards === 1 ? '' : ','}\n    ${JSON.stringify(entry)}`);
  }

  take(): string {
    const text = this.parts.join('');
    this.parts = [];
    this.pending = 0;
    return text;
  }

  /** Closes the hazard list and the document. */
  finish(tail: Readonly<Record<string, unknown>>): void {
    this.push(`${this.hazards === 0 ? '' : '\n  '}],${JSON.stringify(tail, null, 2).slice(1)}\n`);
  }
}
