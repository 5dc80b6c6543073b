// GitHub Actions workflow commands: each printed finding becomes an annotation
// on the run's page and in its log. A finding that fails (an error; with
// --fail-on unconfirmed also an unconfirmed one) is `::error`, another
// unconfirmed one `::warning`, info (and the kernel's false positives)
// `::notice` — only those --min-severity lets through. Properties: file= the
// input as named (paths relative to the repository root link to the file),
// line= its line for a text trace (a trace.dat has records, not lines), title=
// the check. The message is the finding as the text format prints it. After
// each input, its summary is one `::notice` (and an input that could not be
// read an `::error`), so the verdict shows beside the findings; the summary
// also goes to stderr as in every format. GitHub shows only the first few
// annotations of each kind per step on the run's page; the log keeps them all.
//
// Escaping as GitHub's toolkit does (actions/toolkit, core's command.ts): in
// the message `%`, CR and LF become %25, %0D, %0A; in a property also `:` and
// `,` become %3A and %2C.

import type { Finding } from '../engine/findings.js';
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

export class GithubRenderer implements FindingsRenderer {
  constructor(private readonly opts: RenderOptions) {}

  begin(): string {
    return '';
  }

  finding(f: Finding, input: InputRef): string {
    const level = fails(f, this.opts.failOn) ? 'error' : f.severity === 'info' ? 'notice' : 'warning';
    const props = fileProps(input.label, input.kind !== 'tracefs-raw');
    if (input.kind === 'text' && f.at.line > 0 && props.length > 0) props.push(`line=${f.at.line}`);
    const what = f.kernelFalsePositive !== null ? ' (kernel false positive)' : '';
    props.push(`title=${escapeProperty(`dmadebug: ${f.check}${what}`)}`);
    return `::${level} ${props.join(',')}::${escapeData(findingText(f, input.label).trimEnd())}\n`;
  }

  endInput(end: InputEnd): string {
    let out = '';
    if (end.error) {
      const props = fileProps(end.label, true);
      props.push(`title=${escapeProperty('dmadebug: the input could not be read')}`);
      out += `::error ${props.join(',')}::${escapeData(end.error.message)}\n`;
    }
    if (end.summary && !unread(end)) {
      const text = summaryText(end.summary, PLAIN, { hidden: end.hidden }).trimEnd();
      out += `::notice title=${escapeProperty(`dmadebug: ${end.label}`)}::${escapeData(text)}\n`;
    }
    return out;
  }

  end(): string {
    return '';
  }
}

/** file= for a named file (not stdin, not live tracefs). */
function fileProps(label: string, isFile: boolean): string[] {
  return isFile && label !== '<stdin>' ? [`file=${escapeProperty(label)}`] : [];
}

/** A command's message: %, CR, LF escaped. */
export function escapeData(s: string): string {
  return s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** A command's property value: as the message, and `:` and `,` too. */
export function escapeProperty(s: string): string {
  return escapeData(s).replaceAll(':', '%3A').replaceAll(',', '%2C');
}
