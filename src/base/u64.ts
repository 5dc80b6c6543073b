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

export function toBigInt(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
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
