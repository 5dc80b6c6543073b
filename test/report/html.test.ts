// The HTML report's Node side: the payload a fixture gives (shape, series
// lengths, findings as `check` reports them, stats), the escaping that keeps
// trace text from ending or changing the page's elements, and a page that
// refers to nothing outside itself.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Finding } from '../../src/engine/findings.js';
import { Pipeline } from '../../src/pipeline.js';
import { ReportCollector } from '../../src/report/collect.js';
import { escapeHtml, loadReportAssets, renderHtml, scriptJson } from '../../src/report/html.js';
import type { ReportData } from '../../src/report/report-data.js';
import { fixture } from '../helpers/fixtures.js';

const TRACE = fixture('bug-sync-sg-nents');
const STACKS = fixture('bug-unmap-size-stack');

async function build(
  path: string,
  opts: { maxRows?: number; maxBuckets?: number } = {},
): Promise<{ data: ReportData; findings: Finding[] }> {
  const c = new ReportCollector(opts);
  const findings: Finding[] = [];
  const p = new Pipeline(path, {
    tap: c.tap,
    onFinding: (f) => {
      if (f.shown) findings.push(f);
      c.onFinding(f);
    },
  });
  c.attach(p.engine);
  const r = (await p.run()).result();
  return { data: c.finish(r, 'trace.txt', 'dmadebug test'), findings };
}

/** The JSON in the page's data element, parsed back. */
function payloadOf(html: string): ReportData {
  const m = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m, 'data element');
  return JSON.parse(m[1]!) as ReportData;
}

const FAKE_ASSETS = { uplotJs: '/*u*/', uplotCss: '/*c*/', appJs: '/*a*/', appCss: '/*s*/' };

describe('report payload', { skip: !existsSync(TRACE) && 'fixtures not found' }, () => {
  it('has the summary, a bounded timeline per device, the findings and the stats', async () => {
    const { data, findings } = await build(TRACE);
    assert.equal(data.schema, 2);
    assert.equal(data.tool, 'dmadebug test');
    assert.deepEqual(data.input, { label: 'trace.txt', kind: 'text', bytes: data.input.bytes });
    assert.ok(data.input.bytes! > 0);
    const s = data.summary;
    assert.equal(s.events, 6093);
    assert.equal(s.coverage.from_boot, true);
    assert.equal(s.coverage.first_ts, '0.250820');
    assert.equal(s.coverage.last_ts, '3.396267');
    assert.deepEqual(s.severities, { error: 3, unconfirmed: 0, info: 0 });
    assert.equal(s.kernel_false_positives, 0);
    assert.match(s.profile.kernel, /^(6\.12|7\.3)$/);
    assert.match(s.profile.evidence, /\S/);
    assert.deepEqual(s.checks, { 'sync-sg-count-mismatch': 3 });
    assert.equal(s.live, 6);
    assert.equal(s.input_error, null);

    const tl = data.timeline;
    assert.ok(tl.buckets > tl.max_buckets / 2 && tl.buckets <= tl.max_buckets, String(tl.buckets));
    assert.equal(tl.start, 0.25082);
    // The last event falls in the last bucket.
    assert.equal(tl.buckets - 1, Math.floor(((3.396267 - 0.25082) * 1e9 + 0.5) / tl.width_ns));
    assert.deepEqual(
      tl.devices.map((d) => d.device),
      ['0000:00:02.0', '0000:00:1f.2'],
    );
    for (const d of [...tl.devices, tl.total]) {
      assert.equal(d.max_live.length, tl.buckets, d.device);
      assert.equal(d.max_bytes.length, tl.buckets, d.device);
    }
    // The timeline's peaks are the stats' peaks; at the end it reads the live counts.
    for (const d of data.stats.devices) {
      const series = tl.devices.find((x) => x.device === d.device)!;
      assert.equal(Math.max(...series.max_live), d.peak_live.value, d.device);
      assert.equal(Math.max(...series.max_bytes), d.peak_bytes.value, d.device);
      assert.equal(series.max_live.at(-1), d.live, d.device);
    }
    assert.equal(Math.max(...tl.total.max_live), data.stats.totals.peak_live.value);
    assert.equal(Math.max(...tl.total.max_bytes), data.stats.totals.peak_bytes.value);
    // Three findings, all in the bucket of 2.308393 s.
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    assert.equal(sum(tl.findings[0]), 3);
    assert.equal(tl.findings[0][Math.floor(((2.308393 - 0.25082) * 1e9) / tl.width_ns)], 3);
    assert.equal(sum(tl.lost), 0);

    const f = data.findings;
    assert.equal(f.total, 3);
    assert.equal(f.hidden, 0);
    assert.equal(f.rows.length, 3);
    f.rows.forEach((row, i) => {
      const want = findings[i]!;
      assert.equal(row.message, want.message);
      assert.equal(row.check, want.check);
      assert.equal(row.severity, want.severity);
      assert.equal(row.kernel_false_positive, null);
      assert.equal(row.at.ts, want.at.ts);
      assert.equal(row.t, 2.308393);
      assert.equal(row.head, `DMA-API: pci 0000:00:02.0: ${want.message}`);
      assert.equal(row.mapping?.dma_addr, want.mapping?.dmaAddr);
      assert.deepEqual(row.mapping?.mapped_at.source, { file: 'trace.txt', line: 5866 });
      assert.deepEqual(row.at.source, { file: 'trace.txt', line: want.at.line });
    });
    assert.deepEqual(
      data.stats.devices.map((d) => [
        d.device,
        sum(Object.values(d.maps_by_type)),
        sum(Object.values(d.unmaps_by_type)),
        d.live,
      ]),
      [
        ['0000:00:02.0', 7, 7, 0],
        ['0000:00:1f.2', 16, 10, 6],
      ],
    );
  });

  it("stores each stack once and points rows at them: the call's and the mapping's", {
    skip: !existsSync(STACKS) && 'no fixture',
  }, async () => {
    const { data, findings } = await build(STACKS);
    assert.equal(data.findings.rows.length, 1);
    const row = data.findings.rows[0]!;
    assert.equal(row.stack, 0);
    assert.equal(row.mapping!.stack, 1);
    assert.deepEqual(data.findings.stacks[0], findings[0]!.stack);
    assert.deepEqual(data.findings.stacks[1], findings[0]!.mapping!.stack);
    assert.equal(data.findings.stacks[0]![0], 'dma_unmap_page_attrs+0xd1/0xef');
    assert.equal(data.findings.stacks[1]![0], 'dma_map_page_attrs+0x212/0x241');
    assert.equal(data.findings.stacks.length, 2);
  });

  it('carries the leak-at-end groups and the lifetime histograms, as check and stats have them', async () => {
    const c = new ReportCollector({ maxLeaks: 1 });
    const p = new Pipeline(TRACE, { tap: c.tap, onFinding: c.onFinding });
    c.attach(p.engine);
    const r = (await p.run()).result();
    const data = c.finish(r, 'trace.txt', 'dmadebug test');
    const groups = r.engine.leaksAtEnd();
    assert.ok(groups.length >= 1);
    assert.equal(data.leaks.total, groups.length);
    assert.equal(data.leaks.cap, 1);
    assert.deepEqual(
      data.leaks.groups.map((g) => [g.device, g.count, g.bytes, g.fresh]),
      groups.slice(0, 1).map((g) => [g.device, g.count, g.bytes, g.fresh]),
    );
    assert.equal(data.leaks.groups[0]!.stack, -1, 'this trace has no stacks');
    assert.equal(data.leaks.groups[0]!.site, null);
    const stats = r.engine.stats();
    assert.deepEqual(data.stats.lifetime_buckets, stats.lifetimeBuckets);
    assert.deepEqual(
      data.stats.devices.map((d) => [d.device, d.lifetimes]),
      stats.devices.map((d) => [d.device, d.lifetimes]),
    );
    assert.deepEqual(data.stats.totals.lifetimes, stats.totals.lifetimes);
    assert.ok(data.stats.devices.every((d) => d.lifetime_median !== null));
  });

  it('lists at most maxRows findings but counts them all', async () => {
    const { data } = await build(TRACE, { maxRows: 2 });
    assert.equal(data.findings.total, 3);
    assert.equal(data.findings.rows.length, 2);
    assert.equal(data.findings.cap, 2);
    assert.equal(
      data.timeline.findings[0].reduce((a, b) => a + b, 0),
      3,
    );
  });
});

describe('renderHtml', () => {
  it('escapes markup in text and keeps trace text inside the JSON element', async (t) => {
    if (!existsSync(TRACE)) return t.skip('fixtures not found');
    const { data } = await build(TRACE);
    const evil = '</script><script>alert(1)</script><!-- & "quotes" \u2028';
    data.input.label = `a<b>${evil}`;
    data.findings.rows[0]!.message = evil;
    data.timeline.devices[0]!.device = evil;
    const html = renderHtml(data, FAKE_ASSETS);
    assert.equal((html.match(/<\/script/g) ?? []).length, 3, 'only the three closing tags');
    assert.equal((html.match(/<script/g) ?? []).length, 3, 'only the three opening tags');
    assert.ok(!html.includes('<!--'));
    assert.ok(html.includes('<title>dmadebug report: a&#60;b&#62;&#60;/script&#62;'));
    const back = payloadOf(html);
    assert.deepEqual(back, JSON.parse(JSON.stringify(data)));
  });

  it('scriptJson and escapeHtml', () => {
    assert.equal(scriptJson({ a: '</script>' }), '{"a":"\\u003c/script\\u003e"}');
    assert.equal(scriptJson('<!--&'), '"\\u003c!--\\u0026"');
    assert.equal(JSON.parse(scriptJson({ x: '</script><!--\u2028' })).x, '</script><!--\u2028');
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });

  it('inlines the built assets and refers to nothing outside the file', async (t) => {
    if (!existsSync(TRACE)) return t.skip('fixtures not found');
    const { data } = await build(TRACE);
    const assets = loadReportAssets();
    const html = renderHtml(data, assets);
    assert.ok(html.includes(assets.uplotJs.slice(0, 200)));
    assert.ok(html.includes(assets.appJs.slice(0, 200)));
    assert.ok(!/\b(?:src|href|action|srcset)\s*=/i.test(html), 'no src/href attributes');
    assert.ok(!/url\(\s*['"]?\s*(?:[a-z]+:)?\/\//i.test(html), 'no url(//...)');
    assert.ok(!/@import/i.test(html), 'no @import');
    assert.ok(!/<link\b/i.test(html), 'no <link>');
    // The one URL is uPlot's licence banner, in a comment.
    const urls = html.match(/https?:\/\/[^\s"')*]+/g) ?? [];
    assert.deepEqual([...new Set(urls)], ['https://github.com/leeoniya/uPlot']);
    assert.ok(Buffer.byteLength(html) < 400_000, `${Buffer.byteLength(html)} bytes`);
  });
});
