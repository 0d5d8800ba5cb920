import type { Readable, Writable } from 'node:stream';

/** Everything the CLI touches outside itself, so tests can run it in-process. */
export interface CliIo {
  readonly stdin: Readable;
  writeOut(text: string): void;
  writeErr(text: string): void;
  writeFile(path: string, content: string): Promise<void>;
  makeDir(path: string): Promise<void>;
  /** A small text file (a probe map), whole. */
  readText(path: string): Promise<string>;
  /** A stream to a file, for output too large to build in memory (`-` is stdout). */
  openWritable(path: string): Writable;
  /** Whether stderr is a terminal (progress is drawn only there). */
  readonly stderrIsTty: boolean;
  /** Whether stdout is a terminal that takes colour (and NO_COLOR is unset): reports are coloured only there. */
  readonly stdoutColour: boolean;
  /** Size of a file in bytes, undefined for stdin or when unknown (for the ETA). */
  fileSize(path: string): Promise<number | undefined>;
  /** Device and inode of an existing file (links to it included), undefined when it does not exist. */
  fileIdentity(path: string): Promise<string | undefined>;
  /** Milliseconds, monotonic. */
  now(): number;
}
