/**
 * Probe sets the tool knows, each read by a probe map shipped in the package's `traces/`
 * folder. A capture analysed without `--map` whose unrecognised probes are one of these sets
 * is told which map reads it: its probe names alone prove little (`update` is a common name),
 * but names at the same functions and in-function offsets as a known set are that set.
 *
 * The lines that recognise the 6.1 set, as the tool sees them without a map:
 *   vmchurn-225 [000] d.... 17.688301: update_ret: (kvm_arm_vmid_update+0xc4/0x46c) vmid=0xffff80000a0259c8 id=65537 ...
 *   vmchurn-225 [000] d.... 17.688305: after_update: (kvm_pmu_flush_hwstate+0x0/0x24) vcpu=0xffff00000a3d8000 mmu=0xffff80000a0259c8 id=65537
 */
import type { ProbeLocation } from './probeBody.js';

interface KnownProbe {
  readonly name: string;
  readonly func: string;
  readonly offset: number;
  /**
   * The function's size, for a probe inside a function: an offset means the same instruction
   * only in the same build, and the size printed beside it (`/0x46c`) tells builds apart.
   */
  readonly size?: number;
}

export interface KnownProbeSet {
  /** What `--map` accepts for it (the CLI resolves it to `file` in the package). */
  readonly mapName: string;
  /** The map, relative to the package root. */
  readonly file: string;
  /** Whose probes these are, for messages ("--map NAME reads these probes, <description>"). */
  readonly description: string;
  readonly probes: readonly KnownProbe[];
}

export const knownProbeSets: readonly KnownProbeSet[] = [
  {
    mapName: 'captures-6.1',
    file: 'traces/captures-6.1.map.json',
    description: 'those of the real 6.1 captures (Debian 6.1.0-56-arm64)',
    probes: [
      // Portable: function entries, the same on any build.
      { name: 'update', func: 'kvm_arm_vmid_update', offset: 0 },
      { name: 'clear_active', func: 'kvm_arm_vmid_clear_active', offset: 0 },
      { name: 'after_update', func: 'kvm_pmu_flush_hwstate', offset: 0 },
      { name: 'vcpu_load', func: 'kvm_arch_vcpu_load', offset: 0 },
      { name: 'vcpu_put', func: 'kvm_arch_vcpu_put', offset: 0 },
      { name: 'init_vm', func: 'kvm_arch_init_vm', offset: 0 },
      { name: 's2_init', func: 'kvm_init_stage2_mmu', offset: 0 },
      { name: 'destroy_vm', func: 'kvm_arch_destroy_vm', offset: 0 },
      { name: 'free_s2', func: 'kvm_free_stage2_pgd', offset: 0 },
      // Full: inside kvm_arm_vmid_update() of that build only.
      { name: 'rollover', func: 'kvm_arm_vmid_update', offset: 0x28c, size: 0x46c },
      { name: 'new_alloc', func: 'kvm_arm_vmid_update', offset: 0x2f0, size: 0x46c },
      { name: 'new_keep', func: 'kvm_arm_vmid_update', offset: 0x3d8, size: 0x46c },
      { name: 'update_slow', func: 'kvm_arm_vmid_update', offset: 0xc0, size: 0x46c },
      { name: 'update_ret', func: 'kvm_arm_vmid_update', offset: 0xc4, size: 0x46c },
    ],
  },
];

/** A dynamic event the decoder could not give a meaning: its name and where it was probed. */
export interface SeenProbe {
  readonly name: string;
  readonly location: ProbeLocation;
}

/** How many of a set's probes must be seen, by name and place, before its map is named. */
const probesToRecognise = 3;

function sameProbe(known: KnownProbe, location: ProbeLocation): boolean {
  if (location.isReturn || known.func !== location.func || known.offset !== location.offset) return false;
  return known.size === undefined || known.size === location.size;
}

/**
 * The known sets whose maps read these probes: at least three of them are the set's (name,
 * function, offset, and size for an in-function probe), and none of the set's names was seen
 * at another place (another build, or someone else's probe of that name).
 */
export function probeSetsFitting(seen: readonly SeenProbe[]): KnownProbeSet[] {
  return knownProbeSets.filter((set) => {
    let matched = 0;
    for (const probe of seen) {
      const known = set.probes.find((candidate) => candidate.name === probe.name);
      if (known === undefined) continue;
      if (!sameProbe(known, probe.location)) return false;
      matched += 1;
    }
    return matched >= probesToRecognise;
  });
}

/** The shipped map `--map NAME` stands for, if NAME is one. */
export function shippedProbeMap(name: string): KnownProbeSet | undefined {
  return knownProbeSets.find((set) => set.mapName === name);
}
