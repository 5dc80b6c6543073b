// The trace.dat container: the initial header (magic, version, byte order,
// page size; v7: compression), the metadata (header_page, event formats,
// kallsyms, printk formats, command lines), v7's sections and chained option
// blocks, v6's fixed layout and options, and what they say about the ring
// buffer: the buffers (top, instances) and where each CPU's data lies. It
// reads through a Source and yields where push mode has not received the
// bytes yet, so one parse serves both ways in. Sections and options it does
// not know are skipped by their size (trace-cmd keeps adding them).
//
// Why its own file: it runs once per file and owns the layout's rules and
// their damage (a v7 file cut before its closing options is recovered here);
// the reader (tracedat.ts) takes the result, chooses a buffer and merges its
// CPUs' streams (tracedat-streams.ts), which never look at the container.

import { type InputFacts, MAX_CPUS } from '../engine/events.js';
import { InputError, quoted } from './errors.js';
import { Cur, latin1, MetaError, type Source, utf8 } from './tracedat-bytes.js';
import { decodedEventCode } from './tracedat-decode.js';
import {
  type EventFormat,
  mapEventsOf,
  type PageHeader,
  parseCmdlines,
  parseEventFormat,
  parseHeaderPage,
  parsePrintkFormats,
  parseUname,
} from './tracedat-format.js';
import type { BufferInfo, CpuData } from './tracedat-streams.js';

/** Metadata larger than this is corruption, not a trace. */
const MAX_META = 1 << 30;

const MAGIC = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67];

// v7 section and option ids (trace-cmd's enum tracecmd_option_id)
const OPT_DONE = 0;
const OPT_CPUSTAT = 2;
const OPT_BUFFER = 3;
const OPT_UNAME = 5;
const OPT_CPUCOUNT = 8;
const OPT_TSC2NSEC = 14;
const OPT_BUFFER_TEXT = 22;
const SEC_STRINGS = 15;
const SEC_HEADER_INFO = 16;
const SEC_FTRACE_EVENTS = 17;
const SEC_EVENT_FORMATS = 18;
const SEC_KALLSYMS = 19;
const SEC_PRINTK = 20;
const SEC_CMDLINES = 21;

export type Compression = 'none' | 'zstd' | 'zlib';

/** The name given to a buffer whose name the file lost (it is in the strings section at the end). */
const UNNAMED = '(unnamed: the file ends before its name)';

/** What the container parse needs from the reader (functions: they are called unbound). */
export interface ContainerHost {
  /** The input's name, for messages. */
  readonly file: string;
  /** The buffer instance asked for (a recovered buffer whose name was lost is taken to be it). */
  readonly instance: string | undefined;
  readonly facts: InputFacts;
  /** Where the bytes are (set before the parse starts). */
  readonly source: () => Source | null;
  readonly corrupt: (pos: number, what: string) => InputError;
  readonly truncated: (pos: number, len: number, what: string) => InputError;
  /** Is e the error of the latest truncation found (not other damage)? */
  readonly isLastTruncation: (e: unknown) => boolean;
  readonly inflate: (data: Uint8Array, usize: number, at: number, what: string) => Uint8Array;
  /** Something worth saying about the file that is not damage. */
  readonly note: (message: string) => void;
  /** The header named the compression (v7), before any metadata section is read. */
  readonly compressionKnown?: (name: Compression) => void;
  /**
   * A file read by position: its compressed metadata sections, before any is
   * read, for decompressing them together (inflate is still asked for each).
   */
  readonly prefetch?: (sections: CompressedSection[]) => void;
}

/** A compressed metadata section: its body's offset, its compressed bytes (a copy), its size once inflated. */
export interface CompressedSection {
  at: number;
  data: Uint8Array;
  usize: number;
}

export class TraceDatContainer {
  /** File version (6 or 7), once the header is read. */
  version = 0;
  le = true;
  pageSize = 4096;
  compression: Compression = 'none';
  header: PageHeader | null = null;
  readonly formats: EventFormat[] = [];
  /** /proc/kallsyms as stored (the reader parses it when a stack needs it, then clears this). */
  kallsymsText = '';
  readonly printk = new Map<string, string>();
  readonly cmdlines = new Map<number, string>();
  /** The buffers the file describes (v6 instances only once readV6Instances ran). */
  readonly buffers: BufferInfo[] = [];
  /** CPUSTAT text by buffer name ('' = top). */
  readonly statsByName = new Map<string, string[]>();
  /** A v7 file cut short whose data could still be placed: the truncation, thrown once the rest is read. */
  damage: InputError | null = null;
  // progress (push mode keeps bytes from min(planPos, keepFrom))
  planPos = 0;
  keepFrom = Number.POSITIVE_INFINITY;

  /** Format files still to parse: index in formats -> text. */
  private readonly formatText = new Map<number, string>();
  /** v7: BUFFER options by the offset of their section. */
  private readonly bufferOpts: Array<{ at: number; info: BufferInfo }> = [];
  /** v7 data sections walked: start offset -> flags, body range. */
  private readonly dataSections = new Map<number, { flags: number; body: number; end: number }>();
  private readonly optionsAt = new Set<number>();
  private readonly optionsWanted = new Set<number>();
  private stringsSize = 0;
  private maxDesc = -1;
  /** CPUSTAT lines go to this buffer name ('' = top) until a `Buffer: name` marker. */
  private statsFor = '';
  private v6Cpus = 0;
  /** v7: the CPUCOUNT option (0: not seen). */
  private cpuCount = 0;
  /** v6 instance buffers: name -> offset of their `flyrecord` table. */
  private readonly v6Instances: Array<{ name: string; at: number }> = [];
  private tscNoted = false;
  // the host's, under the names the parse uses
  private readonly facts: InputFacts;
  private readonly file: string;
  private readonly instance: string | undefined;
  private readonly corrupt: ContainerHost['corrupt'];
  private readonly truncated: ContainerHost['truncated'];
  private readonly inflate: ContainerHost['inflate'];
  private readonly note: ContainerHost['note'];

  constructor(private readonly host: ContainerHost) {
    ({ facts: this.facts, file: this.file, instance: this.instance } = host);
    ({ corrupt: this.corrupt, truncated: this.truncated, inflate: this.inflate, note: this.note } = host);
  }

  private get src(): Source | null {
    return this.host.source();
  }

  /** v6: the instance buffers' CPU tables (the one asked for, or all), after the top buffer's. */
  *readV6Instances(): Generator<void, void, unknown> {
    if (this.version !== 6) return;
    for (const inst of this.v6Instances) {
      if (this.instance !== undefined && this.instance !== inst.name) continue;
      this.planPos = inst.at;
      yield* this.v6Flyrecord(inst.at, inst.name, false);
    }
  }

  /** bytes [pos, pos + len), waiting for them in push mode. */
  private *need(pos: number, len: number, what: string): Generator<void, Uint8Array, unknown> {
    if (len > MAX_META && len > (this.src?.length ?? 0))
      throw this.corrupt(pos, `${what}: a size of ${len} bytes is not plausible`);
    for (;;) {
      const src = this.src!;
      if (pos + len <= src.length) {
        const v = src.get(pos, len);
        if (v) return v;
      }
      if (src.complete) throw this.truncated(pos, len, what);
      yield;
    }
  }

  private *cstring(pos: number, max: number, what: string): Generator<void, [string, number], unknown> {
    for (;;) {
      const src = this.src!;
      const avail = Math.min(max, src.length - pos);
      if (avail > 0) {
        const v = src.get(pos, avail)!;
        const z = v.indexOf(0);
        if (z >= 0) return [latin1(v.subarray(0, z)), pos + z + 1];
        if (avail === max) throw this.corrupt(pos, `${what} is not a NUL-terminated string`);
      }
      if (src.complete) throw this.truncated(pos, avail + 1, what);
      yield;
    }
  }

  /**
   * Reads the container up to the ring-buffer data's layout: header, metadata,
   * options, the buffers and where each CPU's data lies (v6 instances: see
   * readV6Instances). Yields when push mode has not received the bytes yet.
   */
  *read(): Generator<void, void, unknown> {
    const head = yield* this.need(0, 10, 'the trace.dat magic');
    for (let i = 0; i < MAGIC.length; i++) {
      if (head[i] !== MAGIC[i]) {
        throw this.corrupt(i, 'not a trace.dat file (expected the magic \\x17\\x08D followed by "tracing")');
      }
    }
    const [ver, p1] = yield* this.cstring(10, 16, 'the file version');
    if (ver !== '6' && ver !== '7') {
      throw this.corrupt(10, `unsupported trace.dat version ${quoted(ver)} (this reader knows versions 6 and 7)`);
    }
    this.version = Number(ver);
    const fixed = yield* this.need(p1, 6, 'the file header');
    if (fixed[0]! > 1) throw this.corrupt(p1, `bad endianness flag ${fixed[0]} (expected 0 or 1)`);
    this.le = fixed[0] === 0;
    const dv = new DataView(fixed.buffer, fixed.byteOffset, 6);
    this.pageSize = dv.getUint32(2, this.le);
    if (this.pageSize < 256 || this.pageSize > 1 << 24 || (this.pageSize & (this.pageSize - 1)) !== 0) {
      throw this.corrupt(p1 + 2, `implausible page size ${this.pageSize}`);
    }
    let pos = p1 + 6;
    if (this.version === 7) {
      const [zname, p2] = yield* this.cstring(pos, 64, 'the compression name');
      const [, p3] = yield* this.cstring(p2, 64, 'the compression version');
      if (zname !== 'none' && zname !== 'zstd' && zname !== 'zlib') {
        throw this.corrupt(pos, `unsupported compression ${quoted(zname)} (this reader knows zstd and zlib)`);
      }
      this.compression = zname;
      this.host.compressionKnown?.(zname);
      const off = yield* this.need(p3, 8, 'the offset of the first options section');
      const first = new Cur(off, this.le).u64();
      this.optionsWanted.add(first);
      pos = p3 + 8;
      this.planPos = pos;
      if (this.host.prefetch && this.src?.complete) this.host.prefetch(this.compressedSections(pos));
      try {
        yield* this.walkSections(pos);
        this.finishV7(false);
      } catch (e) {
        // a file cut short after its ring-buffer data began: read what the data still holds
        if (!this.host.isLastTruncation(e) || !this.recoverV7(e as InputError)) throw e;
      }
    } else {
      yield* this.readV6(pos);
    }
    if (!this.header) throw this.corrupt(0, 'the file has no header_page (ring buffer layout)');
    this.parseFormats();
  }

  // ---- v7

  /** The sections read (options and metadata): id -> what (for messages), and what to do with the body. */
  private readonly sections = new Map<number, [string, (b: Uint8Array) => void]>([
    [OPT_DONE, ['options', (b) => this.options7(b)]],
    [SEC_HEADER_INFO, ['header info', (b) => this.headerInfo(new Cur(b, this.le))]],
    [SEC_FTRACE_EVENTS, ['ftrace events', (b) => this.ftraceFormats(new Cur(b, this.le))]],
    [SEC_EVENT_FORMATS, ['event formats', (b) => this.eventFormats(new Cur(b, this.le))]],
    [SEC_KALLSYMS, ['kallsyms', (b) => (this.kallsymsText = latin1(new Cur(b, this.le).sized32()))]],
    [SEC_PRINTK, ['printk formats', (b) => parsePrintkFormats(utf8(new Cur(b, this.le).sized32()), this.printk)]],
    [SEC_CMDLINES, ['command lines', (b) => parseCmdlines(utf8(new Cur(b, this.le).sized64()), this.cmdlines)]],
    [SEC_STRINGS, ['strings', (b) => (this.stringsSize += b.length)]],
  ]);

  private *walkSections(pos: number): Generator<void, void, unknown> {
    for (;;) {
      this.planPos = pos;
      const src = this.src!;
      if (pos === src.length) {
        if (src.complete) return;
        yield;
        continue;
      }
      const h = yield* this.need(pos, 16, 'a section header');
      const c = new Cur(h, this.le);
      const id = c.u16();
      const flags = c.u16();
      const desc = c.u32();
      let size: number;
      try {
        size = c.u64();
      } catch (e) {
        throw this.corrupt(pos + 8, `section ${id}: ${(e as Error).message}`);
      }
      if (desc > this.maxDesc) this.maxDesc = desc;
      const body = pos + 16;
      const compressed = (flags & 1) !== 0;
      const read = this.sections.get(id);
      if (id === OPT_BUFFER || id === OPT_BUFFER_TEXT) {
        // ring-buffer data: read later, per CPU, once the options say whose it is
        this.dataSections.set(pos, { flags, body, end: body + size });
        if (pos < this.keepFrom) this.keepFrom = pos;
      } else if (read) {
        if (compressed && this.compression === 'none') {
          throw this.corrupt(pos, `section ${id} is marked compressed in a file without compression`);
        }
        if (id === OPT_DONE) this.optionsAt.add(pos);
        const b = yield* this.sectionBody(body, size, compressed, read[0]);
        this.meta(body, read[0], () => read[1](b));
      }
      // else a section this reader does not need (trace-cmd 3.4's BTF and modules files,
      // anything newer): skipped unread, whatever its flags (its bytes are not kept)
      pos = body + size;
    }
  }

  /**
   * The compressed sections walkSections will read, from pos on, as far as
   * the chain of section headers holds together in the bytes there are. It
   * reports nothing: the walk proper finds and names any damage.
   */
  private compressedSections(pos: number): CompressedSection[] {
    const src = this.src!;
    const out: CompressedSection[] = [];
    try {
      for (let h = src.get(pos, 16); h; h = src.get(pos, 16)) {
        const c = new Cur(h, this.le);
        const id = c.u16();
        const flags = c.u16();
        c.u32();
        const size = c.u64();
        const body = pos + 16;
        if (body + size > src.length) break;
        if ((flags & 1) !== 0 && this.sections.has(id) && size >= 8) {
          const s = new Cur(src.get(body, 8)!, this.le);
          const csize = s.u32();
          const usize = s.u32();
          const data = 8 + csize <= size ? src.get(body + 8, csize) : null;
          if (!data) break;
          out.push({ at: body, data: data.slice(), usize });
        }
        pos = body + size;
      }
    } catch (e) {
      if (!(e instanceof MetaError)) throw e; // an implausible size: the walk says so
    }
    return out;
  }

  /** A section's data, decompressed when the section is. */
  private *sectionBody(
    body: number,
    size: number,
    compressed: boolean,
    what: string,
  ): Generator<void, Uint8Array, unknown> {
    if (!compressed) {
      const v = yield* this.need(body, size, `the ${what} section`);
      return v.slice();
    }
    if (size < 8) throw this.corrupt(body, `the compressed ${what} section has no room for its sizes`);
    const h = yield* this.need(body, 8, `the ${what} section`);
    const dv = new DataView(h.buffer, h.byteOffset, 8);
    const csize = dv.getUint32(0, this.le);
    const usize = dv.getUint32(4, this.le);
    if (8 + csize > size)
      throw this.corrupt(body, `the ${what} section holds ${csize} compressed bytes in ${size - 8}`);
    const data = yield* this.need(body + 8, csize, `the ${what} section`);
    return this.inflate(data, usize, body, `the ${what} section`);
  }

  /** Runs a metadata parser, turning its complaints into an InputError at `at`. */
  private meta(at: number, what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e instanceof MetaError) throw this.corrupt(at, `corrupt ${what}: ${e.message}`);
      throw e;
    }
  }

  private options7(b: Uint8Array): void {
    const c = new Cur(b, this.le);
    for (;;) {
      const id = c.u16();
      const size = c.u32();
      const data = c.bytes(size);
      if (id === OPT_DONE) {
        const next = new Cur(data, this.le).u64();
        if (next !== 0) this.optionsWanted.add(next);
        return;
      }
      this.option(id, data);
    }
  }

  /** Options common to v6 and v7. */
  private option(id: number, data: Uint8Array): void {
    const c = new Cur(data, this.le);
    switch (id) {
      case OPT_CPUSTAT: {
        const text = latin1(data).replace(/\0+$/, '');
        const m = /^\s*Buffer:\s*(.*?)\s*$/m.exec(text);
        if (m && !/\bCPU:/.test(text)) {
          this.statsFor = m[1]!;
          return;
        }
        const list = this.statsByName.get(this.statsFor) ?? [];
        this.statsByName.set(this.statsFor, list);
        list.push(text);
        return;
      }
      case OPT_BUFFER:
      case OPT_BUFFER_TEXT: {
        const at = c.u64();
        const name = c.cstr();
        if (this.version === 6) {
          this.v6Instances.push({ name, at });
          if (at < this.keepFrom) this.keepFrom = at;
          return;
        }
        c.cstr(); // clock
        const info: BufferInfo = { name, cpus: [], compressed: false, latency: id === OPT_BUFFER_TEXT, stats: [] };
        if (id === OPT_BUFFER) {
          // trace-cmd >= 3.1 stores the sub-buffer size before the CPU count
          const rem = data.length - c.p;
          const n0 = rem >= 4 ? c.dv.getUint32(c.p, this.le) : -1;
          const n1 = rem >= 8 ? c.dv.getUint32(c.p + 4, this.le) : -1;
          if (rem >= 8 && (rem - 8) % 20 === 0 && n1 * 20 === rem - 8) c.u32();
          else if (!((rem - 4) % 20 === 0 && n0 * 20 === rem - 4))
            throw new MetaError('a BUFFER option of an unknown layout');
          const n = c.u32();
          for (let i = 0; i < n; i++) {
            const cpu = c.u32();
            const offset = c.u64();
            const size = c.u64();
            info.cpus.push({ cpu, offset, size });
          }
        }
        this.bufferOpts.push({ at, info });
        return;
      }
      case OPT_CPUCOUNT: {
        const n = data.length >= 4 ? c.u32() : 0;
        // more than any kernel has: a damaged option, the count stays unknown
        if (n <= MAX_CPUS) this.cpuCount = n;
        else this.note(`the CPU count option says ${n} CPUs, more than any kernel has (${MAX_CPUS}): not believed`);
        return;
      }
      case OPT_UNAME: {
        // the recording machine's uname: kernel evidence for the checks (engine/profiles.ts)
        const u = parseUname(latin1(data));
        if (u && this.facts.kernelRelease === null) {
          this.facts.kernelRelease = u.release;
          this.facts.machine = u.machine;
          this.facts.kernelSource = 'trace.dat uname option';
        }
        return;
      }
      case OPT_TSC2NSEC:
        if (!this.tscNoted) {
          this.tscNoted = true;
          this.note('time stamps are x86-tsc counts: the TSC2NSEC conversion is not applied (times are not seconds)');
        }
        return;
      default:
        // anything else (trace-cmd 3.4's LAST_BOOT_INFO, pointers to sections, ids not yet
        // invented) says nothing this reader needs: skipped by its size
        return;
    }
  }

  private headerInfo(c: Cur): void {
    const tag = c.text(12);
    if (tag !== 'header_page\0') throw new MetaError('expected "header_page"');
    const hp = c.text(c.u64());
    const h = parseHeaderPage(hp);
    if (!h) throw new MetaError('header_page has no 8-byte timestamp and 4- or 8-byte commit field');
    this.header = h;
    const tag2 = c.text(13);
    if (tag2 !== 'header_event\0') throw new MetaError('expected "header_event"');
    c.bytes(c.u64());
  }

  private ftraceFormats(c: Cur): void {
    const n = c.u32();
    for (let i = 0; i < n; i++) this.addFormat(c.text(c.u64()), 'ftrace');
  }

  private eventFormats(c: Cur): void {
    const systems = c.u32();
    for (let s = 0; s < systems; s++) {
      const sys = c.cstr();
      const n = c.u32();
      for (let i = 0; i < n; i++) this.addFormat(c.text(c.u64()), sys);
    }
  }

  private addFormat(text: string, system: string): void {
    // only the events dmadebug decodes need their fields (parsed once header_page,
    // which may come later in v7, gives the long size); the rest need an id
    const name = /^name:\s*(\S+)/m.exec(text)?.[1] ?? '';
    const id = /^ID:\s*(\d+)/m.exec(text)?.[1];
    if (id === undefined) return;
    const keep = decodedEventCode(system, name) !== 0 || this.formatText.size === 0;
    if (keep) this.formatText.set(this.formats.length, text);
    this.formats.push({ id: Number(id), system, name, fields: [] });
  }

  /** Fields of the formats kept as text (decoded events, and one for the common fields); which map events the kernel has. */
  private parseFormats(): void {
    const map = mapEventsOf(this.formats);
    if (map !== null) {
      this.facts.mapEvents = map;
      this.facts.mapEventsSource = 'trace.dat formats';
    }
    const longSize = this.header!.longSize;
    for (const [i, text] of this.formatText) {
      const f = this.formats[i]!;
      const parsed = parseEventFormat(text, f.system, longSize);
      if (parsed) this.formats[i] = parsed;
    }
    this.formatText.clear();
  }

  /** Checks the v7 layout and makes the buffers; `recovering`: the file ends early, skip what is missing. */
  private finishV7(recovering: boolean): void {
    if (!recovering) this.checkV7Complete();
    for (const { at, info } of this.bufferOpts) {
      const sec = this.dataSections.get(at);
      if (!sec)
        throw this.corrupt(
          at,
          `the BUFFER option of ${quoted(info.name)} points to byte ${at}, where no buffer section is`,
        );
      info.compressed = (sec.flags & 1) !== 0;
      if (info.compressed && this.compression === 'none') {
        throw this.corrupt(at, `buffer ${quoted(info.name)} is marked compressed in a file without compression`);
      }
      const counted = info.compressed && this.chunkCountInSize(info.cpus, sec.end);
      for (const c of info.cpus) {
        const extent = c.size + (info.compressed && !counted ? 4 : 0);
        if (c.size > 0 && (c.offset < sec.body || c.offset + extent > sec.end)) {
          throw this.corrupt(
            at,
            `buffer ${quoted(info.name)}: CPU ${c.cpu}'s data (${c.size} bytes at byte ${c.offset}) lies outside its section`,
          );
        }
        if (c.size > 0) c.size = extent;
      }
      this.buffers.push(info);
    }
  }

  /**
   * Does the file's size of each CPU's compressed data count the leading u32
   * chunk count? trace-cmd up to 3.1 left it out, 3.2 and later (commit
   * "libtracecmd: Fix tracecmd_compress_copy_from() write size return") count
   * it; trace-cmd's own reader goes by the chunk count and never looks. The
   * section ends where the last CPU's data does, which tells the two apart;
   * when it does not (not trace-cmd's layout), the old count if every CPU fits.
   */
  private chunkCountInSize(cpus: CpuData[], secEnd: number): boolean {
    let last: CpuData | null = null;
    for (const c of cpus) if (c.size > 0 && (!last || c.offset > last.offset)) last = c;
    if (!last) return false;
    const end = last.offset + last.size;
    if (end === secEnd) return true;
    if (end + 4 === secEnd) return false;
    return cpus.some((c) => c.size > 0 && c.offset + c.size + 4 > secEnd);
  }

  private checkV7Complete(): void {
    for (const want of this.optionsWanted) {
      if (!this.optionsAt.has(want)) {
        throw this.corrupt(
          this.src!.length,
          `the options section at byte ${want} is missing${want >= this.src!.length ? ' (the file ends early)' : ''}`,
        );
      }
    }
    if (this.maxDesc >= 0 && this.stringsSize === 0) {
      throw this.corrupt(this.src!.length, 'the strings section is missing (the file ends early)');
    }
  }

  /**
   * A v7 file cut short after its ring-buffer data began. trace-cmd writes a
   * buffer's BUFFER option (which says where each CPU's data lies) after its
   * data, so the buffer whose data the cut falls in has none: its layout is
   * rebuilt from its compressed data (each CPU's data starts page-aligned with
   * a chunk count, then its chunks; CPUs are numbered in file order). Its name
   * is in the strings section at the very end, so it is taken as --instance
   * when given. The truncation is thrown once everything readable was
   * delivered. False: nothing can be recovered.
   */
  private recoverV7(damage: InputError): boolean {
    if (!this.header || this.formats.length === 0) return false;
    this.finishV7(true);
    const src = this.src!;
    const described = new Set(this.bufferOpts.map((b) => b.at));
    const orphans = [...this.dataSections].filter(
      ([at, d]) => !described.has(at) && d.end > d.body && d.body < src.length,
    );
    this.damage = damage;
    if (orphans.length > 1) {
      this.note(`the file ends before the options that place ${orphans.length} buffers' data: they cannot be read`);
    }
    if (orphans.length !== 1) return true;
    const sec = orphans[0]![1];
    if ((sec.flags & 1) === 0) {
      this.note('the file ends before the options that place each CPU in its uncompressed data: none can be read');
      return true;
    }
    const name = this.instance ?? (this.buffers.some((b) => b.name === '') ? UNNAMED : '');
    const info: BufferInfo = { name, cpus: [], compressed: true, latency: false, stats: [] };
    const align = (x: number) => Math.ceil(x / this.pageSize) * this.pageSize;
    const u32 = (at: number) => {
      const b = src.get(at, 4);
      return b ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, this.le) : -1;
    };
    let p = align(sec.body);
    let whole = true;
    while (p + 4 <= Math.min(sec.end, src.length)) {
      const count = u32(p);
      if (count < 0 || count > sec.end - p) break; // not a chunk count: the data ends here
      let q = p + 4;
      for (let i = 0; i < count && q + 8 <= src.length; i++) q += 8 + u32(q);
      whole = q <= src.length && q <= sec.end;
      info.cpus.push({ cpu: info.cpus.length, offset: p, size: (whole ? q : sec.end) - p });
      if (!whole) break;
      p = align(q);
    }
    const found = info.cpus.length;
    // CPUs whose data lies past the end: CPUCOUNT says how many; without it, at least one
    // more when the data section goes on past the end (each is cut short from the start)
    const more = whole && sec.end > src.length ? 1 : 0;
    for (let cpu = found; cpu < Math.max(this.cpuCount, found + more); cpu++) {
      info.cpus.push({ cpu, offset: src.length, size: 5 }); // a chunk count and more, all past the end
    }
    const which = this.instance !== undefined ? ` (taken to be buffer ${quoted(name)})` : '';
    this.note(
      `the file ends before the options that place each CPU's data${which}; found the data of ${found} CPU${found === 1 ? '' : 's'} by walking it (numbered in file order)`,
    );
    this.buffers.push(info);
    this.damage = new InputError(
      this.file,
      `byte ${src.length}`,
      `the file ends inside the ring-buffer data (${sec.end - sec.body} bytes at byte ${sec.body}), before the options that place each CPU's data`,
    );
    return true;
  }

  // ---- v6

  private *readV6(pos: number): Generator<void, void, unknown> {
    const meta = function* (this: TraceDatContainer, at: number, sizeBytes: number, what: string) {
      const h = yield* this.need(at, sizeBytes, what);
      const c = new Cur(h, this.le);
      let n: number;
      try {
        n = sizeBytes === 8 ? c.u64() : c.u32();
      } catch (e) {
        throw this.corrupt(at, `${what}: ${(e as Error).message}`);
      }
      const b = yield* this.need(at + sizeBytes, n, what);
      return [b, at + sizeBytes + n] as const;
    }.bind(this);
    let t = yield* this.need(pos, 12, 'header_page');
    if (latin1(t) !== 'header_page\0') throw this.corrupt(pos, 'expected "header_page"');
    let [b, p] = yield* meta(pos + 12, 8, 'header_page');
    const h = parseHeaderPage(latin1(b));
    if (!h) throw this.corrupt(pos, 'header_page has no 8-byte timestamp and 4- or 8-byte commit field');
    this.header = h;
    t = yield* this.need(p, 13, 'header_event');
    if (latin1(t) !== 'header_event\0') throw this.corrupt(p, 'expected "header_event"');
    [b, p] = yield* meta(p + 13, 8, 'header_event');
    this.planPos = p;
    let c = yield* this.need(p, 4, 'the ftrace format count');
    let n = new DataView(c.buffer, c.byteOffset, 4).getUint32(0, this.le);
    p += 4;
    for (let i = 0; i < n; i++) {
      [b, p] = yield* meta(p, 8, 'an ftrace event format');
      this.addFormat(latin1(b), 'ftrace');
      this.planPos = p;
    }
    c = yield* this.need(p, 4, 'the event system count');
    const systems = new DataView(c.buffer, c.byteOffset, 4).getUint32(0, this.le);
    p += 4;
    for (let s = 0; s < systems; s++) {
      const [sys, p2] = yield* this.cstring(p, 256, 'an event system name');
      c = yield* this.need(p2, 4, 'an event count');
      n = new DataView(c.buffer, c.byteOffset, 4).getUint32(0, this.le);
      p = p2 + 4;
      for (let i = 0; i < n; i++) {
        [b, p] = yield* meta(p, 8, `an event format of ${sys}`);
        this.addFormat(latin1(b), sys);
        this.planPos = p;
      }
    }
    [b, p] = yield* meta(p, 4, 'kallsyms');
    this.kallsymsText = latin1(b);
    this.planPos = p;
    [b, p] = yield* meta(p, 4, 'printk formats');
    parsePrintkFormats(utf8(b), this.printk);
    [b, p] = yield* meta(p, 8, 'command lines');
    parseCmdlines(utf8(b), this.cmdlines);
    this.planPos = p;
    c = yield* this.need(p, 4, 'the CPU count');
    this.v6Cpus = new DataView(c.buffer, c.byteOffset, 4).getUint32(0, this.le);
    if (this.v6Cpus > 4096) throw this.corrupt(p, `implausible CPU count ${this.v6Cpus}`);
    p += 4;
    p = yield* this.v6Flyrecord(p, '', true);
  }

  /** `options  \0` (options) then `flyrecord\0` and the CPU table; returns the position after it. */
  private *v6Flyrecord(p: number, name: string, top: boolean): Generator<void, number, unknown> {
    let t = latin1(yield* this.need(p, 10, 'the data kind'));
    p += 10;
    if (t === 'options  \0') {
      for (;;) {
        const h = yield* this.need(p, 2, 'an option');
        const id = new DataView(h.buffer, h.byteOffset, 2).getUint16(0, this.le);
        p += 2;
        if (id === 0) break;
        const s = yield* this.need(p, 4, 'an option');
        const size = new DataView(s.buffer, s.byteOffset, 4).getUint32(0, this.le);
        const data = (yield* this.need(p + 4, size, 'an option')).slice();
        const at = p - 2;
        if (top) this.meta(at, 'option', () => this.option(id, data));
        p += 4 + size;
        this.planPos = p;
      }
      t = latin1(yield* this.need(p, 10, 'the data kind'));
      p += 10;
    }
    const info: BufferInfo = { name, cpus: [], compressed: false, latency: false, stats: [] };
    if (t === 'latency  \0') {
      info.latency = true;
      this.buffers.push(info);
      return p;
    }
    if (t !== 'flyrecord\0') throw this.corrupt(p - 10, 'expected "flyrecord" or "latency"');
    const table = yield* this.need(p, 16 * this.v6Cpus, 'the CPU data table');
    const c = new Cur(table, this.le);
    for (let i = 0; i < this.v6Cpus; i++) {
      let offset: number;
      let size: number;
      try {
        offset = c.u64();
        size = c.u64();
      } catch (e) {
        throw this.corrupt(p + i * 16, (e as Error).message);
      }
      info.cpus.push({ cpu: i, offset, size });
      if (size > 0 && offset < this.keepFrom) this.keepFrom = offset;
    }
    p += 16 * this.v6Cpus;
    this.planPos = p;
    this.buffers.push(info);
    return p;
  }
}
