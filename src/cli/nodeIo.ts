/** The real process's I/O, for the `vmid-replay` binary and scripts. */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { CliIo } from './io.js';

export function nodeIo(): CliIo {
  return {
    stdin: process.stdin,
    writeOut: (text) => process.stdout.write(text),
    writeErr: (text) => process.stderr.write(text),
    writeFile: (path, content) => writeFile(path, content),
    makeDir: async (path) => {
      await mkdir(path, { recursive: true });
    },
    readText: (path) => readFile(path, 'utf8'),
    stderrIsTty: process.stderr.isTTY,
    fileSize: async (path) => (path === '-' ? undefined : stat(path).then((info) => info.size, () => undefined)),
    now: () => performance.now(),
    openWritable: (path) => (path === '-' ? process.stdout : createWriteStream(path)),
  };
}
