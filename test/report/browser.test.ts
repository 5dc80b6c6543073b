// The HTML report in a real browser: Debian's headless Chromium driven by
// playwright-core (never `playwright install`). Reports built by the CLI from
// fixtures are opened from file://, with every network request refused and
// recorded; any console error or page error fails the test. It checks the
// chart and its finding markers, that the findings table lists what `check
// --json` prints, that the details pane opens on the first finding, that a
// click selects the row, highlights its time on the chart (zooming to it when
// outside the view) and shows the message, the call's stack, the mapping and
// its stack, that the leak-at-end groups and the lifetime histograms are what
// `check` and `stats` print, and saves screenshots to dist/test-output/.
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
import { counterClockTrace, fixture } from '../helpers/fixtures.js';

const SG = fixture('bug-sync-sg-nents');
const STACK = fixture('bug-unmap-size-stack');
const REAL_STACK = fixture('real-devices-stack', 'trace.dat');
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

  type Want = {
    type: string;
    message: string;
    ts: string;
    stack: string[] | null;
    mapping: { dma_addr: string; direction: string; stack: string[] | null } | null;
  };
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

  it('opens the details pane on the first finding when the page loads', async () => {
    const { page, problems } = await open(report(SG, 'sg-first'));
    const want = checkFindings(SG);
    const details = page.locator('#details');
    assert.equal(await details.getAttribute('data-finding'), '0');
    assert.equal(await details.locator('pre.message').textContent(), `DMA-API: pci 0000:00:02.0: ${want[0]!.message}`);
    assert.match((await details.locator('dl.mapping').textContent()) ?? '', /device address0x/);
    const rows = page.locator('#findings-table tbody tr');
    assert.match((await rows.first().getAttribute('class')) ?? '', /\bselected\b/);
    assert.equal(await page.locator('#findings-table tbody tr.selected').count(), 1);
    assert.equal(await page.locator('#chart').getAttribute('data-highlight'), want[0]!.ts);
    // the page opens at its top: selecting the first finding does not scroll to it
    assert.equal(await page.evaluate<number>('window.scrollY'), 0);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("shows both stacks of a finding in full: the call's and the mapping's", {
    skip: !existsSync(STACK) && 'no fixture',
  }, async () => {
    const { page, problems } = await open(report(STACK, 'stack'));
    const [want] = checkFindings(STACK);
    assert.ok(want?.stack && want.mapping?.stack);
    // open on load, no click needed
    const call = await page.locator('#details ol.stack.call li').allTextContents();
    const mapped = await page.locator('#details ol.stack.mapped li').allTextContents();
    assert.deepEqual(call, want.stack);
    assert.deepEqual(mapped, want.mapping.stack);
    assert.equal(call[0], 'dma_unmap_page_attrs+0xd1/0xef');
    assert.ok(call.includes('sc_unmap_size+0x98/0xd2 [dmabug]'));
    assert.equal(mapped[0], 'dma_map_page_attrs+0x212/0x241');
    assert.equal(mapped[3], 'sc_unmap_size+0x44/0xd2 [dmabug]');
    assert.deepEqual(await page.locator('#details h3').allTextContents(), [
      'error unmap-size-mismatch',
      'Call stack',
      'Mapping',
      'Mapped at (stack)',
    ]);
    await page.screenshot({ path: join(OUTPUT, 'report-bug-unmap-size-stack.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('lists the leak-at-end groups as check counts them, each call site with its stack', {
    skip: !existsSync(REAL_STACK) && 'no fixture',
  }, async () => {
    const { page, problems } = await open(report(REAL_STACK, 'real-stack'));
    const summary = runDmadebug(['check', '-q', '--json', REAL_STACK])
      .out.trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            leak_at_end: Array<{ device: string; count: number; bytes: number; stack: string[] | null }>;
          },
      )
      .find((o) => o.type === 'summary')!;
    const groups = summary.leak_at_end;
    assert.ok(groups.length >= 5, String(groups.length));
    assert.ok(groups.some((g) => g.stack !== null) && groups.some((g) => g.stack === null));
    const rows = page.locator('#leaks-table tbody tr');
    assert.equal(await rows.count(), groups.length);
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      const cells = rows.nth(i).locator('td');
      assert.equal(await cells.nth(0).textContent(), g.device);
      assert.equal(await cells.nth(1).textContent(), g.count.toLocaleString('en-US'));
      assert.equal(await cells.nth(2).getAttribute('title'), `${g.bytes.toLocaleString('en-US')} bytes`);
      if (g.stack === null) {
        assert.equal(await cells.nth(4).textContent(), 'no stack in the trace');
        continue;
      }
      // the call site is the first frame outside the DMA API, as check's summary names it; a click shows the stack
      const site = g.stack.find((f) => !/^(__)?dma_|^debug_dma_/.test(f))!;
      const summaryEl = cells.nth(4).locator('summary');
      assert.equal(await summaryEl.textContent(), site);
      const list = cells.nth(4).locator('ol.stack li');
      assert.equal(await list.first().isVisible(), false);
      await summaryEl.click();
      assert.equal(await list.first().isVisible(), true);
      assert.deepEqual(await list.allTextContents(), g.stack);
    }
    assert.match((await page.locator('#leaks h2').textContent()) ?? '', /^Live at the end: 274 mappings$/);
    await page.screenshot({ path: join(OUTPUT, 'report-real-devices-stack.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('draws the lifetime histogram of each device as stats prints it', async () => {
    const { page, problems } = await open(report(SG, 'sg-lifetimes'));
    const stats = JSON.parse(runDmadebug(['stats', '--json', SG]).out) as {
      lifetime_buckets: string[];
      devices: Array<{ device: string; lifetimes: number[] }>;
      totals: { lifetimes: number[] };
    };
    const text = runDmadebug(['stats', SG]).out;
    const all = [...stats.devices, stats.totals];
    const rows = page.locator('#lifetimes .hist-row:not(.axis)');
    assert.equal(await rows.count(), all.length);
    for (let i = 0; i < all.length; i++) {
      const d = all[i]!;
      const name = 'device' in d ? d.device : '(all)';
      const row = rows.nth(i);
      assert.equal(await row.getAttribute('data-device'), name);
      const counts = await row
        .locator('.bar')
        .evaluateAll((bars) => bars.map((b) => Number(b.getAttribute('data-count'))));
      assert.deepEqual(counts, d.lifetimes);
      assert.equal(counts.length, stats.lifetime_buckets.length);
      // a bar for every non-zero bucket, none for the empty ones
      const heights = await row
        .locator('.bar')
        .evaluateAll((bars) => bars.map((b) => b.getBoundingClientRect().height));
      for (const [b, h] of heights.entries()) assert.equal(h > 0, d.lifetimes[b]! > 0, `${name} bucket ${b}`);
      // n and the median bucket, as the text histogram's line ends
      const line = text.split('\n').find((l) => l.trimStart().startsWith(`${name} `) && l.includes('|'))!;
      const tail = /\|\s+(n=\d+(?:, median \S+)?)$/.exec(line)![1]!;
      assert.equal(((await row.locator('.hist-n').textContent()) ?? '').replace(/,(?=\d)/g, ''), tail);
    }
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

  const sizeBug = fixture('bug-unmap-size');
  it("draws a counter clock's trace (x86-tsc) in counts from its first event, not seconds", {
    skip: !existsSync(sizeBug) && 'no fixture',
  }, async () => {
    const trace = counterClockTrace(sizeBug, join(tmp, 'tsc.txt'));
    const want = checkFindings(trace);
    assert.equal(want.length, 1);
    assert.match(want[0]!.ts, /^18000000\d{12}$/);
    const { page, problems } = await open(report(trace, 'tsc'));
    assert.match((await page.locator('#summary').textContent()) ?? '', /[\d,]+ counts/);
    const legend = await page.locator('#chart .u-legend .u-series').allTextContents();
    assert.ok(legend[0]?.includes('counts / 10^9'), legend.join(' | '));
    assert.ok(Number(await page.locator('#chart').getAttribute('data-markers')) >= 1, 'the finding is on the chart');
    assert.equal(await page.locator('#findings-table thead th').first().textContent(), 'Count');
    const rows = page.locator('#findings-table tbody tr');
    assert.equal(await rows.locator('td').first().textContent(), want[0]!.ts);
    await rows.first().click();
    assert.equal(await page.locator('#chart').getAttribute('data-highlight-visible'), 'true');
    await page.screenshot({ path: join(OUTPUT, 'report-counter-clock.png') });
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
