// Byte-string interning: maps names seen in the input (device names, task
// names, stack traces) to small integers without allocating on a hit.
//
// Parsers hash the bytes in place (FNV-1a) and only decode a string when a name
// is new. The engine and renderers use the ids; `name(id)` gives the string back.

export class Interner {
  private names: string[] = [];
  /** Open-addressing table: slot -> id + 1 (0 = empty). */
  private slots: Int32Array = new Int32Array(64);
  private hashes: Int32Array = new Int32Array(32);
  private bytes: Uint8Array[] = [];

  get size(): number {
    return this.names.length;
  }

  name(id: number): string {
    return this.names[id] ?? '?';
  }

  /** Interns buf[start, end). */
  internBytes(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) {
      h ^= buf[i]!;
      h = Math.imul(h, 0x01000193);
    }
    const mask = this.slots.length - 1;
    let s = h & mask;
    const len = end - start;
    for (;;) {
      const v = this.slots[s]!;
      if (v === 0) break;
      const id = v - 1;
      if (this.hashes[id] === h) {
        const b = this.bytes[id]!;
        if (b.length === len) {
          let eq = true;
          for (let i = 0; i < len; i++) {
            if (b[i] !== buf[start + i]) {
              eq = false;
              break;
            }
          }
          if (eq) return id;
        }
      }
      s = (s + 1) & mask;
    }
    const copy = Uint8Array.prototype.slice.call(buf, start, end) as Uint8Array;
    return this.add(new TextDecoder().decode(copy), copy, h, s);
  }

  /** Interns a JS string (library callers, tests). */
  intern(name: string): number {
    const b = new TextEncoder().encode(name);
    return this.internBytes(b, 0, b.length);
  }

  private add(name: string, copy: Uint8Array, h: number, slot: number): number {
    const id = this.names.length;
    this.names.push(name);
    this.bytes.push(copy);
    if (id >= this.hashes.length) {
      const n = new Int32Array(this.hashes.length * 2);
      n.set(this.hashes);
      this.hashes = n;
    }
    this.hashes[id] = h;
    this.slots[slot] = id + 1;
    if ((id + 1) * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.names.length; id++) {
      let s = this.hashes[id]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = id + 1;
    }
    this.slots = slots;
  }
}

/** The name tables one pipeline shares between parser, engine and renderers. */
export class Names {
  readonly devices = new Interner();
  readonly comms = new Interner();
  /** Stack traces: one string per block, frames joined by '\n'. */
  readonly stacks = new Interner();
}
