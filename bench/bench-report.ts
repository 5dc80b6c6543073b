// `dmadebug report` on a large synthetic trace: generates ftrace text with
// bench/gen-trace.ts (default 1400 MiB, about 10M events), builds the HTML
// report (wall time, peak RSS), then opens it in Debian's headless Chromium
// and measures the time to the first complete render (navigation start to
// body[data-ready], chart drawn) and to switch the chart to mapped bytes.
//
//   npm run build && node dist/bench/bench-report.js [--size 1400M] [--keep]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/helpers/chromium.js';
import { generateTrace, parseSize } from './gen-trace.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'dmadebug.js');

const { values } = parseArgs({
  options: { size: { type: 'string', default: '1400M' }, keep: { type: 'boolean' } },
});
const dir = mkdtempSync(path.join(tmpdir(), 'dmadebug-bench-report-'));
const trace = path.join(dir, 'trace.txt');
const html = path.join(dir, 'report.html');

const g0 = Date.now();
const gen = generateTrace({ size: parseSize(values.size), live: 4096, out: trace, seed: 1 });
console.log(
  `trace: ${gen.events} events, ${(gen.bytes / 1048576).toFixed(0)} MiB (generated in ${((Date.now() - g0) / 1000).toFixed(1)} s)`,
);

const r0 = Date.now();
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss "+process.resourceUsage().maxRSS+"\\n"))',
    BIN,
    'report',
    trace,
    '-o',
    html,
  ],
  {
    encoding: 'utf8',
  },
);
const wall = (Date.now() - r0) / 1000;
if (r.status !== 0) throw new Error(`report failed: ${r.stderr}`);
const rss = /maxrss (\d+)/.exec(r.stderr)?.[1];
console.log(r.stderr.trim().split('\n')[0]);
console.log(
  `report: ${wall.toFixed(1)} s, ${(gen.events / wall / 1e6).toFixed(2)} M events/s, peak RSS ${rss ? (Number(rss) / 1024).toFixed(0) : '?'} MiB, HTML ${(statSync(html).size / 1024).toFixed(0)} KiB`,
);

const { ctx, close } = await launchChromium();
const page = await ctx.newPage();
const errors: string[] = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => {
  if (m.type() === 'error') errors.push(m.text());
});
const runs: number[] = [];
for (let i = 0; i < 3; i++) {
  await page.goto(pathToFileURL(html).href);
  await page.waitForSelector('body[data-ready="true"]');
  runs.push(await page.evaluate<number>('performance.now()'));
}
// Until the next frame after the click has been painted.
const switchMs = await page.evaluate<number>(`new Promise((done) => {
  const t = performance.now();
  document.getElementById('metric-bytes').click();
  requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t)));
})`);
await close();
console.log(
  `chromium: first render ${runs.map((x) => x.toFixed(0)).join(', ')} ms (3 loads), switch to bytes ${switchMs.toFixed(0)} ms${errors.length ? `, ERRORS: ${errors.join('; ')}` : ''}`,
);
if (values.keep) console.log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
