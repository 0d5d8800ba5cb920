/**
 * One error class for everything the tool refuses to do, in the manner of csv-parse's
 * `CsvError` and commander's `CommanderError`: a published code, a message that says what
 * was expected, what was found and where, and the exit code the CLI should use.
 */

/**
 * Exit codes of the CLI; verdict codes first, then failures (sysexits.h numbering). A trace
 * with nothing to replay is a failure, but it sits beside the verdicts because it answers the
 * same question, "what did the tool conclude about this host?", with "nothing": a script that
 * treats 0 as a clean host must never get 0 for it, and sysexits has no code that means it.
 */
export const ExitCode = {
  ok: 0,
  findings: 1,
  inconclusive: 2,
  noEvents: 3,
  usage: 64,
  badInput: 65,
  noInput: 66,
  internal: 70,
  /** An output file or folder that cannot be created or written (EX_CANTCREAT): read-only, full, not a folder. */
  cantCreate: 73,
  /** stdout was closed before the output was written (128 + SIGPIPE, as the shell shows a tool SIGPIPE killed). */
  brokenPipe: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'USAGE'
  | 'INPUT_NOT_FOUND'
  | 'INPUT_UNREADABLE'
  /** The input opened but its bytes are not what they claim: a corrupt or truncated gzip or MessagePack file. */
  | 'INPUT_CORRUPT'
  | 'MALFORMED_LINE'
  /** The trace held no event the replay could use: empty, not a trace, or a capture read without its map or format. */
  | 'NO_EVENTS'
  | 'CONFIG_MISSING'
  | 'CONFIG_INVALID'
  /** A file or folder the command writes cannot be created or written; the message names it and the system's reason. */
  | 'OUTPUT_UNWRITABLE'
  | 'INTERNAL';

const exitCodeFor: Record<ErrorCode, ExitCode> = {
  USAGE: ExitCode.usage,
  INPUT_NOT_FOUND: ExitCode.noInput,
  INPUT_UNREADABLE: ExitCode.noInput,
  INPUT_CORRUPT: ExitCode.badInput,
  MALFORMED_LINE: ExitCode.badInput,
  NO_EVENTS: ExitCode.noEvents,
  CONFIG_MISSING: ExitCode.usage,
  CONFIG_INVALID: ExitCode.usage,
  OUTPUT_UNWRITABLE: ExitCode.cantCreate,
  INTERNAL: ExitCode.internal,
};

export interface ErrorPosition {
  readonly file: string;
  readonly line?: number;
}

export class VmidReplayError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly position: ErrorPosition | undefined;

  constructor(code: ErrorCode, message: string, position?: ErrorPosition) {
    const where = position === undefined ? '' : position.line === undefined ? `${position.file}: ` : `${position.file}:${position.line}: `;
    super(`${where}${message}`);
    this.name = 'VmidReplayError';
    this.code = code;
    this.exitCode = exitCodeFor[code];
    this.position = position;
  }
}

/** An error as data: what a worker thread posts, and what `analyze` of several traces reports for a trace that failed. */
export interface ErrorDescription {
  readonly code: ErrorCode;
  readonly message: string;
  readonly exitCode: ExitCode;
}

/** A tool error keeps its code and exit code; anything else is internal, with its stack. */
export function describeError(error: unknown): ErrorDescription {
  if (error instanceof VmidReplayError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  return { code: 'INTERNAL', message: (error as Error).stack ?? String(error), exitCode: exitCodeFor.INTERNAL };
}

/** Any error as a worker thread posts it to the thread that started it. */
export function postableError(error: unknown): { readonly type: 'error' } & ErrorDescription {
  return { type: 'error', ...describeError(error) };
}
