import type { ErrorDescription } from '../errors.js';

/** How an error reads on stderr: `vmid-replay: nope.trace: no such file [INPUT_NOT_FOUND]`; a bug shows its stack. */
export function errorLine(error: ErrorDescription): string {
  return error.code === 'INTERNAL' ? `vmid-replay: internal error: ${error.message}\n` : `vmid-replay: ${error.message} [${error.code}]\n`;
}
