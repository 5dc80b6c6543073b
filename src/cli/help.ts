// Man-style help text, written by hand (parseArgs has none). One table of
// commands and one of options, each option tagged with the commands it
// applies to: `dmadebug --help` prints everything, `dmadebug CMD --help` (or
// `dmadebug help CMD`) the page of that command alone. These tables are the one
// source of the command line: the man page (man.ts, rendered at build time),
// the shell completions (completion.ts) and which options each command accepts
// (options.ts) are all read from them, so none can drift from --help.

export type Command = 'check' | 'dump' | 'stats' | 'live' | 'record' | 'report' | 'completion' | 'help';

interface CommandHelp {
  /** The NAME line's words. */
  name: string;
  synopsis: string;
  /** The COMMANDS paragraph (continuation lines indented by 12). */
  text: string;
  exit: string;
}

const EXIT_FINDINGS = `    0  the run finished and found no error
    1  errors were found (--fail-on unconfirmed: or unconfirmed findings; --fail-on never: never 1)
    2  usage error, input that cannot be read, or output that cannot be written`;

/** After every command's statuses: output errors and a reader that stops early. */
const EXIT_OUTPUT = `
    An output that cannot be written (-o FILE or stdout: a missing directory, a directory,
    no permission, a full disk) is one line on stderr naming it, and status 2 (stderr
    itself: status 2, with nowhere to say why). A reader that stops early (| head) ends the
    run at once and quietly, with the status of what was found by then: 1 if errors were
    found (check, live), else 0.`;

const COMMANDS: Record<Command, CommandHelp> = {
  check: {
    name: 'replay traces through the DMA-API debug checks',
    synopsis: 'dmadebug check [options] <trace|-> ...',
    text: `Replay each trace and print findings on stdout, a summary on stderr.
            Several traces are checked one after the other (a bad one does not stop
            the rest); each summary then names its file, and the status is the worst.`,
    exit: EXIT_FINDINGS,
  },
  dump: {
    name: 'the mappings live at the end of a trace, as debugfs dma-api/dump prints them',
    synopsis: 'dmadebug dump  [options] <trace|->',
    text: `Print the mappings still live at the end, in the debugfs dma-api/dump format.`,
    exit: `    0  the dump was printed
    2  usage error, input that cannot be read, or output that cannot be written`,
  },
  stats: {
    name: 'per-device DMA-API statistics of a trace',
    synopsis: 'dmadebug stats [options] <trace|->',
    text: `Per device: map/unmap/free calls by type (single, sg, coherent, resource,
            noncoherent), syncs by kind, failed maps, live and peak mappings and bytes with
            the time of each peak, a log2 histogram of mapping lifetimes (unmap - map, from
            <1us to >=4.2s) and findings by check; then the totals. --json prints one
            {"type":"stats",...} object. Exits 0, or 2 when the input cannot be read or the
            output cannot be written.`,
    exit: `    0  the statistics were printed
    2  usage error, input that cannot be read, or output that cannot be written`,
  },
  live: {
    name: "check the running kernel's dma events as they happen",
    synopsis: 'dmadebug live  [options] [tracefs dir]',
    text: `Turn on the dma events (and kmem:mm_page_free) in tracefs, empty the ring
            buffer (events left from before have an unmarked gap), follow
            per_cpu/cpuN/trace_pipe_raw (or the text trace_pipe) and print findings as they
            happen, with a status line on a TTY. On Ctrl-C (SIGINT),
            SIGTERM or --duration it restores tracefs as it found it, prints the summary
            and exits with the findings code. Needs root.`,
    exit: `${EXIT_FINDINGS} (no tracefs, not root)`,
  },
  record: {
    name: 'trace a command, with the side information the checks can use',
    synopsis: 'dmadebug record [options] -- <command ...>',
    text: `Turn on the events, clear the buffer, run the command, and save the trace (-o,
            default dmadebug.trace.txt) with FILE.side.json: driver names (sysfs), kernel
            text/rodata ranges and the RAM that is not reserved (/proc/iomem), PCI DMA masks,
            the kernel's release and architecture (uname -r, uname -m: they choose the kernel
            profile), and driver unbinds seen during the run (also marked in the trace).
            Exits with the command's status. Needs root.
            'check', 'dump', 'stats' and 'report' read FILE.side.json by themselves (--no-side ignores it).`,
    exit: `    N  the command's exit status
    2  usage error, tracefs cannot be set up (no tracefs, not root), or the trace cannot be
       saved (-o is opened before the command runs: a path that cannot be written fails first)`,
  },
  report: {
    name: 'one self-contained HTML report of a trace',
    synopsis: 'dmadebug report [options] <trace|-> -o report.html',
    text: `Write one self-contained HTML file (-o FILE, or -o - for stdout) that works offline:
            a timeline of live mappings and mapped bytes per device (drag to zoom) with
            finding markers, the findings table (click one for its message, mapping and
            stack; the first 5000 are listed, all are counted on the chart), and the
            per-device stats. The timeline is down-sampled while reading (at most 4096 time
            buckets, each keeping its peaks), so the file stays small for any trace length.
            Takes the options of 'check'. Exits 0 when written, 2 on usage, input or output errors.`,
    exit: `    0  the report was written
    2  usage error, input that cannot be read, or output that cannot be written`,
  },
  completion: {
    name: 'print a shell completion script',
    synopsis: 'dmadebug completion bash|zsh',
    text: `Print the completion script for bash or zsh on stdout: commands, each command's
            options, the values of options that take one of a few, file names for traces.
            bash: eval "$(dmadebug completion bash)" in ~/.bashrc; zsh: save the output as
            _dmadebug in a directory on $fpath.`,
    exit: `    0  the script was printed
    2  usage error (no shell, or one other than bash and zsh)`,
  },
  help: {
    name: 'the help page of dmadebug or of one command',
    synopsis: 'dmadebug help [command]',
    text: `Print this page, or the page of one command (as 'dmadebug COMMAND --help').
            The same text is the dmadebug(1) man page.`,
    exit: `    0  the page was printed
    2  usage error (a command that does not exist)`,
  },
};

const ALL: Command[] = ['check', 'dump', 'stats', 'live', 'record', 'report'];
const REPLAY: Command[] = ['check', 'dump', 'stats', 'report'];
const ENGINE: Command[] = ['check', 'dump', 'stats', 'live', 'report'];
/** Every command, in the order the pages list them. */
const EVERY: Command[] = [...ALL, 'completion', 'help'];

/**
 * [flags and text as printed, the commands it applies to, and for an option
 * that takes one of a few values, those values (the completions offer them)].
 * The first line is `    FLAGS  text` (text at column 27) or FLAGS alone with
 * the text below it; FLAGS is `-x, --name ARG`, `--name[=ARG]` or `--a, --b`.
 */
const OPTIONS: Array<[string, Command[], string[]?]> = [
  [
    `    --json                 JSON Lines on stdout: one object per finding, then a summary object
                           (stats: one stats object).`,
    ['check', 'dump', 'stats', 'live'],
  ],
  [
    `    --format FORMAT        What stdout gets. check: text (default), json, ktap (the kernel's
                           KTAP: a test per check family), junit (JUnit XML: a testsuite per
                           input) or github (GitHub Actions annotations); live: text, json or
                           github (ktap and junit need the whole run: check a recorded trace);
                           dump, stats: text or json. --json is --format json.`,
    ['check', 'dump', 'stats', 'live'],
  ],
  [
    `    --fail-on LEVEL        Exit 1 when a finding this severe is found: error (default),
                           unconfirmed (errors and unconfirmed findings) or never (input and
                           usage errors still exit 2). In ktap, junit and github what fails is
                           a failed test or an ::error; with never, errors still show as such.`,
    ['check', 'live'],
  ],
  [
    `    --min-severity LEVEL   Print only findings at least this severe: error, unconfirmed or
                           info (default), in every format. Hidden findings still count in the
                           summary, which says how many were hidden.`,
    ['check', 'live'],
  ],
  [
    `    -o, --output FILE      Write the output (findings, dump, stats; record: the trace) to FILE
                           instead of stdout (report: required).`,
    ALL,
  ],
  [
    `    --driver NAME          Only show errors of this driver (the kernel's dma_debug_driver=).
                           Without driver names (see --device-driver), NAME may be a device name.`,
    ENGINE,
  ],
  [
    `    --num-errors N         Show only the first N errors, like debugfs num_errors
                           (default: all; --num-errors 1 behaves like a fresh debug kernel).`,
    ENGINE,
  ],
  [
    `    --entries N            Model a kernel booted with dma_debug_entries=N (default 65536):
                           report 'dma_debug_entry pool grown to ...' lines as the kernel would.`,
    ENGINE,
  ],
  [
    `    --fixed-pool           With --entries: model an old kernel whose pool cannot grow, which
                           prints 'debugging out of memory - disabling' and stops checking.`,
    ENGINE,
  ],
  [`    --from-boot            Trust that the trace covers every DMA-API call since boot.`, ENGINE],
  [
    `    --not-from-boot        Treat the trace as starting after boot.
                           By default dmadebug decides: a trace whose first event falls in
                           early boot (<= 2 s) and whose buffer overwrote nothing is from boot.
                           Only then can an unmap or sync of an unknown address be an error;
                           otherwise it is reported as [unconfirmed].`,
    ENGINE,
  ],
  [
    `    --device-driver DEV=DRIVER
                           Side information: the driver bound to DEV (repeatable). Messages
                           then carry the real driver name, as the kernel's do.`,
    ENGINE,
  ],
  [`    --max-seg-size DEV=N   Side information: DEV's max segment size (enables sg-segment-too-long).`, ENGINE],
  [
    `    --seg-boundary DEV=MASK
                           Side information: DEV's segment boundary mask, e.g. 0xfff
                           (enables sg-segment-boundary).`,
    ENGINE,
  ],
  [
    `    --iomem FILE           Side information: a copy of /proc/iomem read as root; mappings of
                           kernel code or rodata are reported (map-kernel-image), and on 7.x
                           an MMIO map of RAM that is not reserved ('dma_map_resource called
                           for RAM address').`,
    ENGINE,
  ],
  [
    `    --kernel VER           The kernel whose dma-debug to reproduce: 6.12, 7.3, or the traced
                           kernel's release (6.6, 6.19.2-amd64, 7.1, ...); other versions map
                           to the nearest modelled profile (up to 6.17: 6.12; 6.18 and later:
                           7.3). Default: from the input (trace.dat's uname, the recorder's
                           sidecar, which map events the trace has), else 7.3, as the summary
                           says.`,
    ENGINE,
    ['6.12', '7.3'],
  ],
  [
    `    --arch ARCH            The traced machine: x86_64 (amd64) or arm64 (aarch64). Default: from
                           the input, else x86_64. It decides, for one, whether 7.x reports
                           'cacheline tracking EEXIST' (arm64: yes; x86_64: never).`,
    ENGINE,
    ['x86_64', 'arm64'],
  ],
  [
    `    --color[=WHEN], --no-color
                           Colour: WHEN is auto (the default: on a TTY, unless NO_COLOR is set),
                           always (--color alone) or never (--no-color).`,
    ['check', 'live'],
    ['auto', 'always', 'never'],
  ],
  [`    --tracefs DIR          live, record: the tracefs mount (default /sys/kernel/tracing).`, ['live', 'record']],
  [`    --stacktrace           live, record: also turn on options/stacktrace (findings' stacks).`, ['live', 'record']],
  [
    `    --full-stack           Print every frame of a finding's stacks (the call's and the
                           mapping's; default: the first 9 of each, then a count).`,
    ['check', 'live'],
  ],
  [`    --duration SECONDS     live: stop after this long.`, ['live']],
  [`    --text                 live: follow the text trace_pipe, not per_cpu/cpuN/trace_pipe_raw.`, ['live']],
  [`    --sysfs DIR            record: where sysfs is (default /sys).`, ['record']],
  [`    --iomem FILE           record: where to read /proc/iomem (default /proc/iomem).`, ['record']],
  [
    `    -i, --input FILE       check, dump, stats, report: a trace to read, as with trace-cmd
                           report -i or perf report -i (the same as naming it; repeatable).`,
    REPLAY,
  ],
  [`    --no-side              check, dump, stats, report: ignore the TRACE.side.json sidecar.`, REPLAY],
  [
    `    --instance NAME        trace.dat: read this buffer instance (default: the top buffer, or
                           the one instance that has dma events, as 'trace-cmd record -B' makes).`,
    REPLAY,
  ],
  [`    -q, --quiet            No summary and no progress on stderr.`, ALL],
  [
    `    -v, --verbose          List skipped lines (damaged ones, and no event lines) and why.`,
    ['check', 'stats', 'report'],
  ],
  [`    -h, --help             This help.`, EVERY],
  [`    -V, --version          Print the version.`, EVERY],
];

/** Options left out of the pages (tuning for tests and benchmarks), tagged like OPTIONS. */
const HIDDEN: Array<[string, Command[]]> = [
  [`    --chunk-size BYTES     Read the input in chunks of this size.`, REPLAY],
];

const ABOUT = `    dmadebug reads the kernel's dma:* tracepoints (Linux 6.12 and later), as printed by
    /sys/kernel/tracing/trace, trace_pipe or 'trace-cmd report', and runs them through the
    same checks as kernel/dma/debug.c. It prints the same 'DMA-API: <driver> <device>: ...'
    warnings a kernel with CONFIG_DMA_API_DEBUG=y would have printed, without rebuilding or
    slowing the traced kernel.`;

const KERNELS = `    dma-debug differs between kernels, so dmadebug models two: 6.12 LTS and mainline 7.x (as of
    7.3), on x86_64 and arm64. Other versions map to the nearest modelled profile (up to 6.17:
    6.12; 6.18 and later: 7.3). The profile comes from --kernel/--arch, else the input's uname
    (trace.dat, a record sidecar), else which map events the trace has (dma_map_phys: 7.x),
    else it is assumed (7.3 on x86_64); the summary's 'kernel:' line says which and why.
    Where the kernel itself warns about correct code, the warning is printed as the kernel
    prints it, marked as a kernel false positive, and is not an error.`;

const INPUTS = `    Inputs may be ftrace text or trace-cmd's trace.dat (versions 6 and 7), plain or gzip, zstd or
    xz compressed; the kind is detected from the first bytes, never from the name.
    '-' reads standard input. A damaged or cut input gives every finding up to the damage,
    then a one-line error naming the byte (exit 2); empty input is an error.`;

const RECORDING = `    Record a trace with, for example:
        echo 1 > /sys/kernel/tracing/events/dma/enable
        echo 1 > /sys/kernel/tracing/events/kmem/mm_page_free/enable
        ... run the workload ...
        cat /sys/kernel/tracing/trace > trace.txt
    or boot with trace_event=dma:*,kmem:mm_page_free to cover everything since boot.`;

const OUTPUT = `OUTPUT
    Each finding is printed like the kernel's warning, then where it happened and where the
    entry was mapped:
        DMA-API: <driver> <device>: <message>
          at <ts> cpu <n> <comm>-<pid> (<input>:<line>)
           => the call's stack frames, when the trace has them
          Mapped at <ts> cpu <n> <comm>-<pid> (<input>:<line>)
           => the mapping's stack frames, when the trace has them
    Findings the trace cannot prove are prefixed with [unconfirmed] and say why.
    A line the kernel prints on correct code (a kernel false positive) is printed as the
    kernel prints it, followed by a note saying so and why; it is not an error.
    When no driver name is known, <driver> is the device's bus name (pci) or '?'.
    --format picks another form for CI (the summary stays on stderr):
      json    one JSON object per finding, then one summary object per input;
      ktap    the kernel's KTAP v1: one test per check family (map, unmap, sync, sg,
              coherent, cacheline, memory, leak, pool) and one for the trace itself,
              'not ok' when the family has an error; every finding as '# ' lines
              before its result (unconfirmed ones too, without failing); several
              inputs: one subtest each, named by file;
      junit   JUnit XML for GitLab and Jenkins: a <testsuite> per input, a <testcase>
              per check family, a <failure> per error (type: the check), other
              findings in <system-out>, an unreadable input as an <error>;
      github  GitHub Actions workflow commands: ::error, ::warning (unconfirmed) and
              ::notice (info) annotations on the trace's file and line, then the
              summary as a ::notice.
`;

const EXAMPLES: Array<[string, Command]> = [
  ['dmadebug check trace.txt', 'check'],
  ['zstd -dc trace.txt.zst | dmadebug check -', 'check'],
  [`dmadebug check --json trace.txt.gz | jq 'select(.type=="finding")'`, 'check'],
  ['dmadebug check --format junit -o dmadebug.xml run1.dat run2.dat', 'check'],
  ['dmadebug check --format github --min-severity unconfirmed trace.dat', 'check'],
  ['dmadebug check --kernel 6.12 trace.txt', 'check'],
  ['dmadebug dump trace.txt', 'dump'],
  ['dmadebug stats trace.dat', 'stats'],
  [`dmadebug stats --json trace.txt | jq '.devices[] | {device, peak_live}'`, 'stats'],
  ['sudo dmadebug live --stacktrace', 'live'],
  ['sudo dmadebug record -o run.txt -- ./run-driver-tests.sh && dmadebug check run.txt', 'record'],
  ['dmadebug report trace.dat -o report.html', 'report'],
  ['eval "$(dmadebug completion bash)"', 'completion'],
  ['dmadebug completion zsh > ~/.zfunc/_dmadebug', 'completion'],
  ['dmadebug help check', 'help'],
];

const NAME = `NAME
    dmadebug - the kernel's DMA-API debug checks (CONFIG_DMA_API_DEBUG), replayed from dma:* trace events
`;

/** A command's name in the COMMANDS list: its paragraph at column 12, or below a longer name. */
const pad = (name: string) => (name.length < 8 ? `    ${name.padEnd(8)}` : `    ${name}\n            `);

function mainHelp(): string {
  return `${NAME}
SYNOPSIS
${EVERY.map((c) => `    ${COMMANDS[c].synopsis}`).join('\n')}

DESCRIPTION
${ABOUT}

${KERNELS}

${INPUTS}

${RECORDING}

COMMANDS
${EVERY.map((c) => `${pad(c)}${COMMANDS[c].text}`).join('\n')}

OPTIONS
${OPTIONS.map(([t]) => t).join('\n')}

${OUTPUT}
EXIT STATUS
${EXIT_FINDINGS}
${EXIT_OUTPUT}

EXAMPLES
${EXAMPLES.map(([e]) => `    ${e}`).join('\n')}
`;
}

function commandHelp(c: Command): string {
  const h = COMMANDS[c];
  const paragraph = h.text.replace(/\n {12}/g, '\n    ');
  const inputs = REPLAY.includes(c) ? `\n\n${INPUTS}` : '';
  const kernels = ENGINE.includes(c) ? `\n\n${KERNELS}` : '';
  return `NAME
    dmadebug ${c} - ${h.name}

SYNOPSIS
    ${h.synopsis}

DESCRIPTION
    ${paragraph}${kernels}${inputs}

OPTIONS
${OPTIONS.filter(([, cs]) => cs.includes(c))
  .map(([t]) => t)
  .join('\n')}
${c === 'check' || c === 'live' ? `\n${OUTPUT}` : ''}
EXIT STATUS
${h.exit}
${EXIT_OUTPUT}

EXAMPLES
${EXAMPLES.filter(([, ec]) => ec === c)
  .map(([e]) => `    ${e}`)
  .join('\n')}

    dmadebug --help lists every command.
`;
}

/** The help page: of one command (`dmadebug CMD --help`), or of all. */
export function helpText(command?: string): string {
  if (command !== undefined && isCommand(command)) return commandHelp(command);
  return mainHelp();
}

/** The commands, in the order the pages list them. */
export const COMMAND_NAMES: readonly Command[] = EVERY;

export function isCommand(name: string): name is Command {
  return (EVERY as string[]).includes(name);
}

/** One name of an option as typed (`-o`, `--output`, `--color`) and the argument it takes there. */
export interface FlagSpec {
  name: string;
  /** The argument's placeholder (FILE, N, WHEN), if this name takes one. */
  arg?: string;
  /** The argument may be left out (`--color[=WHEN]`); given, it follows `=` in the same word. */
  optional?: boolean;
}

/** One row of the options table, read from the text as printed. */
export interface OptionSpec {
  /** The flags as printed: `-o, --output FILE`. */
  flags: string;
  names: FlagSpec[];
  /** The description, one paragraph (continuation lines joined). */
  text: string;
  commands: Command[];
  /** The values of an option that takes one of a few. */
  values?: string[];
  /** Left out of the pages (HIDDEN). */
  hidden: boolean;
}

/** `-o, --output FILE` -> its names; an argument written on the last name is taken by the short ones too. */
function parseFlags(flags: string): FlagSpec[] {
  const names = flags.split(', ').map((part): FlagSpec => {
    const m = /^(--?[A-Za-z0-9][\w-]*)(?:(\[=)([^\]]+)\]| (\S+))?$/.exec(part.trim());
    if (!m) throw new Error(`help.ts: cannot read the flags '${flags}'`);
    if (m[2] !== undefined) return { name: m[1]!, arg: m[3]!, optional: true };
    return m[4] !== undefined ? { name: m[1]!, arg: m[4] } : { name: m[1]! };
  });
  const last = names[names.length - 1]!;
  if (last.arg !== undefined && !last.optional) {
    for (const n of names) if (n.arg === undefined) n.arg = last.arg;
  }
  return names;
}

function optionSpec(text: string, commands: Command[], values: string[] | undefined, hidden: boolean): OptionSpec {
  const [first = '', ...rest] = text.split('\n');
  // FLAGS, then two or more spaces and the text (column 27), or FLAGS alone on the line.
  const m = /^ {4}(\S(?:.*?\S)?)(?: {2,}(\S.*))?$/.exec(first);
  if (!m) throw new Error(`help.ts: cannot read the option line '${first}'`);
  const words = [m[2] ?? '', ...rest.map((l) => l.trim())].filter((l) => l !== '');
  return {
    flags: m[1]!,
    names: parseFlags(m[1]!),
    text: words.join(' '),
    commands,
    ...(values ? { values } : {}),
    hidden,
  };
}

/** Every option, the pages' ones first, then the hidden ones. */
export function optionSpecs(): OptionSpec[] {
  return [
    ...OPTIONS.map(([t, cs, values]) => optionSpec(t, cs, values, false)),
    ...HIDDEN.map(([t, cs]) => optionSpec(t, cs, undefined, true)),
  ];
}

/** One command as the pages describe it. */
export interface CommandSpec {
  name: Command;
  /** The NAME line's words. */
  summary: string;
  synopsis: string;
  /** The COMMANDS paragraph, continuation lines joined. */
  text: string;
}

export function commandSpecs(): CommandSpec[] {
  return EVERY.map((c) => ({
    name: c,
    summary: COMMANDS[c].name,
    synopsis: COMMANDS[c].synopsis,
    text: COMMANDS[c].text
      .split('\n')
      .map((l) => l.trim())
      .join(' '),
  }));
}

/**
 * The main page's parts, as --help prints them (4-space indented text), for
 * the man page: the same words in roff.
 */
export function manualParts(): {
  tagline: string;
  description: string[];
  output: string;
  exit: string;
  examples: string[];
} {
  const tagline = (NAME.split('\n')[1] ?? '').trim().replace(/^dmadebug - /, '');
  return {
    tagline,
    description: [ABOUT, KERNELS, INPUTS, RECORDING],
    output: OUTPUT.replace(/^OUTPUT\n/, ''),
    exit: `${EXIT_FINDINGS}\n${EXIT_OUTPUT}`,
    examples: EXAMPLES.map(([e]) => e),
  };
}
