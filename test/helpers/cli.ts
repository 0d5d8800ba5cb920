import { Readable, Writable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { run } from '../../src/cli/run.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly files: ReadonlyMap<string, string>;
}

/** Runs the CLI in-process with captured output and an in-memory file system for --out. */
export async function runCli(argv: readonly string[], stdinText = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const files = new Map<string, string>();
  const code = await run(argv, {
    stdin: Readable.from([Buffer.from(stdinText)]),
    writeOut: (text) => {
      stdout += text;
    },
    writeErr: (text) => {
      stderr += text;
    },
    writeFile: async (path, content) => {
      files.set(path, content);
    },
    makeDir: async () => {},
    readText: (path) => readFile(path, 'utf8'),
    openWritable: (path) => {
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
