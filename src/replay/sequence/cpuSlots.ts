/**
 * Entries keyed by CPU number, for state a CPU sets and clears every few events (the call it
 * is inside, the update it replayed last). In a Map that costs a rehash each time the map
 * empties (allocation sampling put it at a twentieth of the dense replay's garbage); an array
 * slot costs nothing. Iteration keeps insertion order, as a Map's does, so what is flushed at
 * the end of a trace comes out in the same order.
 */

/** CPU numbers with an array slot; any other number (hostile input) goes to a Map. */
const slotLimit = 4096;

export class CpuSlots<T extends object> {
  private readonly slots: (T | undefined)[] = [];
  /** When each slot's entry was inserted, for iteration in insertion order. */
  private readonly insertedAt: number[] = [];
  private readonly beyond = new Map<number, { value: T; insertedAt: number }>();
  private insertions = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(cpu: number): T | undefined {
    return isSlot(cpu) ? this.slots[cpu] : this.beyond.get(cpu)?.value;
  }

  set(cpu: number, value: T): void {
    if (!isSlot(cpu)) {
      const held = this.beyond.get(cpu);
      if (held !== undefined) held.value = value;
      else {
        this.beyond.set(cpu, { value, insertedAt: this.insertions++ });
        this.count++;
      }
      return;
    }
    while (this.slots.length <= cpu) {
      this.slots.push(undefined);
      this.insertedAt.push(0);
    }
    if (this.slots[cpu] === undefined) {
      this.insertedAt[cpu] = this.insertions++;
      this.count++;
    }
    this.slots[cpu] = value;
  }

  delete(cpu: number): boolean {
    if (!isSlot(cpu)) {
      if (!this.beyond.delete(cpu)) return false;
      this.count--;
      return true;
    }
    if (this.slots[cpu] === undefined) return false;
    this.slots[cpu] = undefined;
    this.count--;
    return true;
  }

  /** The CPUs that have an entry: a set, in no particular order (unlike `values`, nothing to sort). */
  cpus(): Set<number> {
    const cpus = new Set<number>(this.beyond.keys());
    this.slots.forEach((value, cpu) => {
      if (value !== undefined) cpus.add(cpu);
    });
    return cpus;
  }

  /** The entries in the order they were inserted. */
  values(): T[] {
    if (this.count === 0) return [];
    const entries: { value: T; insertedAt: number }[] = [...this.beyond.values()];
    this.slots.forEach((value, cpu) => {
      if (value !== undefined) entries.push({ value, insertedAt: this.insertedAt[cpu] as number });
    });
    return entries.sort((a, b) => a.insertedAt - b.insertedAt).map((entry) => entry.value);
  }

  clear(): void {
    this.slots.fill(undefined);
    this.beyond.clear();
    this.count = 0;
  }
}

function isSlot(cpu: number): boolean {
  return cpu >>> 0 === cpu && cpu < slotLimit;
}
