// The launcher's first step (bin/dmadebug.js), before the rest of the command
// line loads: for a command that reads traces, start on standby the parsing
// worker its first big trace file will want (input/worker-standby.ts says why
// and how). The file is found without parsing the options: every word that is
// no option is looked at, and the first regular file the pipeline would read
// in a worker wins. A wrong guess is ended unused.

import { standBy } from '../input/worker-standby.js';

/** Commands that read trace files through the pipeline. */
const READS_TRACES = new Set(['check', 'dump', 'stats', 'report']);

export function standByFor(argv: readonly string[]): void {
  if (!READS_TRACES.has(argv[0] ?? '')) return;
  standBy(argv.slice(1).filter((a) => !a.startsWith('-')));
}
