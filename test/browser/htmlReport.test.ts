/**
 * The HTML report in a real browser (Debian's Chromium, headless, test/helpers/browser.ts):
 * the lanes and finding markers render, a click on a marker shows its finding's explanation,
 * zooming changes the visible range, nothing is logged as an error, nothing is requested but
 * the page itself, and task names holding markup show as text. A screenshot is kept in
 * test-artifacts/ (git-ignored) for a person to look at.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { runCli } from '../helpers/cli.js';
import { chromiumMissing, launchChromium, type Browser } from '../helpers/browser.js';
import { hostileTask, writeHostileTrace } from '../helpers/hostileTrace.js';

const dir = mkdtempSync(join(tmpdir(), 'vmid-browser-'));
let browser: Browser;

// Skipped, saying why, only on a machine without Debian's chromium: CI installs it.
const skip = chromiumMissing ?? false;

before(async () => {
  if (skip === false) browser = await launchChromium();
});
after(async () => {
  if (skip === false) await browser.close();
});

async function htmlOf(trace: string, name: string): Promise<string> {
  const result = await runCli(['analyze', trace, '--format', 'html']);
  assert.ok(result.code <= 2, result.stderr);
  const path = join(dir, name);
  writeFileSync(path, result.stdout);
  return pathToFileURL(path).href;
}

interface Watched {
  readonly page: Page;
  readonly errors: string[];
  readonly foreignRequests: string[];
  readonly dialogs: string[];
}

/** The page, with every console error, page error, dialog and request to anything but itself recorded (and such requests refused). */
async function open(url: string): Promise<Watched> {
  const page = await browser.context.newPage();
  const watched: Watched = { page, errors: [], foreignRequests: [], dialogs: [] };
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') watched.errors.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => watched.errors.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    watched.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    watched.foreignRequests.push(route.request().url());
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  return watched;
}

function assertQuiet(watched: Watched): void {
  assert.deepEqual(watched.errors, [], 'no console errors');
  assert.deepEqual(watched.foreignRequests, [], 'no request but the page itself');
  assert.deepEqual(watched.dialogs, [], 'no dialog');
}

test('mixed-hazards: lanes and markers render, a marker opens its explanation, zoom narrows the range', { skip }, async () => {
  const watched = await open(await htmlOf('traces/mixed-hazards.trace', 'mixed-hazards.html'));
  const page = watched.page;
  const labels = await page.locator('#timeline text.lane-label').allTextContents();
  // The trace runs VMs on CPUs 0..3 and binds STEs of smmu0 (traces/README.md).
  for (const lane of ['findings', 'rollovers', 'CPU 0', 'CPU 1', 'CPU 2', 'CPU 3', 'smmu0 SID 0x201', 'pinned VMIDs / max']) assert.ok(labels.includes(lane), `${lane} in ${labels.join(', ')}`);
  assert.ok((await page.locator('#timeline rect.cell').count()) > 20, 'cells in the lanes');
  // The STEs bound for most of the trace are wide enough to be named in their lane.
  assert.ok((await page.locator('#timeline text.cell-label').allTextContents()).some((label) => /^s2 VMID \d+/.test(label)), 'a stretch named by its binding');
  const markers = page.locator('#timeline path.marker');
  assert.ok((await markers.count()) > 0, 'finding markers');
  assert.equal(await page.locator('#explanation').isVisible(), false);

  const first = markers.first();
  const indexes = ((await first.getAttribute('data-findings')) ?? '').split(',');
  assert.ok(indexes.length > 0 && indexes[0] !== '');
  const explanation = await page.locator(`#finding-${indexes[0]} ol.explanation li`).first().textContent();
  assert.ok(explanation !== null && explanation.length > 10);
  await first.click();
  const panel = page.locator('#explanation');
  assert.equal(await panel.isVisible(), true);
  assert.ok(((await panel.textContent()) ?? '').includes(explanation), 'the panel shows the finding\'s explanation');
  // Every check names the finding's parties (src/steps/findingParts.ts): the panel shows them too.
  assert.equal(await panel.locator('table.parties').first().isVisible(), true, 'the panel shows the parties');

  const viewOf = async () => ({ from: Number(await page.locator('#timeline').getAttribute('data-view-from')), to: Number(await page.locator('#timeline').getAttribute('data-view-to')) });
  const whole = await viewOf();
  const wholeText = await page.locator('#view-range').textContent();
  await page.locator('#zoom-in').click();
  const zoomed = await viewOf();
  assert.ok(Math.abs(zoomed.to - zoomed.from - (whole.to - whole.from) / 2) < 1e-6, `zoom in halves the range: ${JSON.stringify([whole, zoomed])}`);
  assert.notEqual(await page.locator('#view-range').textContent(), wholeText);
  await page.locator('#pan-right').click();
  const panned = await viewOf();
  assert.ok(panned.from > zoomed.from && Math.abs(panned.to - panned.from - (zoomed.to - zoomed.from)) < 1e-6, 'pan keeps the width and moves the range');
  await page.locator('#timeline').hover({ position: { x: 500, y: 60 } });
  await page.mouse.wheel(0, -400);
  const wheeled = await viewOf();
  assert.ok(wheeled.to - wheeled.from < panned.to - panned.from, 'the wheel zooms in');
  await page.locator('#zoom-reset').click();
  assert.deepEqual(await viewOf(), whole);

  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: join('test-artifacts', 'html-report-mixed-hazards.png'), fullPage: true });
  assertQuiet(watched);
  await page.close();
});

test('task names holding markup show as text: no script of theirs runs, no element of theirs exists', { skip }, async () => {
  const watched = await open(await htmlOf(writeHostileTrace(dir), 'hostile.html'));
  const page = watched.page;
  assert.equal(await page.locator('script').count(), 2, "the page's own two scripts only");
  assert.equal(await page.locator('b').count(), 0, "the file name's <b> is no element");
  assert.ok((await page.locator('h1').innerText()).includes('hostile<b>&"\'.trace'), 'the file name, as it was');
  await page.locator('#timeline path.marker').first().click();
  assert.ok((await page.locator('#explanation').innerText()).includes(hostileTask), 'the witness line shows the task name as it was');
  assertQuiet(watched);
  await page.close();
});
