// Batched output to a stream: findings are joined into ~64 KiB writes, the
// stream's backpressure is respected, and a closed pipe (`| head`) ends the
// run quietly instead of throwing EPIPE.

import type { Writable } from 'node:stream';
import type { ReplayResult } from '../pipeline.js';

export class BatchedWriter {
  private buf: string[] = [];
  private size = 0;
  closed = false;
  private waiting: Promise<void> | null = null;

  constructor(private readonly out: Writable) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.closed = true;
      else throw e;
    });
  }

  write(s: string): void {
    if (this.closed) return;
    this.buf.push(s);
    this.size += s.length;
    if (this.size >= 65536) this.flushSync();
  }

  private flushSync(): void {
    if (this.buf.length === 0 || this.closed) return;
    const chunk = this.buf.join('');
    this.buf = [];
    this.size = 0;
    const ok = this.out.write(chunk);
    if (!ok && !this.waiting) {
      this.waiting = new Promise((resolve) => {
        const done = () => {
          this.out.off('drain', done);
          this.out.off('close', done);
          this.waiting = null;
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
      });
    }
  }

  /** Resolves when the stream can take more (call between input chunks). */
  async ready(): Promise<void> {
    if (this.waiting) await this.waiting;
  }

  async flush(): Promise<void> {
    this.flushSync();
    await this.ready();
  }

  async end(): Promise<void> {
    await this.flush();
    if (this.out !== process.stdout && this.out !== process.stderr) {
      await new Promise<void>((resolve) => this.out.end(resolve));
    }
  }
}

/**
 * -v: every line (trace.dat: record) the parser could not use, with its
 * number and why; past the first MAX_WARNINGS_KEPT, only how many more.
 */
export function writeSkippedLines(label: string, r: Pick<ReplayResult, 'kind' | 'parser'>): void {
  const unit = r.kind === 'text' ? 'line' : 'event';
  const list = r.parser.warningList;
  for (const w of list) process.stderr.write(`dmadebug: ${label}: ${unit} ${w.line}: ${w.message}\n`);
  const more = r.parser.warnings - list.length;
  if (more > 0) {
    process.stderr.write(
      `dmadebug: ${label}: and ${more} more ${unit}s skipped (only the first ${list.length} are listed)\n`,
    );
  }
}
