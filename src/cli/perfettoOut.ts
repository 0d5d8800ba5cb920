/**
 * Where `analyze` streams Chrome Trace Event JSON (`--format perfetto` on stdout, and
 * `<name>.perfetto.json` under `--out`): the document's head, each trace's events as the
 * replay hands them on (the traces' processes kept apart by pid, so several traces make one
 * valid document), and a tail naming each process's trace and outcome. `displayTimeUnit`
 * comes first, where Perfetto's importer requires it.
 */
import type { Writable } from 'node:stream';
import type { TraceOutcome } from '../report/summary.js';
import { unwritableOutput } from './output.js';

export class PerfettoOut {
  private empty = true;
  private failure: Error | undefined;

  constructor(
    private readonly out: Writable,
    private readonly path: string,
  ) {
    out.on('error', (error) => {
      this.failure ??= error;
    });
    out.write('{"displayTimeUnit":"ms","traceEvents":[\n');
  }

  /** A chunk of events (separated by commas, none at its ends). */
  write(chunk: string): void {
    if (this.failure !== undefined) return;
    this.out.write(this.empty ? chunk : `,\n${chunk}`);
    this.empty = false;
  }

  /**
   * Closes the document with each trace's outcome by pid; an output that failed is an
   * OUTPUT_UNWRITABLE error, except a reader gone from stdout (`| head`), which ends quietly.
   */
  async end(traces: readonly { readonly pid: number; readonly outcome: TraceOutcome }[]): Promise<void> {
    const otherData: Record<string, string> = { tool: 'vmid-replay' };
    for (const { pid, outcome } of traces) {
      otherData[`pid ${pid}`] = 'error' in outcome ? `${outcome.file}: error: ${outcome.error.message} [${outcome.error.code}]` : `${outcome.file}: ${outcome.report.verdict}`;
    }
    if (this.failure === undefined) this.out.write(`\n],\n"otherData":${JSON.stringify(otherData)}}\n`);
    await new Promise<void>((resolve) => {
      if (this.failure !== undefined) return resolve();
      this.out.end((error?: Error | null) => {
        if (error !== undefined && error !== null) this.failure ??= error;
        resolve();
      });
    });
    if (this.failure === undefined || (this.path === '-' && (this.failure as NodeJS.ErrnoException).code === 'EPIPE')) return;
    throw unwritableOutput(this.path, this.failure);
  }
}
