// The gate between the checks and the finding sink: it holds a proven error
// until no loss notice can still concern it, and keeps findings in order.
//
// Why: a tracer says that a CPU lost events only with that CPU's next event
// (`CPU:1 [LOST 40 EVENTS]` in text, a page's missing-events bit in
// trace.dat), and the merged stream shows other CPUs' events before it. A
// proof made in between may rest on the events that CPU lost: a map it lost
// makes a later unmap on another CPU look like one of memory never mapped. So
// an error made at time t is released only once every CPU has shown an event
// at t or later with no notice before it, or when the input holds nothing
// more (its end, or a live source drained); a notice of CPU c turns every held
// error made after c's last event into unconfirmed. Damaged lines need none of
// this: they stand in their place in the stream.
//
// Cost: one store per event; the scan over CPUs runs only while an error is
// held, and only when the CPU that holds it back shows an event.

import { ALL_CPUS, MAX_CPUS } from './events.js';
import type { Finding, FindingSink } from './findings.js';

interface Held {
  f: Finding;
  sec: number;
  ns: number;
  /** Proven, and resting on the events before it: a notice can still turn it unconfirmed. */
  held: boolean;
}

export class FindingGate {
  private readonly q: Held[] = [];
  private lastSec = new Float64Array(64).fill(-1);
  private lastNs = new Float64Array(64);
  /** CPUs seen or named by the input (0..n-1). */
  private n = 0;
  /** The CPU that holds the queue's head back, -1 when unknown. */
  private blocker = -1;

  constructor(
    private readonly sink: FindingSink,
    /** Called for each held error a notice turned unconfirmed: its note. */
    private readonly onDowngrade: (f: Finding, cpu: number, after: string) => void,
  ) {}

  /** The input names `cpus` CPUs: each may still bring a notice. */
  setCpus(cpus: number): void {
    if (cpus > this.n && cpus <= MAX_CPUS) this.grow(cpus);
  }

  /** An event of `cpu` at sec.ns. */
  seen(cpu: number, sec: number, ns: number): void {
    if (cpu < 0 || cpu >= MAX_CPUS) return;
    if (cpu >= this.n) this.grow(cpu + 1);
    this.lastSec[cpu] = sec;
    this.lastNs[cpu] = ns;
    if (this.q.length !== 0 && (cpu === this.blocker || this.blocker < 0)) this.release();
  }

  push(f: Finding, sec: number, ns: number, held: boolean): void {
    if (this.q.length === 0 && (!held || this.behind(sec, ns) < 0)) {
      this.sink(f);
      return;
    }
    this.q.push({ f, sec, ns, held });
    this.release();
  }

  /** A tracer's notice: `cpu` (ALL_CPUS: every CPU) lost events after its last one shown. */
  lost(cpu: number, describe: (cpu: number) => string): void {
    if (this.q.length === 0) return;
    for (const h of this.q) {
      if (!h.held) continue;
      if (cpu === ALL_CPUS) {
        h.held = false;
        this.onDowngrade(h.f, cpu, 'the start');
        continue;
      }
      const known = cpu < this.n && this.lastSec[cpu]! >= 0;
      if (!known || h.sec > this.lastSec[cpu]! || (h.sec === this.lastSec[cpu]! && h.ns >= this.lastNs[cpu]!)) {
        h.held = false;
        this.onDowngrade(h.f, cpu, known ? describe(cpu) : 'the start');
      }
    }
  }

  /** When CPU `cpu`'s last event was (for a note). */
  last(cpu: number): { sec: number; ns: number } | null {
    if (cpu < 0 || cpu >= this.n || this.lastSec[cpu]! < 0) return null;
    return { sec: this.lastSec[cpu]!, ns: this.lastNs[cpu]! };
  }

  /** The input holds nothing more now (its end, a drained live source): everything goes out. */
  drained(): void {
    for (const h of this.q) this.sink(h.f);
    this.q.length = 0;
    this.blocker = -1;
  }

  /** Releases the queue's head while nothing can concern it. */
  private release(): void {
    const q = this.q;
    let i = 0;
    while (i < q.length) {
      const h = q[i]!;
      if (h.held) {
        const b = this.behind(h.sec, h.ns);
        if (b >= 0) {
          this.blocker = b;
          break;
        }
      }
      this.sink(h.f);
      i++;
    }
    if (i > 0) q.splice(0, i);
    if (q.length === 0) this.blocker = -1;
  }

  /** A CPU whose events have not reached sec.ns yet, or -1. */
  private behind(sec: number, ns: number): number {
    for (let c = 0; c < this.n; c++) {
      const s = this.lastSec[c]!;
      if (s < sec || (s === sec && this.lastNs[c]! < ns)) return c;
    }
    return -1;
  }

  private grow(n: number): void {
    if (n > this.lastSec.length) {
      let cap = this.lastSec.length;
      while (cap < n) cap *= 2;
      const s = new Float64Array(cap).fill(-1);
      s.set(this.lastSec);
      const ns = new Float64Array(cap);
      ns.set(this.lastNs);
      this.lastSec = s;
      this.lastNs = ns;
    }
    this.n = n;
  }
}
