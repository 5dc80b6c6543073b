// Number formats shared by the text renderers and the HTML report's browser
// script (no imports, so the browser bundle can take it as is).

/** Bytes, short and readable: 512 B, 4.0 KiB, 1.5 MiB. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
