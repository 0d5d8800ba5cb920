/**
 * Kernel versions as the capture script compares them: `major.minor.patch`, taken from the
 * start of `uname -r` (`6.1.0-56-arm64`, `6.12.18+`, `6.6.59-1.el9`). The shell side computes
 * the same number (`major * 1000000 + minor * 1000 + patch`) so that the ranges below can be
 * written into the script as plain integer comparisons.
 */

export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** A half-open interval of kernel versions: `from` included, `until` excluded (open when absent). */
export interface VersionInterval {
  readonly from: KernelVersion;
  readonly until?: KernelVersion;
}

export function kernel(major: number, minor: number, patch = 0): KernelVersion {
  return { major, minor, patch };
}

/**
 * Reads the leading `major.minor[.patch]` of a release string; anything after the first
 * character that is neither a digit nor a dot is ignored, as the script does.
 */
export function parseKernelVersion(text: string): KernelVersion | undefined {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?(?:[^0-9.]|$)/.exec(text.trim());
  if (match === null) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3] ?? '0'].map(Number);
  if (major === undefined || minor === undefined || patch === undefined) return undefined;
  // The script packs versions into one integer with three decimal digits per part.
  if (minor > 999 || patch > 999) return undefined;
  return { major, minor, patch };
}

/** The integer the script compares: `6.12.18` is 6012018. */
export function versionCode(version: KernelVersion): number {
  return version.major * 1_000_000 + version.minor * 1_000 + version.patch;
}

export function formatVersion(version: KernelVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}

export function inInterval(version: KernelVersion, interval: VersionInterval): boolean {
  const code = versionCode(version);
  return code >= versionCode(interval.from) && (interval.until === undefined || code < versionCode(interval.until));
}
