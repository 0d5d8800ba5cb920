/**
 * The unrecognised probes of one trace, each name at each place once, with its lines: what a
 * report says instead of "nothing found", and what names a shipped probe map that reads them.
 */
import type { Diagnostics } from '../../diagnostics.js';
import { probeSetsFitting, type KnownProbeSet, type SeenProbe } from '../../events/knownProbeSets.js';
import type { ProbeLocation } from '../../events/probeBody.js';

interface Place {
  readonly probe: SeenProbe;
  readonly first: { readonly file: string; readonly line: number };
}

/** Distinct places kept; a trace with more probes than this is no known set. */
const placesKept = 256;

export class ProbeInventory {
  private readonly places = new Map<string, Place>();
  private overflowed = false;
  /** Lines of unrecognised probes by event name. */
  readonly linesByName = new Map<string, number>();

  note(name: string, location: ProbeLocation, span: { readonly file: string; readonly line: number }): void {
    this.linesByName.set(name, (this.linesByName.get(name) ?? 0) + 1);
    const key = `${name} ${location.func}+${location.offset}/${location.size ?? ''}${location.isReturn ? ' return' : ''}`;
    if (this.places.has(key)) return;
    if (this.places.size >= placesKept) {
      this.overflowed = true;
      return;
    }
    this.places.set(key, { probe: { name, location }, first: { file: span.file, line: span.line } });
  }

  /** The shipped probe maps that read this trace's probes. */
  fittingMaps(): KnownProbeSet[] {
    if (this.overflowed || this.places.size === 0) return [];
    return probeSetsFitting([...this.places.values()].map((place) => place.probe));
  }

  /** A `probe-map-fits` diagnostic per shipped map that reads these probes, at the first of them. */
  suggestMaps(diagnostics: Diagnostics): void {
    for (const set of this.fittingMaps()) {
      const names = new Set(set.probes.map((probe) => probe.name));
      const first = [...this.places.values()].filter((place) => names.has(place.probe.name)).sort((a, b) => a.first.line - b.first.line)[0];
      if (first === undefined) continue;
      diagnostics.add('probe-map-fits', { file: first.first.file, line: first.first.line, detail: `--map ${set.mapName} reads these probes (${set.file})` });
    }
  }
}
