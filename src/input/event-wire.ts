// The wire format that carries DmaEvents from a decoding worker thread to the
// thread running the checks (tracedat-threaded.ts): records packed into Int32
// buffers that are moved between the threads, never copied.
//
// A record is [length in words, kind, ...]. Event records hold every DmaEvent
// field: a fixed part (kind, flags, time, task, device, direction, attrs,
// line), then only the groups of fields the event uses (addresses, size, sg
// lists, pfn, …), flagged in the header; an absent group reads back as its
// reset values. A map is 19 words, a page free 16: the records cross from one
// core's cache to the other's, so their size is much of their cost. 64-bit
// values travel as two u32 halves.
//
// Name records carry a name the worker interned (device, task or stack) so
// the reader can intern it too and map the worker's ids to its own: the two
// threads have separate Names, and the reader's may already hold names (side
// information), so ids are translated, not assumed equal. A facts record
// carries the parser's InputFacts before the first event, a quiet record a
// trace.dat merge's promise about a CPU (TraceDatParserOptions.quiet).
//
// Both ends reuse their objects: writing an event allocates nothing, reading
// one fills the caller's DmaEvent.

import type { Interner, Names } from '../base/interner.js';
import type { AddrList, DmaEvent, EventKind, InputFacts } from '../engine/events.js';

const TWO32 = 4294967296;

/** Record kinds beyond EventKind's (which stay below 64). */
const R_NAME = 100;
const R_FACTS = 101;
/** A quiet CPU (TraceDatParserOptions.quiet): cpu, sec as a double's two words, ns. */
const R_QUIET = 102;

/** A double's two words, for R_QUIET. */
const f64 = new Float64Array(1);
const f64Words = new Int32Array(f64.buffer);

/** Words of an event record's fixed part. */
const FIXED = 13;

const F_HAS_DIR = 1;
const F_HAS_PHYS = 2;
const F_HAS_VIRT = 4;
const F_VIRT_RAW = 8;
const F_TRUNCATED = 16;
/** Lost: a record the worker could not decode (DmaEvent.damaged). */
const F_DAMAGED = 32;
// Optional groups (flag bits above the timestamp digits), in the order they follow the fixed part.
const G_WIDE = 1 << 25; // tsSec's high word (a time at or past 2^32 s, or a counter clock's count past 2^32 * 10^9)
const G_ADDR = 1 << 16; // addrHi, addrLo
const G_PHYS = 1 << 17; // physHi, physLo
const G_SIZE = 1 << 18; // size (hi, lo)
const G_VIRT = 1 << 19; // virtHi, virtLo
const G_SG = 1 << 20; // nents, ents, err, #dma, #phys, #len, then the lists
const G_PFN = 1 << 21; // pfnHi, pfnLo, order
const G_LOST = 1 << 22; // lost (hi, lo)
const G_STACK = 1 << 23; // stack
const G_TEXT = 1 << 24; // byte length, then the UTF-8 bytes

/** The name tables in the order name records number them. */
function tables(names: Names): Interner[] {
  return [names.devices, names.comms, names.stacks];
}

/**
 * Whether the facts differ from those last sent: every field, compared one by
 * one (a generic loop over the keys cost more than a tenth of the worker's
 * time). FACT_FIELDS makes a new InputFacts field a compile error here until
 * it is compared; test/input/event-wire.test.ts changes each field and expects a difference.
 */
export function factsChanged(f: InputFacts, sent: InputFacts): boolean {
  return (
    f.mapEvents !== sent.mapEvents ||
    f.cpus !== sent.cpus ||
    f.sawBufferHeader !== sent.sawBufferHeader ||
    f.overwriteKnown !== sent.overwriteKnown ||
    f.overwritten !== sent.overwritten ||
    f.overwrittenCount !== sent.overwrittenCount ||
    f.overwrittenCpus !== sent.overwrittenCpus ||
    f.positions !== sent.positions ||
    f.kernelRelease !== sent.kernelRelease ||
    f.machine !== sent.machine ||
    f.kernelSource !== sent.kernelSource ||
    f.mapEventsSource !== sent.mapEventsSource
  );
}

/** Every InputFacts field, as factsChanged compares them. */
export const FACT_FIELDS: Record<keyof InputFacts, true> = {
  mapEvents: true,
  cpus: true,
  sawBufferHeader: true,
  overwriteKnown: true,
  overwritten: true,
  overwrittenCount: true,
  overwrittenCpus: true,
  positions: true,
  kernelRelease: true,
  machine: true,
  kernelSource: true,
  mapEventsSource: true,
};

/** Words a buffer holds (1 MiB). */
export const BATCH_WORDS = 1 << 18;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Packs events (and the names and facts they need) into buffers; `flush` hands each full one on. */
export class WireWriter {
  private buf: Int32Array = new Int32Array(BATCH_WORDS);
  private pos = 0;
  /** Names of each table already sent. */
  private readonly sent = [0, 0, 0];
  private readonly tables: Interner[];
  private sentFacts: InputFacts | null = null;

  constructor(
    names: Names,
    private readonly flush: (buf: Int32Array, words: number) => void,
    /** A buffer for the next batch (a returned one, or a new one). */
    private readonly fresh: () => Int32Array,
  ) {
    this.tables = tables(names);
  }

  /** Room for `words` more words, flushing first when the buffer cannot hold them. */
  private room(words: number): Int32Array {
    if (this.pos + words > this.buf.length) {
      this.send();
      if (words > this.buf.length) this.buf = new Int32Array(words);
    }
    return this.buf;
  }

  /** Words waiting in the buffer (not sent yet). */
  get words(): number {
    return this.pos;
  }

  /** Sends what the buffer holds (if anything) and starts a new one. */
  send(): void {
    if (this.pos === 0) return;
    this.flush(this.buf, this.pos);
    this.buf = this.fresh();
    this.pos = 0;
  }

  facts(f: InputFacts): void {
    const text = enc.encode(JSON.stringify(f));
    this.bytesRecord(R_FACTS, 0, text);
    this.sentFacts = { ...f };
  }

  /**
   * Sends the facts unless those sent last are the same: a text parser learns
   * facts as it reads (a header line, the first map event), and the reader
   * must see them before the event they changed for.
   */
  factsIfChanged(f: InputFacts): void {
    if (this.sentFacts === null || factsChanged(f, this.sentFacts)) this.facts(f);
  }

  event(ev: DmaEvent): void {
    this.newNames();
    const nd = ev.sgDma.count;
    const np = ev.sgPhys.count;
    const nl = ev.sgLen.count;
    const text = ev.text === '' ? null : enc.encode(ev.text);
    const tl = text ? text.length : 0;
    let groups = 0;
    let words = FIXED;
    if (ev.tsSec >= TWO32) {
      groups |= G_WIDE;
      words += 1;
    }
    if ((ev.addrHi | ev.addrLo) !== 0) {
      groups |= G_ADDR;
      words += 2;
    }
    if ((ev.physHi | ev.physLo) !== 0) {
      groups |= G_PHYS;
      words += 2;
    }
    if (ev.size !== 0) {
      groups |= G_SIZE;
      words += 2;
    }
    if ((ev.virtHi | ev.virtLo) !== 0) {
      groups |= G_VIRT;
      words += 2;
    }
    if ((ev.nents | ev.ents | ev.err | nd | np | nl) !== 0) {
      groups |= G_SG;
      words += 6 + 2 * (nd + np + nl);
    }
    if ((ev.pfnHi | ev.pfnLo | ev.order) !== 0) {
      groups |= G_PFN;
      words += 3;
    }
    if (ev.lost !== 0) {
      groups |= G_LOST;
      words += 2;
    }
    if (ev.stack !== -1) {
      groups |= G_STACK;
      words += 1;
    }
    if (text) {
      groups |= G_TEXT;
      words += 1 + ((tl + 3) >> 2);
    }
    const b = this.room(words);
    let p = this.pos;
    b[p] = words;
    b[p + 1] = ev.kind;
    b[p + 2] =
      (ev.hasDir ? F_HAS_DIR : 0) |
      (ev.hasPhys ? F_HAS_PHYS : 0) |
      (ev.hasVirt ? F_HAS_VIRT : 0) |
      (ev.virtRaw ? F_VIRT_RAW : 0) |
      (ev.truncated ? F_TRUNCATED : 0) |
      (ev.damaged ? F_DAMAGED : 0) |
      (ev.tsDigits << 8) |
      groups;
    b[p + 3] = ev.tsSec;
    b[p + 4] = ev.tsNs;
    b[p + 5] = ev.cpu;
    b[p + 6] = ev.pid;
    b[p + 7] = ev.comm;
    b[p + 8] = ev.device;
    b[p + 9] = ev.dir;
    b[p + 10] = ev.attrs;
    b[p + 11] = Math.floor(ev.line / TWO32);
    b[p + 12] = ev.line >>> 0;
    p += FIXED;
    if ((groups & G_WIDE) !== 0) b[p++] = Math.floor(ev.tsSec / TWO32);
    if ((groups & G_ADDR) !== 0) {
      b[p++] = ev.addrHi;
      b[p++] = ev.addrLo;
    }
    if ((groups & G_PHYS) !== 0) {
      b[p++] = ev.physHi;
      b[p++] = ev.physLo;
    }
    if ((groups & G_SIZE) !== 0) {
      b[p++] = Math.floor(ev.size / TWO32);
      b[p++] = ev.size >>> 0;
    }
    if ((groups & G_VIRT) !== 0) {
      b[p++] = ev.virtHi;
      b[p++] = ev.virtLo;
    }
    if ((groups & G_SG) !== 0) {
      b[p] = ev.nents;
      b[p + 1] = ev.ents;
      b[p + 2] = ev.err;
      b[p + 3] = nd;
      b[p + 4] = np;
      b[p + 5] = nl;
      p = putAddrs(b, putAddrs(b, p + 6, ev.sgDma), ev.sgPhys);
      for (let i = 0; i < nl; i++, p += 2) {
        const v = ev.sgLen.v[i]!;
        b[p] = Math.floor(v / TWO32);
        b[p + 1] = v >>> 0;
      }
    }
    if ((groups & G_PFN) !== 0) {
      b[p++] = ev.pfnHi;
      b[p++] = ev.pfnLo;
      b[p++] = ev.order;
    }
    if ((groups & G_LOST) !== 0) {
      b[p++] = Math.floor(ev.lost / TWO32);
      b[p++] = ev.lost >>> 0;
    }
    if ((groups & G_STACK) !== 0) b[p++] = ev.stack;
    if (text) {
      b[p++] = tl;
      p = putBytes(b, p, text);
    }
    this.pos = p;
  }

  /** Name records for every name the worker interned since the last event. */
  private newNames(): void {
    for (let t = 0; t < 3; t++) {
      const table = this.tables[t]!;
      while (this.sent[t]! < table.size) {
        this.bytesRecord(R_NAME, t, enc.encode(table.name(this.sent[t]!)));
        this.sent[t]!++;
      }
    }
  }

  /** A quiet CPU (the reader's onQuiet gets it in its place among the events). */
  quiet(cpu: number, sec: number, ns: number): void {
    const b = this.room(6);
    const p = this.pos;
    f64[0] = sec;
    b[p] = 6;
    b[p + 1] = R_QUIET;
    b[p + 2] = cpu;
    b[p + 3] = f64Words[0]!;
    b[p + 4] = f64Words[1]!;
    b[p + 5] = ns;
    this.pos = p + 6;
  }

  private bytesRecord(kind: number, arg: number, bytes: Uint8Array): void {
    const words = 4 + ((bytes.length + 3) >> 2);
    const b = this.room(words);
    const p = this.pos;
    b[p] = words;
    b[p + 1] = kind;
    b[p + 2] = arg;
    b[p + 3] = bytes.length;
    this.pos = putBytes(b, p + 4, bytes);
  }
}

/** Writes an address list's hi/lo pairs from p; returns the word after them. */
function putAddrs(b: Int32Array, p: number, list: AddrList): number {
  for (let i = 0; i < list.count; i++, p += 2) {
    b[p] = list.hi[i]!;
    b[p + 1] = list.lo[i]!;
  }
  return p;
}

/** Writes bytes into words from p (little-endian within a word); returns the word after them. */
function putBytes(b: Int32Array, p: number, bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = 0; i < n; i += 4) {
    b[p++] = bytes[i]! | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
  }
  return p;
}

function getBytes(b: Int32Array, p: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (b[p + (i >> 2)]! >>> ((i & 3) << 3)) & 0xff;
  return out;
}

/** Unpacks buffers into the reader's DmaEvent, translating the worker's name ids into `names`'. */
export class WireReader {
  /** Worker id -> reader id, per table. */
  private readonly ids: Int32Array[] = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];
  private readonly counts = [0, 0, 0];
  private readonly tables: Interner[];

  constructor(
    names: Names,
    private readonly facts: InputFacts,
    /** Gets the writer's quiet() records. */
    private readonly onQuiet: (cpu: number, sec: number, ns: number) => void = () => {},
  ) {
    this.tables = tables(names);
  }

  /** Hands each event of buf[0, words) to `sink` (in `ev`, reused); returns how many. */
  read(buf: Int32Array, words: number, ev: DmaEvent, sink: (ev: DmaEvent) => void): number {
    let p = 0;
    let n = 0;
    while (p < words) {
      const len = buf[p]!;
      const kind = buf[p + 1]!;
      if (kind === R_NAME) this.name(buf, p);
      else if (kind === R_FACTS) Object.assign(this.facts, JSON.parse(dec.decode(getBytes(buf, p + 4, buf[p + 3]!))));
      else if (kind === R_QUIET) {
        f64Words[0] = buf[p + 3]!;
        f64Words[1] = buf[p + 4]!;
        this.onQuiet(buf[p + 2]!, f64[0]!, buf[p + 5]!);
      } else {
        this.fill(buf, p, ev);
        sink(ev);
        n++;
      }
      p += len;
    }
    return n;
  }

  private name(b: Int32Array, p: number): void {
    const t = b[p + 2]!;
    const bytes = getBytes(b, p + 4, b[p + 3]!);
    const id = this.tables[t]!.internBytes(bytes, 0, bytes.length);
    let map = this.ids[t]!;
    const n = this.counts[t]!;
    if (n === map.length) {
      const bigger = new Int32Array(n * 2);
      bigger.set(map);
      this.ids[t] = map = bigger;
    }
    map[n] = id;
    this.counts[t] = n + 1;
  }

  private fill(b: Int32Array, p: number, ev: DmaEvent): void {
    const flags = b[p + 2]!;
    ev.kind = b[p + 1] as EventKind;
    ev.hasDir = (flags & F_HAS_DIR) !== 0;
    ev.hasPhys = (flags & F_HAS_PHYS) !== 0;
    ev.hasVirt = (flags & F_HAS_VIRT) !== 0;
    ev.virtRaw = (flags & F_VIRT_RAW) !== 0;
    ev.truncated = (flags & F_TRUNCATED) !== 0;
    ev.damaged = (flags & F_DAMAGED) !== 0;
    ev.tsDigits = (flags >>> 8) & 0xff;
    ev.tsSec = b[p + 3]! >>> 0;
    ev.tsNs = b[p + 4]!;
    ev.cpu = b[p + 5]!;
    ev.pid = b[p + 6]!;
    const comm = b[p + 7]!;
    ev.comm = comm < 0 ? comm : this.ids[1]![comm]!;
    const dev = b[p + 8]!;
    ev.device = dev < 0 ? dev : this.ids[0]![dev]!;
    ev.dir = b[p + 9] as DmaEvent['dir'];
    ev.attrs = b[p + 10]! >>> 0;
    ev.line = (b[p + 11]! >>> 0) * TWO32 + (b[p + 12]! >>> 0);
    let q = p + FIXED;
    if ((flags & G_WIDE) !== 0) ev.tsSec += (b[q++]! >>> 0) * TWO32;
    if ((flags & G_ADDR) !== 0) {
      ev.addrHi = b[q]! >>> 0;
      ev.addrLo = b[q + 1]! >>> 0;
      q += 2;
    } else {
      ev.addrHi = 0;
      ev.addrLo = 0;
    }
    if ((flags & G_PHYS) !== 0) {
      ev.physHi = b[q]! >>> 0;
      ev.physLo = b[q + 1]! >>> 0;
      q += 2;
    } else {
      ev.physHi = 0;
      ev.physLo = 0;
    }
    if ((flags & G_SIZE) !== 0) {
      ev.size = (b[q]! >>> 0) * TWO32 + (b[q + 1]! >>> 0);
      q += 2;
    } else {
      ev.size = 0;
    }
    if ((flags & G_VIRT) !== 0) {
      ev.virtHi = b[q]! >>> 0;
      ev.virtLo = b[q + 1]! >>> 0;
      q += 2;
    } else {
      ev.virtHi = 0;
      ev.virtLo = 0;
    }
    ev.sgDma.clear();
    ev.sgPhys.clear();
    ev.sgLen.clear();
    if ((flags & G_SG) !== 0) {
      ev.nents = b[q]!;
      ev.ents = b[q + 1]!;
      ev.err = b[q + 2]!;
      const nd = b[q + 3]!;
      const np = b[q + 4]!;
      const nl = b[q + 5]!;
      q += 6;
      for (let i = 0; i < nd; i++, q += 2) ev.sgDma.push(b[q]! >>> 0, b[q + 1]! >>> 0);
      for (let i = 0; i < np; i++, q += 2) ev.sgPhys.push(b[q]! >>> 0, b[q + 1]! >>> 0);
      for (let i = 0; i < nl; i++, q += 2) ev.sgLen.push((b[q]! >>> 0) * TWO32 + (b[q + 1]! >>> 0));
    } else {
      ev.nents = 0;
      ev.ents = 0;
      ev.err = 0;
    }
    if ((flags & G_PFN) !== 0) {
      ev.pfnHi = b[q]! >>> 0;
      ev.pfnLo = b[q + 1]! >>> 0;
      ev.order = b[q + 2]!;
      q += 3;
    } else {
      ev.pfnHi = 0;
      ev.pfnLo = 0;
      ev.order = 0;
    }
    if ((flags & G_LOST) !== 0) {
      ev.lost = (b[q]! >>> 0) * TWO32 + (b[q + 1]! >>> 0);
      q += 2;
    } else {
      ev.lost = 0;
    }
    if ((flags & G_STACK) !== 0) {
      const stack = b[q++]!;
      ev.stack = stack < 0 ? stack : this.ids[2]![stack]!;
    } else {
      ev.stack = -1;
    }
    ev.text = (flags & G_TEXT) !== 0 ? dec.decode(getBytes(b, q + 1, b[q]!)) : '';
  }
}
