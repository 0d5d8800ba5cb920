/**
 * Debian's Chromium driven by playwright-core, which never downloads a browser of its own:
 * headless, no sandbox (root in CI), nothing in the background that could reach the network,
 * and a fresh profile each time. `.ci/run` installs the `chromium` package when it is missing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Why the browser tests cannot run here, if they cannot: they are skipped saying so. */
export const chromiumMissing = existsSync(chromiumPath) ? undefined : `${chromiumPath} is missing: apt-get install -y --no-install-recommends chromium (.ci/run installs it)`;

export async function launchChromium(): Promise<Browser> {
  if (chromiumMissing !== undefined) throw new Error(chromiumMissing);
  const profile = mkdtempSync(join(tmpdir(), 'vmid-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: flags, viewport: { width: 1400, height: 900 } });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
