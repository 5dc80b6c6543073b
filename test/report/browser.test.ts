// The HTML report in a real browser: Debian's headless Chromium driven by
// playwright-core (never `playwright install`). Reports built by the CLI from
// fixtures are opened from file://, with every network request refused and
// recorded; any console error or page error fails the test. It checks the
// chart and its finding markers, that the findings table lists what `check
// --json` prints, that a click selects the row, highlights its time on the
// chart (zooming to it when outside the view) and shows the message, mapping
// and stack, and saves screenshots to dist/test-output/.
//
// Skipped with a message when /usr/bin/chromium is missing, except under CI
// (CI=true), whose .ci/run installs it: there a missing browser fails.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { Pipeline } from '../../src/pipeline.js';
import { ReportCollector } from '../../src/report/collect.js';
import { loadReportAssets, renderHtml } from '../../src/report/html.js';
import { runDmadebug } from '../helpers/child.js';
import { CHROMIUM, haveChromium, launchChromium } from '../helpers/chromium.js';
import { fixture } from '../helpers/fixtures.js';

const SG = fixture('bug-sync-sg-nents');
const STACK = fixture('bug-unmap-size-stack');
const OUTPUT = join(process.cwd(), 'dist', 'test-output');

if (!haveChromium() && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing under CI: .ci/run installs Debian's chromium (apt-get install chromium)`);
}
const skip = !haveChromium()
  ? `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests`
  : !existsSync(SG) && 'fixtures not found';

interface Opened {
  page: Page;
  /** Console errors, page errors and refused requests, as text. */
  problems: string[];
}

describe('HTML report in Chromium', { skip }, () => {
  let ctx: BrowserContext;
  let close: () => Promise<void>;
  let tmp: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'dmadebug-browser-'));
    mkdirSync(OUTPUT, { recursive: true });
    ({ ctx, close } = await launchChromium({ offline: true }));
  });

  after(async () => {
    await close?.();
    rmSync(tmp, { recursive: true, force: true });
  });

  function report(trace: string, name: string): string {
    const out = join(tmp, `${name}.html`);
    const r = runDmadebug(['report', '-q', trace, '-o', out]);
    assert.equal(r.code, 0, r.err);
    return out;
  }

  async function open(file: string): Promise<Opened> {
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const self = pathToFileURL(file).href;
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url === self) return route.continue();
      problems.push(`request: ${url}`);
      return route.abort();
    });
    await page.goto(self);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
    return { page, problems };
  }

  type Want = { type: string; message: string; ts: string; mapping: { dma_addr: string; direction: string } | null };
  function checkFindings(trace: string): Want[] {
    return runDmadebug(['check', '--json', trace])
      .out.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Want)
      .filter((o) => o.type === 'finding');
  }

  it('shows the chart with markers and the findings; a click highlights the finding', async () => {
    const { page, problems } = await open(report(SG, 'sg'));
    const want = checkFindings(SG);
    assert.equal(want.length, 3);

    // The chart: a canvas, a series per device (and the total), the markers drawn.
    assert.equal(await page.locator('#chart canvas').count(), 1);
    const chart = page.locator('#chart');
    assert.ok(Number(await chart.getAttribute('data-markers')) >= 1);
    const legend = await page.locator('#chart .u-legend .u-series').allTextContents();
    assert.ok(legend.some((s) => s.includes('0000:00:02.0')));
    assert.ok(legend.some((s) => s.includes('0000:00:1f.2')));
    assert.ok(legend.some((s) => s.includes('(all)')));
    // The marker is drawn in the finding's colour on the canvas, at its time.
    // (A string: this file is compiled without the DOM library.)
    const markerRed = await page.evaluate<number>(`(() => {
      const c = document.querySelector('#chart canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let red = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 80 && d[i + 2] < 80) red++;
      return red;
    })()`);
    assert.ok(markerRed > 10, `red marker pixels: ${markerRed}`);

    // The findings table lists what `check --json` prints, in order.
    const rows = page.locator('#findings-table tbody tr');
    assert.equal(await rows.count(), want.length);
    const messages = await page.locator('#findings-table tbody td.msg').allTextContents();
    assert.deepEqual(
      messages,
      want.map((f) => f.message),
    );
    const times = await page.locator('#findings-table tbody tr td:first-child').allTextContents();
    assert.deepEqual(
      times,
      want.map((f) => f.ts),
    );
    assert.equal(await page.locator('#findings h2').textContent(), 'Findings (3)');

    // Zoom away from the finding (drag over the first fifth of the plot), then click a row.
    const over = page.locator('#chart .u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + 5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    assert.equal(await chart.getAttribute('data-markers'), '0', 'zoomed in before the finding');

    await rows.nth(1).click();
    assert.match((await rows.nth(1).getAttribute('class')) ?? '', /\bselected\b/);
    assert.equal(await page.locator('#findings-table tbody tr.selected').count(), 1);
    assert.equal(await chart.getAttribute('data-highlight'), want[1]!.ts);
    assert.equal(await chart.getAttribute('data-highlight-visible'), 'true', 'the chart zoomed to the finding');
    const details = page.locator('#details');
    assert.equal(await details.locator('pre.message').textContent(), `DMA-API: pci 0000:00:02.0: ${want[1]!.message}`);
    const mapping = await details.locator('dl.mapping').textContent();
    assert.ok(mapping?.includes(`device address${want[1]!.mapping!.dma_addr}`), mapping ?? '');
    assert.ok(mapping?.includes(`direction${want[1]!.mapping!.direction}`), mapping ?? '');
    assert.match(mapping ?? '', /typescatter-gather/);
    await page.screenshot({ path: join(OUTPUT, 'report-bug-sync-sg-nents.png') });

    // Mapped bytes instead of live mappings; reset zoom; the selection stays.
    await page.click('#metric-bytes');
    assert.equal(await page.getAttribute('#metric-bytes', 'aria-pressed'), 'true');
    assert.equal(await chart.getAttribute('data-metric'), 'bytes');
    assert.equal(await page.locator('#chart canvas').count(), 1);
    await page.click('#reset-zoom');
    assert.equal(await chart.getAttribute('data-highlight-visible'), 'true');
    assert.ok(Number(await chart.getAttribute('data-markers')) >= 1);

    // Per-device stats.
    const devices = await page.locator('#stats-table tbody td:first-child').allTextContents();
    assert.deepEqual(devices, ['0000:00:02.0', '0000:00:1f.2']);

    assert.deepEqual(problems, []);
    await page.close();
  });

  it('shows the mapping stack of a finding', { skip: !existsSync(STACK) && 'no fixture' }, async () => {
    const { page, problems } = await open(report(STACK, 'stack'));
    await page.locator('#findings-table tbody tr').first().click();
    const frames = await page.locator('#details ol.stack li').allTextContents();
    assert.ok(frames.length > 10, String(frames.length));
    assert.equal(frames[0], 'dma_map_page_attrs+0x212/0x241');
    assert.equal(frames[3], 'sc_unmap_size+0x44/0xd2 [dmabug]');
    await page.screenshot({ path: join(OUTPUT, 'report-bug-unmap-size-stack.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('puts trace text in the page as text, never as markup', async () => {
    const c = new ReportCollector();
    const p = new Pipeline(SG, { tap: c.tap, onFinding: c.onFinding });
    c.attach(p.engine);
    const data = c.finish((await p.run()).result(), SG, 'dmadebug test');
    const evil = '</script><img id="pwned" src=x onerror="document.title=1"><!--';
    data.findings.rows[0]!.message = evil;
    data.findings.rows[0]!.head = evil;
    data.timeline.devices[0]!.device = evil;
    data.stats.devices[0]!.device = evil;
    data.input.label = evil;
    const file = join(tmp, 'evil.html');
    writeFileSync(file, renderHtml(data, loadReportAssets()));
    const { page, problems } = await open(file);
    assert.equal(await page.locator('#pwned').count(), 0);
    assert.equal(await page.locator('#findings-table tbody td.msg').first().textContent(), evil);
    assert.equal(await page.locator('#stats-table tbody td').first().textContent(), evil);
    assert.ok((await page.title()).includes(evil));
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('marks a kernel false positive and names the kernel profile', async () => {
    const c = new ReportCollector();
    const p = new Pipeline(SG, { tap: c.tap, onFinding: c.onFinding });
    c.attach(p.engine);
    const data = c.finish((await p.run()).result(), SG, 'dmadebug test');
    // As the engine reports one: the kernel's line, severity info, and why it is no bug.
    const row = data.findings.rows[0]!;
    row.severity = 'info';
    row.kernel_false_positive = 'two live mappings differ only in attrs';
    data.summary.severities = { error: 2, unconfirmed: 0, info: 1 };
    data.summary.kernel_false_positives = 1;
    data.summary.profile = {
      kernel: '7.3',
      arch: 'x86_64',
      kernel_evidence: 'trace.dat uname option: kernel 7.3.4-amd64',
      arch_evidence: 'trace.dat uname option: machine x86_64',
      evidence: '(trace.dat uname option: kernel 7.3.4-amd64; machine x86_64)',
      assumed: [],
      conflict: null,
    };
    const file = join(tmp, 'kfp.html');
    writeFileSync(file, renderHtml(data, loadReportAssets()));
    const { page, problems } = await open(file);
    const first = page.locator('#findings-table tbody tr').first();
    assert.equal(await first.locator('.badge.kfp').count(), 1);
    assert.equal(await page.locator('#findings-table tbody .badge.kfp').count(), 1);
    await first.click();
    assert.match(
      (await page.locator('#details dd.kfp').textContent()) ?? '',
      /the kernel prints this on correct code: two live mappings differ only in attrs/,
    );
    assert.equal(await page.locator('#profile').textContent(), '7.3 \u00b7 x86_64');
    assert.match((await page.locator('#summary').textContent()) ?? '', /kernel FP 1/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  const clean = fixture('bug-clean');
  it('says so when a trace has no findings', { skip: !existsSync(clean) && 'no fixture' }, async () => {
    const { page, problems } = await open(report(clean, 'clean'));
    assert.equal(await page.locator('#no-findings').count(), 1);
    assert.equal(await page.locator('#chart canvas').count(), 1);
    assert.equal(await page.locator('#chart').getAttribute('data-markers'), '0');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
