/**
 * Issue 17's bench row: how long the HTML report of the largest real capture takes to render
 * in a browser (target: under 2 s), Debian's Chromium driven by playwright-core as in the
 * browser test. The render time is the page's own navigation timing, from navigation start to
 * the end of its load event (the inline script has drawn the timeline by then); the analysis
 * that wrote the page is timed beside it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const chromiumPath = '/usr/bin/chromium';
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const htmlRenderTargetSeconds = 2;

export interface HtmlRenderRow {
  readonly trace: string;
  readonly htmlKiB: number;
  readonly analyzeSeconds: number;
  /** The best of a few loads (the first pays for the browser's own start). */
  readonly renderSeconds: number;
}

/** The largest of `files`, by size on disk. */
export function largest(files: readonly string[]): string | undefined {
  return [...files].sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

export async function timeHtmlRender(cli: string, trace: string, args: readonly string[], loads = 3): Promise<HtmlRenderRow | string> {
  if (!existsSync(chromiumPath)) return `skipped: ${chromiumPath} is missing (apt-get install chromium)`;
  const dir = mkdtempSync(join(tmpdir(), 'vmid-bench-html-'));
  try {
    const started = performance.now();
    const analyzed = spawnSync(process.execPath, [cli, 'analyze', trace, ...args, '--out', dir, '--exit-zero', '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const analyzeSeconds = (performance.now() - started) / 1000;
    const page = join(dir, `${trace.split('/').at(-1)?.replace(/\.gz$/, '') ?? ''}.html`);
    if (analyzed.status !== 0 || !existsSync(page)) return `skipped: analyze ${trace} failed`;
    const context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: chromiumPath, headless: true, args: flags, viewport: { width: 1400, height: 900 } });
    let best = Infinity;
    try {
      for (let i = 0; i < loads; i++) {
        const tab = await context.newPage();
        await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
        // A string: the page's navigation timing, which Node's types do not describe.
        const loadEnd = Number(await tab.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"));
        best = Math.min(best, loadEnd / 1000);
        await tab.close();
      }
    } finally {
      await context.close();
    }
    return { trace, htmlKiB: statSync(page).size / 1024, analyzeSeconds, renderSeconds: best };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
