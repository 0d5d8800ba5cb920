/**
 * A count with its noun in agreement ("1 CPU", "2 CPUs"), for every text a user reads:
 * findings, diagnostics, reports and errors.
 */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
