// A throttled one-line progress display on stderr, driven by bytes read (never
// per line). Only used when stderr is a TTY and the input is large.

export class Progress {
  private last = 0;
  private shown = false;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
    private readonly total: number | undefined,
  ) {}

  update(bytes: number, events: number): void {
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    const mb = (bytes / 1048576).toFixed(0);
    const pct = this.total ? ` ${Math.min(100, Math.floor((bytes * 100) / this.total))}%` : '';
    const of = this.total ? `/${(this.total / 1048576).toFixed(0)}` : '';
    this.stream.write(`\r\x1b[K${this.label}:${pct} ${mb}${of} MB, ${events} events`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
  }
}
