/**
 * A progress line on stderr for long runs (bytes, events/s, ETA), redrawn at most four times
 * a second; only on a terminal and without --quiet. The text is built by a pure function so
 * it can be tested without a terminal.
 */
import type { CliIo } from './io.js';

const redrawMs = 250;

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

function duration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, '0')}`;
}

/** `traces/big.trace: 412.0 MiB of 1024.0 MiB (40%), 3.1 M events/s, ETA 0:12` */
export function formatProgress(label: string, bytes: number, totalBytes: number | undefined, records: number, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? records / seconds : 0;
  const parts = [`${label}: ${mib(bytes)}`];
  if (totalBytes !== undefined && totalBytes > 0) {
    parts[0] += ` of ${mib(totalBytes)} (${Math.min(100, Math.floor((bytes / totalBytes) * 100))}%)`;
  }
  parts.push(`${(rate / 1e6).toFixed(1)} M events/s`);
  if (totalBytes !== undefined && bytes > 0 && seconds > 0 && bytes < totalBytes) {
    parts.push(`ETA ${duration(((totalBytes - bytes) / bytes) * seconds)}`);
  }
  return parts.join(', ');
}

export class ProgressLine {
  private lastDraw = -Infinity;
  private shown = false;
  private readonly started: number;

  constructor(
    private readonly io: CliIo,
    private readonly label: string,
    private readonly totalBytes: number | undefined,
  ) {
    this.started = io.now();
  }

  update(bytes: number, records: number): void {
    const now = this.io.now();
    if (now - this.lastDraw < redrawMs) return;
    this.lastDraw = now;
    this.shown = true;
    this.io.writeErr(`\r\x1b[K${formatProgress(this.label, bytes, this.totalBytes, records, now - this.started)}`);
  }

  /** Clears the line so the report starts on a clean terminal. */
  done(): void {
    if (this.shown) this.io.writeErr('\r\x1b[K');
    this.shown = false;
  }
}
