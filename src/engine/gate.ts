// The gate between the checks and the finding sink: it holds a proven error
// until no loss notice can still concern it, holds a finding until the stack
// of the call that made it has come (or cannot come any more), and keeps
// findings in order.
//
// Why the loss hold: a tracer says that a CPU lost events only with that CPU's
// next event (`CPU:1 [LOST 40 EVENTS]` in text, a page's missing-events bit in
// trace.dat), and the merged stream shows other CPUs' events before it. A
// proof made in between may rest on the events that CPU lost: a map it lost
// makes a later unmap on another CPU look like one of memory never mapped. So
// an error made at time t gets its final verdict only once every CPU has shown
// an event at t or later with no notice before it, or when the input holds
// nothing more (its end, or a live source drained); a notice of CPU c turns
// every held error made after c's last event into unconfirmed. Verdicts are
// made final in order, so they are what they were before stacks waited too.
// Damaged lines need none of this: they stand in their place in the stream.
// A trace.dat merge knows each CPU's next record ahead and can promise that
// no notice comes before it (quietUntil): that counts as the CPU having
// shown an event there, so a CPU quiet for long holds nothing back.
//
// Why the stack wait: ftrace writes a kernel stack (a `<stack trace>` block, a
// kernel_stack record) as the record right after the event it belongs to, on
// the same CPU. So a finding made by an event of CPU c goes out only after
// c's next record: that record is the call's stack, or anything else (another
// event, a loss notice, a damaged line), which says there is none. Other CPUs'
// records may come in between (the merge is by time). The end of the input,
// or a live source with nothing to read (engine.inputDrained()), ends every
// wait. At most one event per CPU waits (its next record ends the wait), and
// its findings sit next to each other in the queue, so a CPU's record finds
// them by index, without a scan.
//
// Cost: one store and two compares per event; the CPU scan of the loss hold
// runs only while an error is held, and only when the CPU that holds it back
// shows an event.

import { ALL_CPUS, MAX_CPUS } from './events.js';
import type { Finding, FindingSink } from './findings.js';

interface Held {
  f: Finding;
  sec: number;
  ns: number;
  /** Proven, and resting on the events before it: a notice can still turn it unconfirmed. */
  held: boolean;
  /** The CPU whose next record brings this finding's call stack; -1 once it came (or cannot come). */
  waitCpu: number;
}

export class FindingGate {
  private readonly q: Held[] = [];
  /** q[0, final) have their final verdict (no notice can change them). */
  private final = 0;
  /** Findings ever taken off the queue's front: q[i] is the finding pushed as number base + i. */
  private base = 0;
  private lastSec = new Float64Array(64).fill(-1);
  private lastNs = new Float64Array(64);
  /** CPUs seen or named by the input (0..n-1). */
  private n = 0;
  /** The CPU that holds the next verdict back, -1 when unknown. */
  private blocker = -1;
  /** Findings waiting for a stack, in all. */
  private waiting = 0;
  /** By CPU: how many findings wait for its next record, and the number of the first (base-relative: see base). */
  private waitCount = new Int32Array(64);
  private waitFirst = new Float64Array(64);

  constructor(
    private readonly sink: FindingSink,
    /** Called for each held error a notice turned unconfirmed: its note. */
    private readonly onDowngrade: (f: Finding, cpu: number, after: string) => void,
    /** Called when the stack (interned id) of the call that made f has come. */
    private readonly onStack: (f: Finding, stack: number) => void = () => {},
  ) {}

  /** The input names `cpus` CPUs: each may still bring a notice. */
  setCpus(cpus: number): void {
    if (cpus > this.n && cpus <= MAX_CPUS) this.grow(cpus);
  }

  /** Are findings waiting for a CPU's next record? (Cheap: callers test it before record().) */
  get waitingForStacks(): boolean {
    return this.waiting !== 0;
  }

  /**
   * The next record of `cpu` (ALL_CPUS: a record of an unknown CPU) came:
   * `stack`, the interned stack of a kernel-stack record, or -1 for any other
   * record. It ends the wait of the findings made by that CPU's previous
   * record. Call it before seen()/lost() of the same record.
   */
  record(cpu: number, stack: number): void {
    if (this.waiting === 0) return;
    if (cpu === ALL_CPUS) {
      // a damaged line whose CPU is unknown: the stack that follows may be its own
      for (const h of this.q) h.waitCpu = -1;
      this.waitCount.fill(0);
      this.waiting = 0;
    } else {
      if (!(cpu >= 0 && cpu < this.waitCount.length)) return;
      const count = this.waitCount[cpu]!;
      if (count === 0) return;
      const from = this.waitFirst[cpu]! - this.base;
      for (let i = from; i < from + count; i++) {
        const h = this.q[i]!;
        h.waitCpu = -1;
        if (stack >= 0) this.onStack(h.f, stack);
      }
      this.waitCount[cpu] = 0;
      this.waiting -= count;
    }
    this.release();
  }

  /** An event of `cpu` at sec.ns. */
  seen(cpu: number, sec: number, ns: number): void {
    if (cpu < 0 || cpu >= MAX_CPUS) return;
    if (cpu >= this.n) this.grow(cpu + 1);
    this.lastSec[cpu] = sec;
    this.lastNs[cpu] = ns;
    if (this.final < this.q.length && (cpu === this.blocker || this.blocker < 0)) this.release();
  }

  /**
   * The reader promises that `cpu`'s next record is at sec.ns and that no
   * notice of that CPU comes before it (a trace.dat merge's): for the loss hold, as if
   * the CPU had shown an event there. Its stack waits are not touched.
   */
  quietUntil(cpu: number, sec: number, ns: number): void {
    if (cpu >= 0 && cpu < this.n) {
      const s = this.lastSec[cpu]!;
      if (sec < s || (sec === s && ns <= this.lastNs[cpu]!)) return; // never back
    }
    this.seen(cpu, sec, ns);
  }

  /**
   * A finding made at sec.ns. `held`: a proven error that rests on the
   * trace's history. `waitCpu`: the CPU whose next record may be the stack of
   * the call that made it, or -1 (none will come: no event made it, or one
   * that carries no stack).
   */
  push(f: Finding, sec: number, ns: number, held: boolean, waitCpu = -1): void {
    const waits = waitCpu >= 0 && waitCpu < MAX_CPUS;
    if (this.q.length === 0 && !waits && (!held || this.behind(sec, ns) < 0)) {
      this.sink(f);
      return;
    }
    if (waits) {
      if (waitCpu >= this.waitCount.length) this.growWaits(waitCpu + 1);
      if (this.waitCount[waitCpu] === 0) this.waitFirst[waitCpu] = this.base + this.q.length;
      this.waitCount[waitCpu]!++;
      this.waiting++;
    }
    this.q.push({ f, sec, ns, held, waitCpu: waits ? waitCpu : -1 });
    this.release();
  }

  /** A tracer's notice: `cpu` (ALL_CPUS: every CPU) lost events after its last one shown. */
  lost(cpu: number, describe: (cpu: number) => string): void {
    if (this.final === this.q.length) return;
    const q = this.q;
    for (let i = this.final; i < q.length; i++) {
      const h = q[i]!;
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
    const q = this.q;
    const n = q.length;
    if (n === 0) return;
    if (this.waiting !== 0) {
      this.waitCount.fill(0);
      this.waiting = 0;
    }
    // emptied before the sink runs: a sink that reads the engine sees a settled gate
    const out = q.splice(0, n);
    this.base += n;
    this.final = 0;
    this.blocker = -1;
    for (const h of out) this.sink(h.f);
  }

  /** Makes verdicts final while nothing can concern them, then lets out the head while it has its stack. */
  private release(): void {
    const q = this.q;
    let k = this.final;
    while (k < q.length) {
      const h = q[k]!;
      if (h.held) {
        const b = this.behind(h.sec, h.ns);
        if (b >= 0) {
          this.blocker = b;
          break;
        }
        h.held = false;
      }
      k++;
    }
    if (k === q.length) this.blocker = -1;
    let i = 0;
    while (i < k && q[i]!.waitCpu < 0) i++;
    this.final = k - i;
    if (i === 0) return;
    const out = q.splice(0, i);
    this.base += i;
    for (const h of out) this.sink(h.f);
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

  private growWaits(n: number): void {
    let cap = this.waitCount.length;
    while (cap < n) cap *= 2;
    const c = new Int32Array(cap);
    c.set(this.waitCount);
    const f = new Float64Array(cap);
    f.set(this.waitFirst);
    this.waitCount = c;
    this.waitFirst = f;
  }
}
