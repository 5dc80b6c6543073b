import { Names } from '/work/main/dist/src/base/interner.js';
import { TraceDatParser } from '/work/main/dist/src/input/tracedat.js';
import { DmaDebugEngine } from '/work/main/dist/src/engine/engine.js';
import { PhysIndex } from '/work/main/dist/src/engine/phys-index.js';
import { CachelineTracker } from '/work/main/dist/src/engine/cachelines.js';
import { RecentUnmaps } from '/work/main/dist/src/engine/recent-unmaps.js';
import { WireWriter, WireReader } from '/work/main/dist/src/input/event-wire.js';
import { DmaEvent, noInputFacts } from '/work/main/dist/src/engine/events.js';
const file = process.argv[2];
const off = (process.argv[3]||'').split(',');
if (off.includes('phys')) { PhysIndex.prototype.insert = function(){}; PhysIndex.prototype.remove = function(){}; PhysIndex.prototype.findPages = function(){return -1}; }
if (off.includes('cl')) { CachelineTracker.prototype.insert = function(){return 0}; CachelineTracker.prototype.remove = function(){}; }
if (off.includes('recent')) { RecentUnmaps.prototype.record = function(){}; RecentUnmaps.prototype.forget = function(){}; }
if (off.includes('pf')) { DmaDebugEngine.prototype.onPageFree = function(){}; }
if (off.includes('last')) { DmaDebugEngine.prototype.setLastOnCpu = function(){}; }
const names = new Names();
const bufs = [];
const w = new WireWriter(names, (b, n) => bufs.push([b, n]), () => new Int32Array(1 << 18));
const p = new TraceDatParser({ names, sink: (ev) => w.event(ev), file });
await p.readFile(file, {}); w.send();
let best = 1e9;
for (let rep = 0; rep < 7; rep++) {
  const names2 = new Names();
  const engine = new DmaDebugEngine(names2, () => {}, {});
  const r = new WireReader(names2, noInputFacts());
  const ev = new DmaEvent();
  const t0 = performance.now();
  for (const [b, n] of bufs) r.read(b, n, ev, (e) => engine.handle(e));
  best = Math.min(best, performance.now() - t0);
}
console.log(off.join(',')||'all', best.toFixed(0), 'ms');
{
  const names2 = new Names();
  const engine = new DmaDebugEngine(names2, () => {}, {});
  const r = new WireReader(names2, noInputFacts());
  const ev = new DmaEvent();
  let maxU = 0, maxP = 0;
  for (const [b, n] of bufs) { r.read(b, n, ev, (e) => engine.handle(e)); }
  console.log('cl used', engine.cachelines.used, 'slots', engine.cachelines.mask + 1, 'pi used', engine.physIndex.used, 'slots', engine.physIndex.mask + 1, 'live', engine.entries.live);
}
