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
// shows an event. The gate holds findings by id (the reporter keeps them, in
// compact form: held-findings.ts), its queue in typed arrays: a trace can make
// it hold millions, and none of that is for the garbage collector to trace.

import { ALL_CPUS, MAX_CPUS } from './events.js';

export class FindingGate {
  // The queue: positions [head, tail) of a ring of cap slots (position p is slot p % cap).
  private cap = 64;
  private qId = new Float64Array(64);
  private qSec = new Float64Array(64);
  private qNs = new Float64Array(64);
  /** Proven, and resting on the events before it: a notice can still turn it unconfirmed. */
  private qHeld = new Uint8Array(64);
  /** The CPU whose next record brings the finding's call stack; -1 once it came (or cannot come). */
  private qWait = new Int32Array(64);
  private head = 0;
  private tail = 0;
  /** Positions [head, final) have their final verdict (no notice can change them). */
  private final = 0;
  private lastSec = new Float64Array(64).fill(-1);
  private lastNs = new Float64Array(64);
  /** CPUs seen or named by the input (0..n-1). */
  private n = 0;
  /** The CPU that holds the next verdict back, -1 when unknown. */
  private blocker = -1;
  /** Findings waiting for a stack, in all. */
  private waiting = 0;
  /** How many more may go out before letOut() is called again (no limit until it is). */
  private allowance = Number.POSITIVE_INFINITY;
  /** By CPU: how many findings wait for its next record, and the position of the first. */
  private waitCount = new Int32Array(64);
  private waitFirst = new Float64Array(64);

  constructor(
    /** Gets each finding (its id) let out, in the order they were pushed. */
    private readonly sink: (id: number) => void,
    /** Called for each held error a notice turned unconfirmed. */
    private readonly onDowngrade: (id: number, cpu: number, after: string) => void,
    /** Called when the stack (interned id) of the call that made a finding has come. */
    private readonly onStack: (id: number, stack: number) => void = () => {},
  ) {}

  /** The input names `cpus` CPUs: each may still bring a notice. */
  setCpus(cpus: number): void {
    if (cpus > this.n && cpus <= MAX_CPUS) this.grow(cpus);
  }

  /** Are findings waiting for a CPU's next record? (Cheap: callers test it before record().) */
  get waitingForStacks(): boolean {
    return this.waiting !== 0;
  }

  /** How many findings the gate holds. */
  get size(): number {
    return this.tail - this.head;
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
      for (let p = this.head; p < this.tail; p++) this.qWait[p % this.cap] = -1;
      this.waitCount.fill(0);
      this.waiting = 0;
    } else {
      if (!(cpu >= 0 && cpu < this.waitCount.length)) return;
      const count = this.waitCount[cpu]!;
      if (count === 0) return;
      const from = this.waitFirst[cpu]!;
      for (let p = from; p < from + count; p++) {
        const i = p % this.cap;
        this.qWait[i] = -1;
        if (stack >= 0) this.onStack(this.qId[i]!, stack);
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
    if (this.final < this.tail && (cpu === this.blocker || this.blocker < 0)) this.release();
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
   * Finding `id`, made at sec.ns. `held`: a proven error that rests on the
   * trace's history. `waitCpu`: the CPU whose next record may be the stack of
   * the call that made it, or -1 (none will come: no event made it, or one
   * that carries no stack).
   */
  push(id: number, sec: number, ns: number, held: boolean, waitCpu = -1): void {
    const waits = waitCpu >= 0 && waitCpu < MAX_CPUS;
    if (this.head === this.tail && !waits && (!held || this.behind(sec, ns) < 0)) {
      this.sink(id);
      return;
    }
    if (this.tail - this.head === this.cap) this.growQueue();
    const p = this.tail;
    if (waits) {
      if (waitCpu >= this.waitCount.length) this.growWaits(waitCpu + 1);
      if (this.waitCount[waitCpu] === 0) this.waitFirst[waitCpu] = p;
      this.waitCount[waitCpu]!++;
      this.waiting++;
    }
    const i = p % this.cap;
    this.qId[i] = id;
    this.qSec[i] = sec;
    this.qNs[i] = ns;
    this.qHeld[i] = held ? 1 : 0;
    this.qWait[i] = waits ? waitCpu : -1;
    this.tail = p + 1;
    this.release();
  }

  /** A tracer's notice: `cpu` (ALL_CPUS: every CPU) lost events after its last one shown. */
  lost(cpu: number, describe: (cpu: number) => string): void {
    if (this.final === this.tail) return;
    for (let p = this.final; p < this.tail; p++) {
      const i = p % this.cap;
      if (this.qHeld[i] === 0) continue;
      if (cpu === ALL_CPUS) {
        this.qHeld[i] = 0;
        this.onDowngrade(this.qId[i]!, cpu, 'the start');
        continue;
      }
      const known = cpu < this.n && this.lastSec[cpu]! >= 0;
      const sec = this.qSec[i]!;
      if (!known || sec > this.lastSec[cpu]! || (sec === this.lastSec[cpu]! && this.qNs[i]! >= this.lastNs[cpu]!)) {
        this.qHeld[i] = 0;
        this.onDowngrade(this.qId[i]!, cpu, known ? describe(cpu) : 'the start');
      }
    }
  }

  /** When CPU `cpu`'s last event was (for a note). */
  last(cpu: number): { sec: number; ns: number } | null {
    if (cpu < 0 || cpu >= this.n || this.lastSec[cpu]! < 0) return null;
    return { sec: this.lastSec[cpu]!, ns: this.lastNs[cpu]! };
  }

  /**
   * The input holds nothing more now (its end, a drained live source):
   * every verdict is final and no finding waits any more, so everything goes
   * out: at most `max` now (the caller lets the output take them, then calls
   * again). Returns whether findings are still to go out.
   */
  drained(max = Number.POSITIVE_INFINITY): boolean {
    if (this.head === this.tail) return false;
    if (this.waiting !== 0 || this.final < this.tail) {
      for (let p = this.head; p < this.tail; p++) {
        const i = p % this.cap;
        this.qHeld[i] = 0;
        this.qWait[i] = -1;
      }
      this.waitCount.fill(0);
      this.waiting = 0;
      this.final = this.tail;
      this.blocker = -1;
    }
    // off the queue before the sink runs: a sink that reads the engine sees a settled gate
    for (const id of this.takeIds(Math.min(this.tail, this.head + max))) this.sink(id);
    return this.head < this.tail;
  }

  /** Makes verdicts final while nothing can concern them, then lets out the head while it has its stack. */
  private release(): void {
    let k = this.final;
    while (k < this.tail) {
      const i = k % this.cap;
      if (this.qHeld[i] !== 0) {
        const b = this.behind(this.qSec[i]!, this.qNs[i]!);
        if (b >= 0) {
          this.blocker = b;
          break;
        }
        this.qHeld[i] = 0;
      }
      k++;
    }
    if (k === this.tail) this.blocker = -1;
    let p = this.head;
    while (p < k && this.qWait[p % this.cap]! < 0) p++;
    this.final = k;
    if (p - this.head > this.allowance) p = this.head + this.allowance;
    if (p === this.head) return;
    this.allowance -= p - this.head;
    for (const id of this.takeIds(p)) this.sink(id);
  }

  /**
   * From now until the next call, at most `max` findings go out (the oldest
   * first, as always): those ready now go at once, up to that many. Returns
   * whether more are ready, to go out at the next call. A caller that lets
   * its output take each batch before the next (the CLI's pipe) calls it
   * between input chunks, so a CPU that shows up after a long silence, and
   * lets out all it held back, does not fill memory with output.
   */
  letOut(max: number): boolean {
    this.allowance = max;
    this.release();
    return this.head < this.final && this.qWait[this.head % this.cap]! < 0;
  }

  /** The ids at positions [head, to), taken off the queue. */
  private takeIds(to: number): number[] {
    const out: number[] = [];
    for (let p = this.head; p < to; p++) out.push(this.qId[p % this.cap]!);
    this.head = to;
    if (to === this.tail && this.cap > 4096) this.shrinkQueue();
    return out;
  }

  /** A CPU whose events have not reached sec.ns yet, or -1. */
  private behind(sec: number, ns: number): number {
    for (let c = 0; c < this.n; c++) {
      const s = this.lastSec[c]!;
      if (s < sec || (s === sec && this.lastNs[c]! < ns)) return c;
    }
    return -1;
  }

  /** Twice the queue's slots, the findings in it at their new places. */
  private growQueue(): void {
    const old = this.cap;
    const cap = old * 2;
    const id = new Float64Array(cap);
    const sec = new Float64Array(cap);
    const ns = new Float64Array(cap);
    const held = new Uint8Array(cap);
    const wait = new Int32Array(cap);
    for (let p = this.head; p < this.tail; p++) {
      const a = p % old;
      const b = p % cap;
      id[b] = this.qId[a]!;
      sec[b] = this.qSec[a]!;
      ns[b] = this.qNs[a]!;
      held[b] = this.qHeld[a]!;
      wait[b] = this.qWait[a]!;
    }
    this.cap = cap;
    this.qId = id;
    this.qSec = sec;
    this.qNs = ns;
    this.qHeld = held;
    this.qWait = wait;
  }

  /** Empty: the queue goes back to its first size. */
  private shrinkQueue(): void {
    this.cap = 64;
    this.qId = new Float64Array(64);
    this.qSec = new Float64Array(64);
    this.qNs = new Float64Array(64);
    this.qHeld = new Uint8Array(64);
    this.qWait = new Int32Array(64);
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
