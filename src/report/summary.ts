// The human summary on stderr: what was found, and how much the trace could
// prove (coverage), so that a clean result on a partial trace is not mistaken
// for a clean bill of health.

import { tsUnit } from '../engine/coverage.js';
import type { ProfileChoice } from '../engine/profiles.js';
import type { Hidden, SummaryData } from './json.js';
import type { Paint } from './paint.js';

/**
 * The profile line: `kernel: 7.3 profile, x86_64 (trace.dat uname option:
 * kernel 7.3.4-amd64; machine x86_64)`, or with what was assumed after a dash:
 * `kernel: 7.3 profile, x86_64 — assumed: the input names no kernel (use --kernel); ...`.
 */
export function profileLine(p: ProfileChoice): string {
  return `kernel: ${p.kernel} profile, ${p.arch} ${profileEvidence(p)}`;
}

/** The evidence part of the profile line: "(what the input said)", then "— what was assumed". */
export function profileEvidence(p: ProfileChoice): string {
  const known: string[] = [];
  const assumed: string[] = [];
  (p.kernelAssumed ? assumed : known).push(p.kernelEvidence);
  (p.archAssumed ? assumed : known).push(p.archEvidence);
  const parts: string[] = [];
  if (known.length > 0) parts.push(`(${joinEvidence(known)})`);
  if (assumed.length > 0) parts.push(`\u2014 ${joinEvidence(assumed)}`);
  return parts.join(' ');
}

/** Evidence strings joined by '; ', a source named once when the next one repeats it ("X: a; b"). */
function joinEvidence(list: string[]): string {
  let out = '';
  let prefix = '';
  for (const e of list) {
    const i = e.indexOf(': ');
    const p = i > 0 ? e.slice(0, i + 2) : '';
    if (out === '') out = e;
    else out += `; ${p !== '' && p === prefix ? e.slice(p.length) : e}`;
    prefix = p;
  }
  return out;
}

/** A mapping stack's call site: its first frame outside the DMA API (else its first), or null with no stack. */
export function callSite(stack: readonly string[] | null): string | null {
  return stack?.find((f) => !/^(__)?dma_|^debug_dma_/.test(f)) ?? stack?.[0] ?? null;
}

/** What the summary says beyond the run's data: the input's name (several inputs), what was hidden. */
export interface SummaryExtra {
  /** Named in the first line (`dmadebug: a.txt: 1 error, ...`) when a call has several inputs. */
  input?: string;
  hidden?: Hidden;
}

export function summaryText(s: SummaryData, paint: Paint, extra: SummaryExtra = {}): string {
  const lines: string[] = [];
  const c = s.coverage;
  const { error, unconfirmed } = s.severities;
  const kfp = s.kernelFalsePositives;
  // Kernel false positives have severity info; they are counted apart, never as errors.
  const info = Math.max(0, s.severities.info - kfp);
  const verdict = error > 0 ? paint.error(`${error} error${error === 1 ? '' : 's'}`) : paint.bold('no errors');
  const falsePositives = kfp > 0 ? `, ${kfp} kernel false positive${kfp === 1 ? '' : 's'}` : '';
  const name = extra.input !== undefined ? `${extra.input}: ` : '';
  lines.push(
    `dmadebug: ${name}${verdict}, ${unconfirmed} unconfirmed, ${info} info${falsePositives}; ${s.events} dma/kmem events; ${s.live} mappings live at the end`,
  );
  const h = extra.hidden;
  if (h && h.unconfirmed + h.info + h.kernelFalsePositives > 0) {
    const k = h.kernelFalsePositives;
    const what = [
      h.unconfirmed > 0 ? `${h.unconfirmed} unconfirmed` : '',
      h.info > 0 ? `${h.info} info` : '',
      k > 0 ? `${k} kernel false positive${k === 1 ? '' : 's'}` : '',
    ]
      .filter((x) => x !== '')
      .join(', ');
    lines.push(`  hidden by --min-severity ${h.below}: ${what} (counted above, not printed)`);
  }
  lines.push(`  ${profileLine(s.profile)}`);
  if (s.profile.conflict !== null) lines.push(`  ${paint.warn(`profile conflict: ${s.profile.conflict}`)}`);
  if (kfp > 0) {
    lines.push(
      `  kernel false positives: ${kfp} line${kfp === 1 ? '' : 's'} the kernel prints on correct code (printed as the kernel does, with a note; not errors)`,
    );
  }
  const checks = Object.entries(s.findings);
  if (checks.length > 0) lines.push(`  findings: ${checks.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (c.firstTs === null) lines.push('  coverage: no events were read');
  else {
    // from boot, yet with gaps (lost events, damaged lines, a CPU cut short): not complete
    const scope = c.fromBoot ? (c.complete ? 'from boot' : 'from boot, with gaps') : 'partial (started after boot)';
    lines.push(`  coverage: ${scope} (${c.decidedBy}); events ${c.firstTs}..${c.lastTs}${tsUnit(c.firstTs)}`);
  }
  const lost: string[] = [];
  if (c.lossNotices > 0) {
    const per = Object.entries(c.lostByCpu)
      .map(([cpu, n]) => `cpu${cpu}:${n}`)
      .join(' ');
    const notices = `${c.lossNotices} notice${c.lossNotices === 1 ? '' : 's'}`;
    lost.push(`${c.lostEvents} events in ${notices}${per === '' ? '' : ` (${per})`}`);
  }
  if (c.overwritten > 0) lost.push(`${c.overwritten} overwritten before reading`);
  if (lost.length > 0) lines.push(`  lost: ${lost.join('; ')}`);
  if (c.damagedLines > 0) {
    const per = Object.entries(c.damagedByCpu)
      .map(([cpu, n]) => (cpu === 'all' ? `any cpu:${n}` : `cpu${cpu}:${n}`))
      .join(' ');
    const n = c.damagedLines;
    lines.push(
      `  damaged: ${n} line${n === 1 ? '' : 's'} could not be read (${per}), each counted as a lost event; findings that rest on ${n === 1 ? 'it' : 'them'} are unconfirmed (-v lists them)`,
    );
  }
  for (const cut of c.cutShort) {
    const which =
      cut.from === null
        ? `none of CPU ${cut.cpu}'s events could be read`
        : `CPU ${cut.cpu}'s events stop at ${cut.from} s`;
    lines.push(
      `  cut short: ${which} (damaged input); findings that rest on earlier events are unconfirmed from then on`,
    );
  }
  if (c.windows) {
    // an overwritten ring buffer: each CPU kept its own window of events
    const late = c.windows.late
      .map((w) => (w.from === null ? `CPU ${w.cpu} kept none` : `CPU ${w.cpu}'s from ${w.from} s`))
      .join(', ');
    const all =
      c.windows.allFrom !== null
        ? `proofs that rest on the absence of events hold from ${c.windows.allFrom} s, where every window is open`
        : c.windows.late.every((w) => w.from !== null)
          ? 'the input does not say how many CPUs there are (no #P:N or cpus=N), so no span is known to be covered by every CPU and no proof rests on the absence of events'
          : 'no span is covered by every CPU, so no proof rests on the absence of events';
    const why = c.windows.known
      ? "the ring buffer overwrote each CPU's oldest events"
      : 'the trace starts late and does not say whether the ring buffer overwrote events, so each CPU may keep its own window';
    lines.push(`  windows: ${why}; kept: ${late || 'unknown CPUs'}; ${all}`);
  }
  if (c.unknownUnmaps > 0 || c.unknownSyncs > 0) {
    lines.push(`  unknown addresses: ${c.unknownUnmaps} unmaps/frees, ${c.unknownSyncs} syncs`);
  }
  if (s.leaks.length > 0) {
    // leak-at-end (info): what is still mapped, by device and call site, largest first.
    const top = [...s.leaks].sort((a, b) => b.count - a.count).slice(0, 5);
    lines.push(
      `  live at the end (leak-at-end, info): ${s.leaks.length} group${s.leaks.length === 1 ? '' : 's'} by device and call site`,
    );
    for (const g of top) {
      const caller = callSite(g.stack);
      const site = caller ? ` at ${caller}` : '';
      lines.push(`    ${g.device}: ${g.count} mappings, ${g.bytes} bytes${site}`);
    }
  }
  if (c.truncatedSgCalls > 0) lines.push(`  truncated sg lists: ${c.truncatedSgCalls} (later segments not checked)`);
  if (c.unknownPhysEntries > 0) {
    lines.push(
      `  ${c.unknownPhysEntries} live coherent entries have no provable physical address (not cacheline-tracked)`,
    );
  }
  if (s.pool.modelled) {
    const p = s.pool;
    lines.push(
      `  entry pool: ${p.preallocated} preallocated, nr_total_entries=${p.nrTotalEntries} min_free_entries=${p.minFreeEntries} num_free_entries=${p.numFreeEntries}, peak ${p.peakUsed} in use` +
        (p.disabled ? ' — debugging disabled (out of memory)' : ''),
    );
  }
  if (s.driverNames === 'bus-names') {
    lines.push('  driver names: not in the trace; findings name the bus (record side information for real names)');
  }
  // damaged lines were said above; the rest are lines that are no event line
  const malformed = s.badLines - c.damagedLines;
  if (malformed > 0) lines.push(`  ${malformed} malformed lines skipped (-v lists them)`);
  return `${lines.join('\n')}\n`;
}
