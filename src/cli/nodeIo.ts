/** The real process's I/O, for the `vmid-replay` binary and scripts. */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CliIo } from './io.js';

/**
 * `mkdir -p`, one folder at a time. Node's own `mkdir(path, { recursive: true })` never settles
 * when an existing parent refuses a child with ENOENT, as /proc does (`--out /proc/reports`): it
 * takes ENOENT for a missing parent, "creates" the parent (EEXIST) and tries again forever. Here
 * a folder whose parent exists is tried once, and its error is the answer.
 */
async function makeDirs(path: string): Promise<void> {
  try {
    await mkdir(path);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(path)).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(path) === path) throw error;
  }
  await makeDirs(dirname(path));
  try {
    await mkdir(path);
  } catch (error) {
    // Made by someone else meanwhile: as good.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(path)).isDirectory()) throw error;
  }
}

export function nodeIo(): CliIo {
  return {
    stdin: process.stdin,
    writeOut: (text) => process.stdout.write(text),
    writeErr: (text) => process.stderr.write(text),
    writeFile: (path, content) => writeFile(path, content),
    makeDir: makeDirs,
    readText: (path) => readFile(path, 'utf8'),
    stderrIsTty: process.stderr.isTTY,
    // https://no-color.org: set to anything but the empty string, it turns colour off.
    stdoutColour: process.stdout.isTTY && (process.env['NO_COLOR'] ?? '') === '',
    fileSize: async (path) => (path === '-' ? undefined : stat(path).then((info) => info.size, () => undefined)),
    fileIdentity: async (path) => stat(path, { bigint: true }).then((info) => `${info.dev}:${info.ino}`, () => undefined),
    now: () => performance.now(),
    openWritable: (path) => (path === '-' ? process.stdout : createWriteStream(path)),
  };
}
