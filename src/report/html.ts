// The HTML report renderer: one self-contained page that works offline. It
// inlines uPlot (script and CSS), the report's own browser script (bundled
// from report/web/ by scripts/build-report-assets.js) and the data, as JSON in
// a <script type="application/json"> element. The page refers to nothing
// outside itself: no network, no other file.
//
// Everything from the trace (device names, messages, stacks) reaches the page
// only inside that JSON, where '<' is written \u003c so no `</script>` or
// `<!--` can end or change the element; the browser script puts it in the
// page with textContent. The title is the one text in markup, and is escaped.

import { readFileSync } from 'node:fs';
import type { ReportData } from './report-data.js';

export interface ReportAssets {
  /** uPlot's dist/uPlot.iife.min.js. */
  uplotJs: string;
  /** uPlot's dist/uPlot.min.css. */
  uplotCss: string;
  /** The report's bundled browser script (defines nothing global; reads #report-data). */
  appJs: string;
  /** The report's own stylesheet. */
  appCss: string;
}

/** Where `npm run build` puts the assets: dist/report-assets beside dist/src. */
const ASSETS_DIR = new URL('../../report-assets/', import.meta.url);

/** Reads the built assets; a missing build is an internal error (the CLI reports it as one line). */
export function loadReportAssets(dir: URL = ASSETS_DIR): ReportAssets {
  const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
  return {
    uplotJs: read('uPlot.iife.min.js'),
    uplotCss: read('uPlot.min.css'),
    appJs: read('report.js'),
    appCss: read('report.css'),
  };
}

/** Text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON safe inside a <script> element: '<' (so `</script` and `<!--`), '>' and
 * '&' as \u escapes, and the line separators JavaScript once refused in strings.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Code or CSS inlined into <script>/<style>: a closing tag inside it would end the element early. */
function inline(code: string, tag: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1');
}

export function renderHtml(data: ReportData, assets: ReportAssets): string {
  const title = `dmadebug report: ${data.input.label}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${escapeHtml(data.tool)}">
<title>${escapeHtml(title)}</title>
<style>${inline(assets.uplotCss, 'style')}</style>
<style>${inline(assets.appCss, 'style')}</style>
</head>
<body>
<noscript>This report needs JavaScript (it runs offline; nothing is fetched).</noscript>
<main id="app"></main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${inline(assets.uplotJs, 'script')}</script>
<script>${inline(assets.appJs, 'script')}</script>
</body>
</html>
`;
}
