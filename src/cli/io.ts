import type { Readable } from 'node:stream';

/** Everything the CLI touches outside itself, so tests can run it in-process. */
export interface CliIo {
  readonly stdin: Readable;
  writeOut(text: string): void;
  writeErr(text: string): void;
  writeFile(path: string, content: string): Promise<void>;
  makeDir(path: string): Promise<void>;
}
