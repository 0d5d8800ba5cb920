/**
 * A trace as `per_cpu/cpuN/trace` files pasted one after another: each CPU's event lines in
 * their own order, one CPU after the other, each file with the trace's header block in front
 * (as tracefs prints one per file). Event lines are matched to their CPU by the `[NNN]` column.
 */

export interface PerCpuConcatenation {
  readonly text: string;
  /** Input line (1-based) → the line of the original trace it is a copy of; 0 is unused. */
  readonly originalLine: readonly number[];
  /** Input line (1-based) where each CPU's file starts, in file order. */
  readonly fileStarts: readonly number[];
  /** The CPUs in file order. */
  readonly cpus: readonly number[];
}

const cpuOf = (line: string): number | undefined => {
  const match = /\[(\d+)\]/.exec(line);
  return match === null ? undefined : Number(match[1]);
};

/** `text` split by CPU; CPUs in ascending order unless `order` says otherwise. */
export function concatenatePerCpu(text: string, order: 'ascending' | 'descending' = 'ascending'): PerCpuConcatenation {
  const lines = text.replace(/\n$/, '').split('\n');
  const headerCount = lines.findIndex((line) => !line.startsWith('#'));
  const byCpu = new Map<number, number[]>();
  for (let i = headerCount; i < lines.length; i++) {
    const cpu = cpuOf(lines[i] as string);
    if (cpu === undefined) throw new Error(`line ${i + 1} has no CPU column`);
    const list = byCpu.get(cpu) ?? [];
    list.push(i);
    byCpu.set(cpu, list);
  }
  const cpus = [...byCpu.keys()].sort((a, b) => (order === 'ascending' ? a - b : b - a));
  const out: string[] = [];
  const originalLine = [0];
  const fileStarts: number[] = [];
  for (const cpu of cpus) {
    fileStarts.push(out.length + 1);
    for (let i = 0; i < headerCount; i++) {
      out.push(lines[i] as string);
      originalLine.push(i + 1);
    }
    for (const i of byCpu.get(cpu) as number[]) {
      out.push(lines[i] as string);
      originalLine.push(i + 1);
    }
  }
  return { text: `${out.join('\n')}\n`, originalLine, fileStarts, cpus };
}
