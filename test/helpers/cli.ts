import { Readable } from 'node:stream';
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
  });
  return { code, stdout, stderr, files };
}
