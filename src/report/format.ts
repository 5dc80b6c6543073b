// The output formats of `check` and `live` behind one interface, so the CLI only
// picks one: text (the kernel's lines), JSON Lines, KTAP (ktap.ts), JUnit XML
// (junit.ts) and GitHub workflow commands (github.ts). Every renderer is fed
// the same things: the findings as the engine delivers them (already filtered
// by --min-severity, see SeverityFilter) and, after each input, its summary.
// A streaming format returns its text at once; a whole-run format (KTAP,
// JUnit) keeps what it needs and returns it at the end of an input or of the
// run. The policy of --fail-on (which findings fail a test and the run) and
// --min-severity (which findings are printed) is here too, so every format and
// the exit status agree.

import type { Finding, Severity } from '../engine/findings.js';
import type { InputError } from '../input/errors.js';
import { GithubRenderer } from './github.js';
import type { Hidden } from './json.js';
import { findingJson, type SummaryData, summaryJson } from './json.js';
import { JunitRenderer } from './junit.js';
import { KtapRenderer } from './ktap.js';
import type { Paint } from './paint.js';
import { formatFinding } from './text.js';

export const FORMATS = ['text', 'json', 'ktap', 'junit', 'github'] as const;
export type FormatName = (typeof FORMATS)[number];

/** --fail-on: the least severity that fails the run (never: nothing does; input errors still give 2). */
export const FAIL_ON = ['error', 'unconfirmed', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** --min-severity: the least severity printed. */
export const SEVERITIES = ['error', 'unconfirmed', 'info'] as const;

const RANK: Record<Severity, number> = { info: 0, unconfirmed: 1, error: 2 };

/**
 * Whether a finding fails: a test in KTAP/JUnit, an `::error` in GitHub's
 * format, and the exit status. Errors do (never the kernel's own false
 * positives, which have severity info); with --fail-on unconfirmed,
 * unconfirmed findings too. --fail-on never changes the exit status only: the
 * reports still say which families have errors.
 */
export function fails(f: Pick<Finding, 'severity' | 'kernelFalsePositive'>, failOn: FailOn): boolean {
  if (f.kernelFalsePositive !== null) return false;
  return f.severity === 'error' || (failOn === 'unconfirmed' && f.severity === 'unconfirmed');
}

/** What the exit status needs of one input's run. */
export interface RunCounts {
  /** Errors delivered (not the kernel's false positives). */
  errors: number;
  unconfirmed: number;
}

/** 0 clean, 1 when a finding that --fail-on names was found; 2 (input errors) is the caller's. */
export function findingsStatus(c: RunCounts, failOn: FailOn): 0 | 1 {
  if (failOn === 'never') return 0;
  if (c.errors > 0) return 1;
  return failOn === 'unconfirmed' && c.unconfirmed > 0 ? 1 : 0;
}

/** --min-severity: passes what is printed and counts what it hides, per input. */
export class SeverityFilter {
  private hiddenUnconfirmed = 0;
  private hiddenInfo = 0;
  private hiddenFalsePositives = 0;

  constructor(readonly min: Severity) {}

  /** True when `f` is printed; otherwise it is counted as hidden. */
  passes(f: Pick<Finding, 'severity' | 'kernelFalsePositive'>): boolean {
    if (RANK[f.severity] >= RANK[this.min]) return true;
    if (f.kernelFalsePositive !== null) this.hiddenFalsePositives++;
    else if (f.severity === 'unconfirmed') this.hiddenUnconfirmed++;
    else this.hiddenInfo++;
    return false;
  }

  /** What was hidden since the last take(), and a fresh count for the next input. */
  take(): Hidden {
    const h: Hidden = {
      unconfirmed: this.hiddenUnconfirmed,
      info: this.hiddenInfo,
      kernelFalsePositives: this.hiddenFalsePositives,
      below: this.min,
    };
    this.hiddenUnconfirmed = 0;
    this.hiddenInfo = 0;
    this.hiddenFalsePositives = 0;
    return h;
  }

  /** Whether leak-at-end (info) is printed. */
  showsInfo(): boolean {
    return this.min === 'info';
  }
}

/** The input a finding came from. */
export interface InputRef {
  /** As the user named it ('<stdin>' for '-'). */
  readonly label: string;
  /** What was read: text lines carry line numbers; a trace.dat's `line` is a record number. */
  readonly kind: 'text' | 'tracedat' | 'tracefs-raw';
}

/** One input, read to its end (or to the error that stopped it). */
export interface InputEnd {
  readonly label: string;
  /** null when the input was never read (its side information could not be). */
  readonly summary: SummaryData | null;
  /** The error that stopped reading, or null. */
  readonly error: InputError | null;
  /** What --min-severity hid. */
  readonly hidden: Hidden;
  /** Wall-clock milliseconds spent on it. */
  readonly ms: number;
}

export interface RenderOptions {
  failOn: FailOn;
  minSeverity: Severity;
  /** Colour for text (the other formats are for machines and never coloured). */
  paint: Paint;
  /** Text: every frame of both stacks (--full-stack), not the first lines. */
  fullStack?: boolean;
}

export interface FindingsRenderer {
  /** Before the first input, with all their labels (KTAP's plan). */
  begin(inputs: readonly string[]): string;
  /** A finding that --min-severity lets through. */
  finding(f: Finding, input: InputRef): string;
  /** After each input. */
  endInput(end: InputEnd): string;
  /** After the last input. */
  end(): string;
}

/** No colour: machine formats and the text inside them. */
export const PLAIN: Paint = { error: (s) => s, warn: (s) => s, dim: (s) => s, bold: (s) => s };

/** A finding as the text format prints it, uncoloured: the body of KTAP diagnostics, JUnit failures, annotations. */
export function findingText(f: Finding, label: string): string {
  return formatFinding(f, label, PLAIN);
}

/** True when an input gave nothing to judge: never read, or not a trace at all. */
export function unread(end: InputEnd): boolean {
  return end.summary === null || (end.error !== null && end.summary.events === 0);
}

class TextRenderer implements FindingsRenderer {
  constructor(
    private readonly paint: Paint,
    private readonly fullStack: boolean,
  ) {}
  begin(): string {
    return '';
  }
  finding(f: Finding, input: InputRef): string {
    return formatFinding(f, input.label, this.paint, { fullStack: this.fullStack });
  }
  /** The summary goes to stderr (the CLI's), not into the findings. */
  endInput(): string {
    return '';
  }
  end(): string {
    return '';
  }
}

class JsonRenderer implements FindingsRenderer {
  begin(): string {
    return '';
  }
  finding(f: Finding, input: InputRef): string {
    return `${findingJson(f, input.label)}\n`;
  }
  endInput(end: InputEnd): string {
    return end.summary ? `${summaryJson(end.summary, end.hidden)}\n` : '';
  }
  end(): string {
    return '';
  }
}

export function makeRenderer(format: FormatName, opts: RenderOptions): FindingsRenderer {
  switch (format) {
    case 'text':
      return new TextRenderer(opts.paint, opts.fullStack === true);
    case 'json':
      return new JsonRenderer();
    case 'ktap':
      return new KtapRenderer(opts);
    case 'junit':
      return new JunitRenderer(opts);
    case 'github':
      return new GithubRenderer(opts);
  }
}
