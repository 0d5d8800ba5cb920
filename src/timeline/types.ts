/**
 * The timeline of a replay, aggregated into time buckets so that its size depends on the
 * bucket count and the number of lanes, never on the trace's length: what the HTML report
 * draws. Plain data (it crosses worker threads and goes into the report).
 */

/** Who occupied a lane for part of a bucket: a VM under one VMID on a CPU, a binding on an SMMU stream. */
export interface LaneOwner {
  /** Shown to the reader: `VM 0xffff00001000b000, VMID 5`. */
  readonly label: string;
  /** Owners of one group share a colour (the VM, whatever its VMID). */
  readonly group: string;
}

export interface OccupancyCell {
  readonly bucket: number;
  /** Microseconds of the bucket during which the lane was occupied. */
  readonly busyUs: number;
  /** How often the occupant changed in the bucket (loads on a CPU, STE writes on a stream). */
  readonly changes: number;
  /**
   * The owners with the most time, most first, as indexes into `Timeline.owners`. A bucket
   * keeps at most `maxOwnersPerCell` of them: beyond that the least is folded into `otherUs`.
   */
  readonly top: readonly { readonly owner: number; readonly us: number }[];
  readonly otherUs: number;
}

export interface OccupancyLane {
  /** `CPU 3`, `smmu0 SID 0x100`. */
  readonly label: string;
  readonly cells: readonly OccupancyCell[];
}

/** A counter's values within one bucket; a bucket with no sample keeps the value before it. */
export interface CounterCell {
  readonly bucket: number;
  readonly min: number;
  readonly max: number;
  readonly last: number;
}

export interface VmHistoryEntry {
  readonly tsUs: number;
  readonly line: number;
  /** -1 for lines without a CPU. */
  readonly cpu: number;
  /** `VMID 5, generation 3`, `pinned`, `pin refused`, `unpinned`, `destroyed`. */
  readonly what: string;
  /** The trace line, to be quoted (escaped) by renderers. */
  readonly text: string;
}

/** One VM's VMID changes and pin events, not every load: the first and the latest few when there are many. */
export interface VmHistory {
  readonly key: string;
  readonly label: string;
  readonly entries: readonly VmHistoryEntry[];
  /** Entries left out between the first and the latest ones. */
  readonly omitted: number;
  /** Where the kept first entries end, when some were omitted (the latest follow). */
  readonly omittedAfter: number;
}

export interface Timeline {
  /** Start of bucket 0 (the first step's time), in trace microseconds. */
  readonly startUs: number;
  /** Width of every bucket: a power of two, doubled whenever the trace outgrew the buckets. */
  readonly bucketUs: number;
  readonly bucketCount: number;
  /** The last step's time. */
  readonly endUs: number;
  readonly owners: readonly LaneOwner[];
  readonly cpus: readonly OccupancyLane[];
  readonly streams: readonly OccupancyLane[];
  /** Streams not drawn, beyond `maxStreams`. */
  readonly streamsOmitted: number;
  readonly counters: {
    readonly pinnedVmids: readonly CounterCell[];
    readonly generation: readonly CounterCell[];
    readonly liveVms: readonly CounterCell[];
  };
  /** Rollovers per bucket, only buckets that had any. */
  readonly rollovers: readonly { readonly bucket: number; readonly count: number }[];
  readonly vms: readonly VmHistory[];
  /** VMs whose history was not kept, beyond `maxVms`. */
  readonly vmsOmitted: number;
}
