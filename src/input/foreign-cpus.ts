// Which CPUs' last record was another tracepoint's event (one the parsers
// skip). A stack block (text) or kernel_stack record (binary) is the stack of
// the event just before it on its CPU, so one that follows a skipped event
// belongs to that event and must not be given to the last dma event. Shared
// by the text parser and the ring-buffer record reader (trace.dat, live
// trace_pipe_raw). Nothing is allocated until the first skipped event, and
// until then every question is one boolean test: traces of dma events alone
// pay nothing per event.

import { MAX_CPUS } from '../engine/events.js';

export class ForeignCpus {
  private flags = new Uint8Array(0);
  /** False until a skipped event was marked. */
  private any = false;

  /** `cpu`'s last record is another tracepoint's (CPU numbers beyond any kernel's are not tracked). */
  mark(cpu: number): void {
    if (!(cpu >= 0 && cpu < MAX_CPUS)) return;
    if (cpu >= this.flags.length) {
      const f = new Uint8Array(Math.max(64, cpu + 1, this.flags.length * 2));
      f.set(this.flags);
      this.flags = f;
    }
    this.flags[cpu] = 1;
    this.any = true;
  }

  /** `cpu`'s last record is one of ours again. */
  clear(cpu: number): void {
    if (this.any && cpu >= 0 && cpu < this.flags.length) this.flags[cpu] = 0;
  }

  /** Whether `cpu`'s last record was another tracepoint's. */
  has(cpu: number): boolean {
    return this.any && cpu >= 0 && cpu < this.flags.length && this.flags[cpu] === 1;
  }
}
