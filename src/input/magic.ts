// What an input is, from its first bytes (never from its name): compressed
// (gzip, zstd, xz) or not, and a trace.dat or text. Its own module because
// the launcher (worker-standby.ts, started before the rest of the command
// line loads) asks the same question as openInput (source.ts), and must not
// load the decompressors and parsers to ask it.

export type InputKind = 'text' | 'tracedat';
export type Compression = 'none' | 'gzip' | 'zstd' | 'xz';

const MAGIC_GZIP = [0x1f, 0x8b];
const MAGIC_ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const MAGIC_XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const MAGIC_TRACEDAT = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]; // \x17\x08D + "tracing"
/** Bytes enough for every magic number here. */
export const HEAD_BYTES = 10;

function hasMagic(head: Uint8Array, magic: number[]): boolean {
  if (head.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (head[i] !== magic[i]) return false;
  return true;
}

export function detectCompression(head: Uint8Array): Compression {
  if (hasMagic(head, MAGIC_GZIP)) return 'gzip';
  if (hasMagic(head, MAGIC_ZSTD)) return 'zstd';
  if (hasMagic(head, MAGIC_XZ)) return 'xz';
  return 'none';
}

/**
 * 'tracedat' when the head starts with the magic, or is all of an input shorter
 * than the magic and starts like it (a trace.dat cut short: its reader then
 * says where it ends).
 */
export function detectKind(head: Uint8Array): InputKind {
  const n = Math.min(head.length, MAGIC_TRACEDAT.length);
  if (n === 0) return 'text';
  for (let i = 0; i < n; i++) if (head[i] !== MAGIC_TRACEDAT[i]) return 'text';
  return 'tracedat';
}
