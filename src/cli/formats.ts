// --format, --fail-on and --min-severity: which formats each command writes,
// and the checks of the three options' values (a usage error names the option
// and what it takes). What the formats print and how a finding fails is
// src/report/format.ts's.

import type { Severity } from '../engine/findings.js';
import {
  FAIL_ON,
  type FailOn,
  type FindingsRenderer,
  type FormatName,
  makeRenderer,
  SEVERITIES,
  SeverityFilter,
} from '../report/format.js';
import type { Paint } from '../report/paint.js';
import { UsageError, type Values } from './options.js';

/**
 * The formats of each command, the first its default. `live` prints findings
 * as they happen, so only the streaming formats: KTAP and JUnit describe a
 * whole run (their plan and counts come first), which a live session never
 * has; record a trace and `check --format ktap|junit` it instead. `report`
 * (HTML) and `record` (a trace) take no --format: the command line refuses it
 * as an option of other commands (options.ts, from help.ts's tags).
 */
const COMMAND_FORMATS = {
  check: ['text', 'json', 'ktap', 'junit', 'github'],
  live: ['text', 'json', 'github'],
  dump: ['text', 'json'],
  stats: ['text', 'json'],
} as const satisfies Record<string, readonly string[]>;

type Command = keyof typeof COMMAND_FORMATS;
export type CommandFormat<C extends Command> = (typeof COMMAND_FORMATS)[C][number];

/** --format (or --json, its short form for json) for `command`; a usage error for a format it has not. */
export function formatOption<C extends Command>(v: Values, command: C): CommandFormat<C> {
  const formats: readonly string[] = COMMAND_FORMATS[command];
  const f = v.format;
  if (f === undefined) {
    if (v.json && formats.includes('json')) return 'json' as CommandFormat<C>;
    return formats[0] as CommandFormat<C>;
  }
  if (!formats.includes(f)) {
    const why =
      command === 'live' && (f === 'ktap' || f === 'junit')
        ? ` (${f} describes a whole run: record a trace and check it)`
        : '';
    throw new UsageError(`--format takes ${or(formats)} for ${command}, not '${f}'${why}`);
  }
  if (v.json && f !== 'json') throw new UsageError(`--json is --format json; it contradicts --format ${f}`);
  return f as CommandFormat<C>;
}

/**
 * check's and live's output options, read before anything is opened (a bad
 * value is a usage error before tracefs or an input is touched): the format's
 * renderer (made once the output's colour is known), --fail-on, and the
 * --min-severity filter.
 */
export function findingsOptions(
  v: Values,
  command: 'check' | 'live',
): { failOn: FailOn; filter: SeverityFilter; renderer: (paint: Paint) => FindingsRenderer } {
  const format: FormatName = formatOption(v, command);
  const failOn = failOnOption(v);
  const filter = new SeverityFilter(minSeverityOption(v));
  const fullStack = v['full-stack'] === true;
  return {
    failOn,
    filter,
    renderer: (paint) => makeRenderer(format, { failOn, minSeverity: filter.min, paint, fullStack }),
  };
}

function failOnOption(v: Values): FailOn {
  const f = v['fail-on'];
  if (f === undefined) return 'error';
  if (!(FAIL_ON as readonly string[]).includes(f)) throw new UsageError(`--fail-on takes ${or(FAIL_ON)}, not '${f}'`);
  return f as FailOn;
}

function minSeverityOption(v: Values): Severity {
  const s = v['min-severity'];
  if (s === undefined) return 'info';
  if (!(SEVERITIES as readonly string[]).includes(s)) {
    throw new UsageError(`--min-severity takes ${or(SEVERITIES)}, not '${s}'`);
  }
  return s as Severity;
}

/** "a, b or c". */
function or(list: readonly string[]): string {
  return list.length <= 1 ? (list[0] ?? '') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}
