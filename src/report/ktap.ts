// KTAP (the kernel's Test Anything Protocol, Documentation/dev-tools/ktap.rst,
// version 1): what kselftest and KUnit print, so kernel CI systems that parse
// those (KernelCI, LKFT, kunit.py) read dmadebug's verdict the same way.
//
// One test per check family (families.ts) and a last test, `trace`, for the
// input itself (not ok # ERROR when it could not be read to the end). A family
// is `not ok` when it has a finding that fails (an error; with --fail-on
// unconfirmed also an unconfirmed one); every printed finding is a block of
// `# ` diagnostic lines just before its family's result line, as the text
// format prints it (`[unconfirmed] DMA-API: ...`, `[info] ...`, the kernel's
// false positives with their note), so unconfirmed findings are seen but do
// not fail. An input that gave nothing to judge (never read, or not a trace)
// has its families `ok ... # SKIP`. The summary ends each input as diagnostic
// lines. One input: the families are the top-level tests. Several: one test
// per input, named by its file (`# Subtest: FILE`), with the families as its
// subtests, indented by two spaces as the spec says; an input fails when any
// of its tests does. The plan is known before the first finding (the number
// of families, or of inputs), so nothing waits but each input's findings.

import type { Finding } from '../engine/findings.js';
import { FAMILIES, type FamilyId, familyOf } from './families.js';
import {
  type FindingsRenderer,
  fails,
  findingText,
  type InputEnd,
  type InputRef,
  PLAIN,
  type RenderOptions,
  unread,
} from './format.js';
import { summaryText } from './summary.js';

/** Tests per input: the families, then `trace`. */
export const KTAP_TESTS = FAMILIES.length + 1;

export class KtapRenderer implements FindingsRenderer {
  private nested = false;
  private inputsDone = 0;
  /** The current input's diagnostic lines, by family. */
  private readonly diagnostics = new Map<FamilyId, string[]>();
  private readonly failed = new Set<FamilyId>();

  constructor(private readonly opts: RenderOptions) {}

  begin(inputs: readonly string[]): string {
    this.nested = inputs.length > 1;
    return `KTAP version 1\n1..${this.nested ? inputs.length : KTAP_TESTS}\n`;
  }

  finding(f: Finding, input: InputRef): string {
    const family = familyOf(f.check);
    let lines = this.diagnostics.get(family);
    if (!lines) {
      lines = [];
      this.diagnostics.set(family, lines);
    }
    for (const line of findingText(f, input.label).trimEnd().split('\n')) lines.push(diagnostic(line));
    if (fails(f, this.opts.failOn)) this.failed.add(family);
    return '';
  }

  endInput(end: InputEnd): string {
    const out: string[] = [];
    const name = ktapName(end.label);
    if (this.nested) out.push('KTAP version 1', `# Subtest: ${name}`, `1..${KTAP_TESTS}`);
    const skip = unread(end);
    let n = 0;
    for (const family of FAMILIES) {
      n++;
      out.push(...(this.diagnostics.get(family.id) ?? []));
      if (
        family.id === 'leak' &&
        !skip &&
        end.summary &&
        end.summary.leaks.length > 0 &&
        this.opts.minSeverity === 'info'
      ) {
        const live = end.summary.leaks.reduce((sum, g) => sum + g.count, 0);
        const groups = end.summary.leaks.length;
        out.push(
          `# leak-at-end (info): ${live} mapping${live === 1 ? '' : 's'} live at the end, in ${groups} group${groups === 1 ? '' : 's'} by device and call site (the summary below lists them)`,
        );
      }
      if (skip) out.push(`ok ${n} ${family.id} # SKIP the input could not be read`);
      else out.push(`${this.failed.has(family.id) ? 'not ok' : 'ok'} ${n} ${family.id}`);
    }
    n++;
    if (end.error) out.push(diagnostic(end.error.message), `not ok ${n} trace # ERROR ${clean(end.error.detail)}`);
    else out.push(`ok ${n} trace`);
    if (end.summary && !skip) {
      for (const line of summaryText(end.summary, PLAIN, { hidden: end.hidden }).trimEnd().split('\n')) {
        out.push(diagnostic(line));
      }
    }
    const failed = this.failed.size > 0 || end.error !== null;
    this.diagnostics.clear();
    this.failed.clear();
    if (!this.nested) return `${out.join('\n')}\n`;
    this.inputsDone++;
    return `${out.map((l) => `  ${l}`).join('\n')}\n${failed ? 'not ok' : 'ok'} ${this.inputsDone} ${name}\n`;
  }

  end(): string {
    return '';
  }
}

/** A diagnostic line: `# ` and the text, with control characters made visible. */
function diagnostic(line: string): string {
  return `# ${clean(line)}`;
}

/** Control characters as \xNN (a comm or a message must not break a line). */
function clean(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      out += `${s.slice(from, i)}\\x${c.toString(16).padStart(2, '0')}`;
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

/** A test name: a description "can't include #" (KTAP), nor break a line. */
export function ktapName(s: string): string {
  return clean(s).replaceAll('#', '\\x23').trim();
}
