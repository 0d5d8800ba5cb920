/**
 * The bench's inputs, made with the project's own generator so every run reads the same bytes:
 * dense (every line an allocator, SMMU or CPU TLBI event: `--noise 0`) and sparse (about 5 %
 * of the lines relevant among `kvm_entry`/`kvm_exit` noise: `--noise 14`). Files are cached in
 * the bench directory by name; generation is deterministic, so a cached file is the same file.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { join } from 'node:path';

export type Density = 'dense' | 'sparse';

/** kvm_entry/kvm_exit pairs per look at a running vCPU; 14 gives about 5 % relevant lines. */
const noiseFor: Record<Density, number> = { dense: 0, sparse: 14 };

export interface BenchTrace {
  readonly density: Density;
  readonly sizeLabel: string;
  readonly text: string;
  readonly gzip: string;
  /** The workload of the same seed as `trace-cmd report` prints it (`generate --style trace-cmd`: its -l shape), to the same size. */
  readonly report: string;
}

function generate(cli: string, out: string, args: readonly string[]): void {
  const all = [cli, 'generate', '--seed', '1', ...args, '--quiet', '--no-sidecar', '-o', `${out}.tmp`];
  const run = spawnSync(process.execPath, all, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) throw new Error(`generate failed: ${all.join(' ')}`);
  renameSync(`${out}.tmp`, out);
}

export async function ensureTrace(cli: string, dir: string, density: Density, sizeLabel: string): Promise<BenchTrace> {
  const text = join(dir, `${density}-${sizeLabel}.trace`);
  const gzip = `${text}.gz`;
  const report = join(dir, `${density}-${sizeLabel}.report`);
  const workload = ['--noise', String(noiseFor[density]), '--size', sizeLabel];
  if (!existsSync(text)) generate(cli, text, workload);
  if (!existsSync(report)) generate(cli, report, [...workload, '--style', 'trace-cmd']);
  if (!existsSync(gzip)) {
    // Level 6 (gzip's default): what a user's `gzip trace` gives.
    await pipeline(createReadStream(text), createGzip({ level: 6 }), createWriteStream(`${gzip}.tmp`));
    renameSync(`${gzip}.tmp`, gzip);
  }
  return { density, sizeLabel, text, gzip, report };
}

/**
 * A trace of a real capture's shape (`generate --probes capture-6.1`: the 6.1 captures' probes,
 * readings, VM churn and noise; docs/generate.md), read as the captures are: with the probe
 * map and `--vmid-bits 8`, the CPU count from its header, no trace clock named.
 */
export function ensureCaptureShaped(cli: string, dir: string, sizeLabel: string, probeMap: string): CaptureTrace {
  const text = join(dir, `capture-shaped-${sizeLabel}.trace`);
  if (!existsSync(text)) generate(cli, text, ['--probes', 'capture-6.1', '--size', sizeLabel]);
  return { name: `capture-shaped ${sizeLabel}`, text, gzip: text, args: ['--vmid-bits', '8', '--map', probeMap] };
}

/** A real capture (../shared/captures), decompressed once into the bench directory. */
export interface CaptureTrace {
  readonly name: string;
  readonly text: string;
  /** The capture as shipped (the generated one has no gzip copy: its `text` again). */
  readonly gzip: string;
  /** What analyze needs to read it: the VMID width (from the folder's name), the CPU count and the probe map. */
  readonly args: readonly string[];
}

/**
 * The real captures in `capturesDir`, if it exists: their own line shapes and probe mix (a
 * third of the lines are kprobes inside functions) exercise paths the generated traces do not.
 */
export async function ensureCaptures(capturesDir: string, dir: string, probeMap: string): Promise<CaptureTrace[]> {
  if (!existsSync(capturesDir)) return [];
  const out: CaptureTrace[] = [];
  for (const name of readdirSync(capturesDir).sort()) {
    const gzip = ['trace.txt.gz', 'trace_pipe.txt.gz'].map((file) => join(capturesDir, name, file)).find((file) => existsSync(file));
    const bits = /(\d+)bit/.exec(name)?.[1];
    if (gzip === undefined || bits === undefined) continue;
    const text = join(dir, `capture-${name}.trace`);
    if (!existsSync(text)) {
      await pipeline(createReadStream(gzip), createGunzip(), createWriteStream(`${text}.tmp`));
      renameSync(`${text}.tmp`, text);
    }
    // Every capture ran on 4 CPUs (captures/README.md); trace_pipe output has no header that says so.
    out.push({ name, text, gzip, args: ['--vmid-bits', bits, '--cpus', '4', '--map', probeMap] });
  }
  return out;
}

/** The largest of the real captures (by its decompressed size): the one whose time start-up weighs least on. */
export async function ensureLargestCapture(capturesDir: string, dir: string, probeMap: string): Promise<CaptureTrace | undefined> {
  const captures = await ensureCaptures(capturesDir, dir, probeMap);
  return captures.reduce<CaptureTrace | undefined>((largest, capture) => (largest === undefined || statSync(capture.text).size > statSync(largest.text).size ? capture : largest), undefined);
}
