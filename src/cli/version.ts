/** The tool's version, for `--version`: what a review quoting a finding should name. */
import { readFileSync } from 'node:fs';

/**
 * The `version` of package.json, three folders up from this module both in the compiled tree
 * (dist/src/cli/) and in the bundle `bin` runs (dist/bundle/cli/); "unknown" if it cannot be
 * read there (the tool still runs).
 */
export function packageVersion(): string {
  try {
    const manifest: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    const version = (manifest as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
