// Stacks of mappings: a `<stack trace>` block (a kernel_stack record) is the
// record right after the dma event it belongs to on the same CPU, so the last
// mapping made on each CPU is remembered until its CPU's next record: its
// stack, or anything else, after which no stack can be its own. No check reads
// stacks; findings, the dump and leak-at-end show them ("Mapped at"). The
// stack of the call that made a finding is the gate's (gate.ts).

import { ALL_CPUS } from './events.js';
import type { EngineState } from './state.js';

export class Stacks {
  /** By cpu: [head entry (-1 = none), its call id, 1 = a single mapping], 3 words each; grows with the cpu numbers seen. */
  private lastOnCpu = new Int32Array(3 * 64).fill(-1);

  constructor(private readonly s: EngineState) {}

  /** A mapping (an sg call's head when sg) was made by the current event. */
  mapped(head: number, sg: boolean): void {
    const ev = this.s.cur;
    if (!ev) return;
    const k = this.slot(ev.cpu);
    if (k < 0) return;
    const l = this.lastOnCpu;
    l[k] = head;
    l[k + 1] = this.s.entries.callId(head);
    l[k + 2] = sg ? 0 : 1;
  }

  /** Where lastOnCpu keeps the cpu's record (grown to hold it), or -1 for a cpu number no kernel has. */
  private slot(cpu: number): number {
    if (!(cpu >= 0 && cpu < 1 << 20)) return -1;
    const k = cpu * 3;
    if (k >= this.lastOnCpu.length) {
      const l = new Int32Array(Math.max(k + 3, this.lastOnCpu.length * 2)).fill(-1);
      l.set(this.lastOnCpu);
      this.lastOnCpu = l;
    }
    return k;
  }

  /**
   * Events of `cpu` (ALL_CPUS: of any) were lost or could not be read: a stack
   * block that follows belongs to one of them, not to the last mapping.
   */
  lost(cpu: number): void {
    if (cpu === ALL_CPUS) this.lastOnCpu.fill(-1);
    else if (cpu >= 0 && cpu * 3 < this.lastOnCpu.length) this.lastOnCpu[cpu * 3] = -1;
  }

  /** A record of `cpu` that is not a stack: a stack that follows is not the last mapping's. */
  other(cpu: number): void {
    const k = cpu * 3;
    if (k >= 0 && k < this.lastOnCpu.length) this.lastOnCpu[k] = -1;
  }

  /** A stack block (interned id; -1: the stack of a record the reader skipped) for the last event of `cpu`. */
  stack(cpu: number, stack: number): void {
    const k = this.slot(cpu);
    const l = this.lastOnCpu;
    if (k < 0 || l[k]! < 0) return;
    if (stack < 0) {
      l[k] = -1;
      return;
    }
    const t = this.s.entries;
    const head = l[k]!;
    const call = l[k + 1]!; // the call id's 32 bits, as an int32
    if (l[k + 2] === 1) {
      if ((t.callId(head) | 0) === call) t.setStack(head, stack);
    } else {
      for (let e = head; e >= 0 && (t.callId(e) | 0) === call; e = t.sgNext(e)) t.setStack(e, stack);
    }
    l[k] = -1;
  }
}
