import { Readable, Writable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { nodeIo } from '../../src/cli/nodeIo.js';
import { run } from '../../src/cli/run.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** What the command wrote, by path (in memory only; see `CliOptions.disk`). */
  readonly files: ReadonlyMap<string, string>;
}

export interface CliOptions {
  /** Pretend stderr is a terminal (progress is drawn). */
  readonly stderrIsTty?: boolean;
  /** Pretend stdout is a terminal that takes colour. */
  readonly stdoutColour?: boolean;
  /** What fileSize() answers for every path. */
  readonly fileSize?: number;
  /** How far the fake clock moves at each now() call, in ms. */
  readonly tickMs?: number;
  /** Write files and folders on disk, as the binary does (to see real write failures), instead of in memory. */
  readonly disk?: boolean;
}

/** Runs the CLI in-process with captured output and, unless `disk`, an in-memory file system for what it writes. */
export async function runCli(argv: readonly string[], stdinText = '', options: CliOptions = {}): Promise<CliResult> {
  let clock = 0;
  let stdout = '';
  let stderr = '';
  const files = new Map<string, string>();
  const disk = options.disk === true;
  const real = nodeIo();
  const code = await run(argv, {
    stdin: Readable.from([Buffer.from(stdinText)]),
    writeOut: (text) => {
      stdout += text;
    },
    writeErr: (text) => {
      stderr += text;
    },
    writeFile: async (path, content) => {
      if (disk) await real.writeFile(path, content);
      else files.set(path, content);
    },
    makeDir: async (path) => {
      if (disk) await real.makeDir(path);
    },
    readText: (path) => readFile(path, 'utf8'),
    stderrIsTty: options.stderrIsTty ?? false,
    stdoutColour: options.stdoutColour ?? false,
    fileSize: async () => options.fileSize,
    fileIdentity: (path) => real.fileIdentity(path),
    now: () => (clock += options.tickMs ?? 0),
    openWritable: (path) => {
      if (disk && path !== '-') return real.openWritable(path);
      const parts: Buffer[] = [];
      return new Writable({
        write(chunk: Buffer, _encoding, done) {
          parts.push(Buffer.from(chunk));
          done();
        },
        final(done) {
          const text = Buffer.concat(parts).toString('utf8');
          if (path === '-') stdout += text;
          else files.set(path, text);
          done();
        },
      });
    },
  });
  return { code, stdout, stderr, files };
}
