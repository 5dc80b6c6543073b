// Colour decisions, made once per stream: only on a TTY, never with NO_COLOR,
// and --color/--no-color override. Renderers receive a Paint and never look at
// the environment themselves.

import pc from 'picocolors';

export interface Paint {
  error(s: string): string;
  warn(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const plain: Paint = { error: (s) => s, warn: (s) => s, dim: (s) => s, bold: (s) => s };

export function makePaint(enabled: boolean): Paint {
  if (!enabled) return plain;
  const c = pc.createColors(true);
  return { error: c.red, warn: c.yellow, dim: c.dim, bold: c.bold };
}

/** auto: a TTY and no NO_COLOR; 'always'/'never' force it. */
export function colorFor(stream: { isTTY?: boolean }, mode: 'auto' | 'always' | 'never', env = process.env): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}
