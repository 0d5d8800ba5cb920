import type { CliIo } from './io.js';

/** What a command needs from the CLI around it. */
export interface CommandContext {
  readonly io: CliIo;
  /** The process exit code once the command has run (a verdict, or 0). */
  setExitCode(code: number): void;
}
