/**
 * The files commands write: a failure names the path and the system's reason (exit 73, never
 * an internal error), and no output may be one of the command's own inputs.
 */
import { resolve } from 'node:path';
import { VmidReplayError } from '../errors.js';
import type { CliIo } from './io.js';

/** An output that cannot be created or written: EACCES, EROFS, ENOSPC, ENOTDIR (a file where a folder should be) ... */
export function unwritableOutput(path: string, error: unknown): VmidReplayError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new VmidReplayError('OUTPUT_UNWRITABLE', `cannot write the output (${reason})`, { file: path });
}

export async function writeOutputFile(io: CliIo, path: string, content: string): Promise<void> {
  try {
    await io.writeFile(path, content);
  } catch (error) {
    throw unwritableOutput(path, error);
  }
}

export async function makeOutputDir(io: CliIo, path: string): Promise<void> {
  try {
    await io.makeDir(path);
  } catch (error) {
    throw unwritableOutput(path, error);
  }
}

/** What makes two paths one file: the same path once resolved, or (existing) the same device and inode, as a symbolic or hard link has. */
async function identify(io: CliIo, path: string): Promise<{ readonly path: string; readonly resolved: string; readonly id: string | undefined }> {
  return { path, resolved: resolve(path), id: await io.fileIdentity(path) };
}

/**
 * Refuses (a usage error, before anything is written) when an output is one of the inputs:
 * opening it for writing would empty it before it was read (`convert X -o X`).
 */
export async function refuseToOverwriteInputs(io: CliIo, outputs: readonly string[], inputs: readonly string[]): Promise<void> {
  const inputFiles = await Promise.all(inputs.filter((input) => input !== '-').map((input) => identify(io, input)));
  for (const output of outputs) {
    if (output === '-') continue;
    const file = await identify(io, output);
    const input = inputFiles.find((candidate) => candidate.resolved === file.resolved || (file.id !== undefined && file.id === candidate.id));
    if (input !== undefined) {
      throw new VmidReplayError('USAGE', `refusing to write: this output is the input ${JSON.stringify(input.path)} (the same file), which writing would empty before it is read`, { file: output });
    }
  }
}
