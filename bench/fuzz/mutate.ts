// Seeded randomness and the byte-level mutations every target shares. Input
// number i of a run with seed S is made from its own generator, seeded from
// (S, i), so any input can be made again on its own (the supervisor remakes
// the input a killed runner was on; `--only I` replays one).

/** xorshift128+-quality enough for fuzzing, 32-bit state words, deterministic. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    // splitmix32 of the seed and the stream number fill the state
    let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
  }

  /** A 32-bit unsigned integer (sfc32). */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  /** An integer in [1, max], small ones much likelier (log-uniform). */
  logUniform(max: number): number {
    return Math.max(1, Math.min(max, Math.floor(Math.exp(this.float() * Math.log(max + 1)))));
  }
}

/** Values that break size, count and offset fields. */
const INTERESTING_32 = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe,
  0xffffffff,
];

/** Writes `v` as a little- or big-endian integer of `width` bytes at `at` (clipped to the buffer). */
function putInt(b: Uint8Array, at: number, width: number, v: bigint, le: boolean): void {
  for (let k = 0; k < width && at + k < b.length; k++) {
    const byte = Number((v >> BigInt(8 * k)) & 0xffn);
    b[le ? at + k : at + width - 1 - k] = byte;
  }
}

/** A value for an integer field of `width` bytes: boundary values, small, or random. */
export function interestingInt(rng: Rng, width: number): bigint {
  const bits = BigInt(width * 8);
  const all = (1n << bits) - 1n;
  switch (rng.int(6)) {
    case 0:
      return BigInt(rng.pick(INTERESTING_32)) & all;
    case 1:
      return all; // -1
    case 2:
      return (1n << (bits - 1n)) + BigInt(rng.int(3)) - 1n; // around the sign bit
    case 3:
      return BigInt(rng.int(64));
    case 4:
      return BigInt(rng.u32()) & all;
    default:
      return ((BigInt(rng.u32()) << 32n) | BigInt(rng.u32())) & all;
  }
}

/** The mutations of mutateBytes that keep the length (and so every offset after them). */
const IN_PLACE = [0, 1, 2, 7, 9, 10];

/**
 * One byte-level mutation of `b` inside [lo, hi) (the whole buffer by default); a new buffer.
 * `inPlace`: only mutations that keep the length (a trace.dat's offsets stay right, so the
 * reader gets past them to what was changed).
 */
export function mutateBytes(
  rng: Rng,
  b: Uint8Array,
  lo = 0,
  hi = b.length,
  other?: Uint8Array,
  inPlace = false,
): Uint8Array {
  lo = Math.max(0, Math.min(lo, b.length));
  hi = Math.max(lo, Math.min(hi, b.length));
  const span = hi - lo;
  const at = lo + rng.int(span);
  const out = () => Uint8Array.from(b);
  switch (inPlace ? rng.pick(IN_PLACE) : rng.int(11)) {
    case 0: {
      // bit flips
      const o = out();
      const n = rng.logUniform(8);
      for (let k = 0; k < n && span > 0; k++) o[lo + rng.int(span)]! ^= 1 << rng.int(8);
      return o;
    }
    case 1: {
      // random bytes
      const o = out();
      const n = rng.logUniform(16);
      for (let k = 0; k < n && span > 0; k++) o[lo + rng.int(span)] = rng.int(256);
      return o;
    }
    case 2: {
      // an interesting integer, either byte order, at an aligned or any offset
      const o = out();
      const width = rng.pick([1, 2, 4, 8]);
      const pos = rng.chance(0.7) ? at - (at % width) : at;
      putInt(o, Math.max(0, pos), width, interestingInt(rng, width), rng.chance(0.8));
      return o;
    }
    case 3: {
      // insert bytes (random, zeros or a repeat of what is there)
      const n = rng.logUniform(rng.chance(0.1) ? 65536 : 64);
      const ins = new Uint8Array(n);
      const kind = rng.int(3);
      for (let k = 0; k < n; k++)
        ins[k] = kind === 0 ? rng.int(256) : kind === 1 ? 0 : b[lo + (k % Math.max(1, span))]!;
      return concat(b.subarray(0, at), ins, b.subarray(at));
    }
    case 4: {
      // delete a range
      const n = Math.min(hi - at, rng.logUniform(rng.chance(0.2) ? 65536 : 64));
      return concat(b.subarray(0, at), b.subarray(at + n));
    }
    case 5: {
      // duplicate a range
      const n = Math.min(hi - at, rng.logUniform(4096));
      return concat(b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n));
    }
    case 6:
      // truncate
      return b.slice(0, at);
    case 7: {
      // copy a range over another place
      const o = out();
      const n = Math.min(hi - at, rng.logUniform(256));
      const to = lo + rng.int(span);
      o.set(b.subarray(at, at + n).slice(0, o.length - to), to);
      return o;
    }
    case 8: {
      // splice with another input: this one's head, the other's tail
      if (!other || other.length === 0) return b.slice(0, at);
      const from = rng.int(other.length);
      return concat(b.subarray(0, at), other.subarray(from));
    }
    case 9: {
      // zero or 0xff a run
      const o = out();
      const n = Math.min(hi - at, rng.logUniform(512));
      o.fill(rng.chance(0.5) ? 0 : 0xff, at, at + n);
      return o;
    }
    default: {
      // add or subtract a small amount from a 32-bit word
      const o = out();
      const pos = Math.max(lo, at - (at % 4));
      if (pos + 4 > o.length) return o;
      const dv = new DataView(o.buffer, o.byteOffset, o.byteLength);
      const le = rng.chance(0.8);
      dv.setUint32(pos, (dv.getUint32(pos, le) + rng.range(-16, 16)) >>> 0, le);
      return o;
    }
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const o = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    o.set(p, at);
    at += p.length;
  }
  return o;
}

/** Options every `check` run may get: output formats and the knobs that change what the engine does. */
export function commonFlags(rng: Rng): string[] {
  const f: string[] = [];
  if (rng.chance(0.3)) f.push('--json');
  if (rng.chance(0.3)) f.push('-v');
  if (rng.chance(0.05)) f.push('--kernel', rng.pick(['6.12', '7.3']));
  if (rng.chance(0.05)) f.push('--arch', rng.pick(['x86_64', 'arm64']));
  if (rng.chance(0.05)) f.push(rng.pick(['--from-boot', '--not-from-boot']));
  if (rng.chance(0.03)) f.push('--num-errors', String(rng.int(3)));
  if (rng.chance(0.03)) f.push('--entries', String(rng.range(1, 64)));
  if (rng.chance(0.02)) f.push('--fixed-pool');
  return f;
}
