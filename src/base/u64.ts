// 64-bit values as two u32 halves (hi, lo). DMA addresses, physical addresses
// and DMA_MAPPING_ERROR (all ones) must stay exact, and BigInt is far too slow
// for hot loops, so the engine works on halves and formats them here.

const HEX = '0123456789abcdef';

/** Lower-case hex without leading zeros (the kernel's %llx). */
export function hex(hi: number, lo: number): string {
  if (hi === 0) return (lo >>> 0).toString(16);
  return (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, '0');
}

/** 16 zero-padded hex digits (the kernel's %016llx / %pa without 0x). */
export function hex16(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

/** Combine halves into a Number. Exact only below 2^53. */
export function toNumber(hi: number, lo: number): number {
  return (hi >>> 0) * 0x100000000 + (lo >>> 0);
}

export function toBigInt(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function fromBigInt(v: bigint): [number, number] {
  const m = v & 0xffffffffffffffffn;
  return [Number(m >> 32n) >>> 0, Number(m & 0xffffffffn) >>> 0];
}

/** Parse a hex string (with or without 0x) into halves; null when not hex or too long. */
export function parseHex64(s: string): [number, number] | null {
  let t = s;
  if (t.startsWith('0x') || t.startsWith('0X')) t = t.slice(2);
  if (t.length === 0 || t.length > 16) return null;
  for (let i = 0; i < t.length; i++) if (HEX.indexOf(t[i]!.toLowerCase()) < 0) return null;
  const lo = Number.parseInt(t.slice(-8), 16) >>> 0;
  const hi = t.length > 8 ? Number.parseInt(t.slice(0, -8), 16) >>> 0 : 0;
  return [hi, lo];
}

/** (hi,lo) + n for 0 <= n < 2^53: returns [hi, lo] (wraps at 2^64). Allocates; not for hot paths. */
export function add64(hi: number, lo: number, n: number): [number, number] {
  const nlo = n % 0x100000000;
  const nhi = Math.floor(n / 0x100000000);
  const sum = (lo >>> 0) + nlo;
  const carry = sum >= 0x100000000 ? 1 : 0;
  return [(hi + nhi + carry) >>> 0, sum >>> 0];
}

/** Compare two u64s: -1, 0, 1. */
export function cmp64(ahi: number, alo: number, bhi: number, blo: number): number {
  if (ahi >>> 0 !== bhi >>> 0) return ahi >>> 0 < bhi >>> 0 ? -1 : 1;
  if (alo >>> 0 !== blo >>> 0) return alo >>> 0 < blo >>> 0 ? -1 : 1;
  return 0;
}
