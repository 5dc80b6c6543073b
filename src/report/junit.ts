// JUnit XML, as GitLab, Jenkins and most CI dashboards read test reports:
// <testsuites> with one <testsuite> per input (name = the file), one
// <testcase> per check family (classname dmadebug.<family>) and a last one,
// `trace`, for the input itself. A finding that fails (an error; with
// --fail-on unconfirmed also an unconfirmed one) is a <failure> of its family
// (message: the finding's first line; type: the check id; body: the finding
// as the text format prints it); the other printed findings (unconfirmed,
// info, the kernel's false positives) go to the family's <system-out>, never
// failures. An input that could not be read to the end is an <error> of
// `trace`; one that gave nothing to judge has its families <skipped>. Counts
// are of test cases (a family with three errors is one failed test), and every
// level's counts and times are the sums of the level below: tests = cases,
// failures = cases with a <failure>, errors = cases with an <error>, skipped =
// cases <skipped>; `trace` carries the input's wall time, the families 0.
// The document needs every input's counts in its root, so it is written at the
// end; memory is the text of the printed findings.
//
// XML 1.0 cannot carry most control characters even as references: they are
// written as the text \xNN (a comm name may hold any byte); attribute values
// keep tabs and line breaks as character references.

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
import { profileEvidence, summaryText } from './summary.js';

interface Totals {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  ms: number;
}

export class JunitRenderer implements FindingsRenderer {
  private readonly suites: string[] = [];
  private readonly totals: Totals = { tests: 0, failures: 0, errors: 0, skipped: 0, ms: 0 };
  /** The current input's <failure> elements and system-out text, by family. */
  private readonly failures = new Map<FamilyId, string[]>();
  private readonly outs = new Map<FamilyId, string[]>();

  constructor(private readonly opts: RenderOptions) {}

  begin(): string {
    return '';
  }

  finding(f: Finding, input: InputRef): string {
    const family = familyOf(f.check);
    const text = findingText(f, input.label);
    if (fails(f, this.opts.failOn)) {
      const nl = text.indexOf('\n');
      const first = nl < 0 ? text : text.slice(0, nl);
      push(
        this.failures,
        family,
        `<failure message="${attr(first)}" type="${attr(f.check)}">${xmlText(text)}</failure>`,
      );
    } else {
      push(this.outs, family, text);
    }
    return '';
  }

  endInput(end: InputEnd): string {
    const skip = unread(end);
    const cases: string[] = [];
    const t: Totals = { tests: 0, failures: 0, errors: 0, skipped: 0, ms: Math.max(0, Math.round(end.ms)) };
    for (const family of FAMILIES) {
      t.tests++;
      const open = `    <testcase name="${family.id}" classname="dmadebug.${family.id}" time="0.000"`;
      const failures = this.failures.get(family.id) ?? [];
      const out = this.outs.get(family.id) ?? [];
      if (
        family.id === 'leak' &&
        !skip &&
        end.summary &&
        end.summary.leaks.length > 0 &&
        this.opts.minSeverity === 'info'
      ) {
        out.push(leakText(end.summary.leaks));
      }
      const body: string[] = [];
      if (skip) {
        t.skipped++;
        body.push('      <skipped message="the input could not be read"/>');
      } else if (failures.length > 0) {
        t.failures++;
        for (const x of failures) body.push(`      ${x}`);
      }
      if (out.length > 0) body.push(`      <system-out>${xmlText(out.join(''))}</system-out>`);
      cases.push(body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`);
    }
    t.tests++;
    const traceOpen = `    <testcase name="trace" classname="dmadebug.trace" time="${seconds(t.ms)}"`;
    if (end.error) {
      t.errors++;
      cases.push(
        `${traceOpen}>\n      <error message="${attr(end.error.message)}" type="input">${xmlText(`${end.error.message}\n`)}</error>\n    </testcase>`,
      );
    } else {
      cases.push(`${traceOpen}/>`);
    }
    const props = end.summary && !skip ? properties(end, this.opts) : '';
    const summary =
      end.summary && !skip
        ? `\n    <system-out>${xmlText(summaryText(end.summary, PLAIN, { hidden: end.hidden }))}</system-out>`
        : '';
    this.suites.push(
      `  <testsuite name="${attr(end.label)}" tests="${t.tests}" failures="${t.failures}" errors="${t.errors}" skipped="${t.skipped}" time="${seconds(t.ms)}">\n` +
        props +
        `${cases.join('\n')}${summary}\n  </testsuite>\n`,
    );
    this.totals.tests += t.tests;
    this.totals.failures += t.failures;
    this.totals.errors += t.errors;
    this.totals.skipped += t.skipped;
    this.totals.ms += t.ms;
    this.failures.clear();
    this.outs.clear();
    return '';
  }

  end(): string {
    const t = this.totals;
    return (
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<testsuites name="dmadebug" tests="${t.tests}" failures="${t.failures}" errors="${t.errors}" skipped="${t.skipped}" time="${seconds(t.ms)}">\n` +
      `${this.suites.join('')}</testsuites>\n`
    );
  }
}

function push(m: Map<FamilyId, string[]>, k: FamilyId, v: string): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** The run's facts a dashboard can show beside the cases. */
function properties(end: InputEnd, opts: RenderOptions): string {
  const s = end.summary!;
  const c = s.coverage;
  const coverage =
    c.firstTs === null
      ? 'no events'
      : c.fromBoot
        ? c.complete
          ? 'from boot'
          : 'from boot, with gaps'
        : 'partial (started after boot)';
  const list: Array<[string, string | number]> = [
    ['kernel_profile', `${s.profile.kernel} ${s.profile.arch}`],
    ['kernel_profile_evidence', profileEvidence(s.profile)],
    ['coverage', coverage],
    ['events', s.events],
    ['errors', s.severities.error],
    ['unconfirmed', s.severities.unconfirmed],
    ['info', Math.max(0, s.severities.info - s.kernelFalsePositives)],
    ['kernel_false_positives', s.kernelFalsePositives],
    ['live_at_end', s.live],
    ['fail_on', opts.failOn],
  ];
  const h = end.hidden;
  if (h.below !== 'info')
    list.push(['hidden_below', h.below], ['hidden', h.unconfirmed + h.info + h.kernelFalsePositives]);
  return `    <properties>\n${list.map(([k, v]) => `      <property name="${k}" value="${attr(String(v))}"/>`).join('\n')}\n    </properties>\n`;
}

function leakText(leaks: NonNullable<InputEnd['summary']>['leaks']): string {
  const live = leaks.reduce((sum, g) => sum + g.count, 0);
  return `leak-at-end (info): ${live} mapping${live === 1 ? '' : 's'} live at the end, in ${leaks.length} group${leaks.length === 1 ? '' : 's'} by device and call site (the suite's system-out lists them)\n`;
}

/** XML 1.0 allows tab, LF, CR and everything from U+0020 but U+FFFE/U+FFFF and lone surrogates. */
function xmlSafe(s: string, inAttr: boolean): string {
  let out = '';
  let from = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (c === 0x26) rep = '&amp;';
    else if (c === 0x3c) rep = '&lt;';
    else if (c === 0x3e) rep = '&gt;';
    else if (c === 0x22 && inAttr) rep = '&quot;';
    else if (c < 0x20) {
      if (c === 0x09 || c === 0x0a || c === 0x0d) rep = inAttr ? `&#${c};` : c === 0x0d ? '&#13;' : null;
      else rep = `\\x${c.toString(16).padStart(2, '0')}`;
    } else if (c === 0xfffe || c === 0xffff) rep = `\\u${c.toString(16)}`;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a pair: one character outside the BMP, fine
        continue;
      }
      rep = '\ufffd';
    }
    if (rep !== null) {
      out += s.slice(from, i) + rep;
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

/** Text content. */
export function xmlText(s: string): string {
  return xmlSafe(s, false);
}

/** An attribute value (in double quotes). */
export function attr(s: string): string {
  return xmlSafe(s, true);
}
