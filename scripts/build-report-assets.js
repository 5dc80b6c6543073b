// Builds what `dmadebug report` inlines into each HTML file, into dist/report-assets/:
// the report's browser script (src/report/web/app.ts, bundled by esbuild into one IIFE),
// its stylesheet, and uPlot's minified script and CSS. Run by `npm run build` and
// `prepare`, after tsc (which type-checks the browser code with its own tsconfig).
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const out = 'dist/report-assets';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ['src/report/web/app.ts'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  outfile: join(out, 'report.js'),
  logLevel: 'warning',
});
copyFileSync('src/report/web/report.css', join(out, 'report.css'));
const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
copyFileSync(join(uplot, 'uPlot.iife.min.js'), join(out, 'uPlot.iife.min.js'));
copyFileSync(join(uplot, 'uPlot.min.css'), join(out, 'uPlot.min.css'));
