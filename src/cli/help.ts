// Man-style help text, written by hand (parseArgs has none).

const MAIN = `NAME
    dmadebug - the kernel's DMA-API debug checks (CONFIG_DMA_API_DEBUG), replayed from dma:* trace events

SYNOPSIS
    dmadebug check [options] <trace|-> ...
    dmadebug dump  [options] <trace|->
    dmadebug stats [options] <trace|->
    dmadebug live  [options] [tracefs dir]
    dmadebug record [options] -- <command ...>
    dmadebug report [options] <trace|-> -o report.html

DESCRIPTION
    dmadebug reads the kernel's dma:* tracepoints (Linux 6.12 and later), as printed by
    /sys/kernel/tracing/trace, trace_pipe or 'trace-cmd report', and runs them through the
    same checks as kernel/dma/debug.c. It prints the same 'DMA-API: <driver> <device>: ...'
    warnings a kernel with CONFIG_DMA_API_DEBUG=y would have printed, without rebuilding or
    slowing the traced kernel.

    Inputs may be ftrace text or trace-cmd's trace.dat (versions 6 and 7), plain or gzip, zstd or
    xz compressed; the kind is detected from the first bytes, never from the name.
    '-' reads standard input.

    Record a trace with, for example:
        echo 1 > /sys/kernel/tracing/events/dma/enable
        echo 1 > /sys/kernel/tracing/events/kmem/mm_page_free/enable
        ... run the workload ...
        cat /sys/kernel/tracing/trace > trace.txt
    or boot with trace_event=dma:*,kmem:mm_page_free to cover everything since boot.

COMMANDS
    check   Replay each trace and print findings on stdout, a summary on stderr.
    dump    Print the mappings still live at the end, in the debugfs dma-api/dump format.
    stats   Per device: map/unmap/free calls by type (single, sg, coherent, resource,
            noncoherent), syncs by kind, failed maps, live and peak mappings and bytes with
            the time of each peak, a log2 histogram of mapping lifetimes (unmap - map, from
            <1us to >=4.2s) and findings by check; then the totals. --json prints one
            {"type":"stats",...} object. Exits 0, or 2 when the input cannot be read.
    live    Turn on the dma events (and kmem:mm_page_free) in tracefs, empty the ring
            buffer (events left from before have an unmarked gap), follow
            per_cpu/cpuN/trace_pipe_raw (or the text trace_pipe) and print findings as they
            happen, with a status line on a TTY. On Ctrl-C (SIGINT),
            SIGTERM or --duration it restores tracefs as it found it, prints the summary
            and exits with the findings code. Needs root.
    record  Turn on the events, clear the buffer, run the command, and save the trace (-o,
            default dmadebug.trace.txt) with FILE.side.json: driver names (sysfs), kernel
            text/rodata ranges (/proc/iomem), PCI DMA masks, and driver unbinds seen during the
            run (also marked in the trace). Exits with the command's status. Needs root.
            'check', 'dump', 'stats' and 'report' read FILE.side.json by themselves (--no-side ignores it).
    report  Write one self-contained HTML file (-o FILE, or -o - for stdout) that works offline:
            a timeline of live mappings and mapped bytes per device (drag to zoom) with
            finding markers, the findings table (click one for its message, mapping and
            stack; the first 5000 are listed, all are counted on the chart), and the
            per-device stats. The timeline is down-sampled while reading (at most 4096 time
            buckets, each keeping its peaks), so the file stays small for any trace length.
            Takes the options of 'check'. Exits 0 when written, 2 on usage or input errors.

OPTIONS
    --json                 JSON Lines on stdout: one object per finding, then a summary object
                           (stats: one stats object).
    -o, --output FILE      Write findings (or the dump) to FILE instead of stdout (report: required).
    --driver NAME          Only show errors of this driver (the kernel's dma_debug_driver=).
                           Without driver names (see --device-driver), NAME may be a device name.
    --num-errors N         Show only the first N errors, like debugfs num_errors
                           (default: all; --num-errors 1 behaves like a fresh debug kernel).
    --entries N            Model a kernel booted with dma_debug_entries=N (default 65536):
                           report 'dma_debug_entry pool grown to ...' lines as the kernel would.
    --fixed-pool           With --entries: model an old kernel whose pool cannot grow, which
                           prints 'debugging out of memory - disabling' and stops checking.
    --from-boot            Trust that the trace covers every DMA-API call since boot.
    --not-from-boot        Treat the trace as starting after boot.
                           By default dmadebug decides: a trace whose first event falls in
                           early boot (<= 2 s) and whose buffer overwrote nothing is from boot.
                           Only then can an unmap or sync of an unknown address be an error;
                           otherwise it is reported as [unconfirmed].
    --device-driver DEV=DRIVER
                           Side information: the driver bound to DEV (repeatable). Messages
                           then carry the real driver name, as the kernel's do.
    --max-seg-size DEV=N   Side information: DEV's max segment size (enables sg-segment-too-long).
    --seg-boundary DEV=MASK
                           Side information: DEV's segment boundary mask, e.g. 0xfff
                           (enables sg-segment-boundary).
    --iomem FILE           Side information: a copy of /proc/iomem read as root; mappings of
                           kernel code or rodata are reported (map-kernel-image).
    --color, --no-color    Force colour on or off (default: on a TTY, unless NO_COLOR is set).
    --tracefs DIR          live: the tracefs mount (default /sys/kernel/tracing).
    --stacktrace           live: also turn on options/stacktrace ("Mapped at" stacks).
    --duration SECONDS     live: stop after this long.
    --text                 live: follow the text trace_pipe, not per_cpu/cpuN/trace_pipe_raw.
    --sysfs DIR            record: where sysfs is (default /sys).
    --no-side              check, dump, stats, report: ignore the TRACE.side.json sidecar.
    --instance NAME        trace.dat: read this buffer instance (default: the top buffer, or
                           the one instance that has dma events, as 'trace-cmd record -B' makes).
    -q, --quiet            No summary and no progress on stderr.
    -v, --verbose          List malformed lines that were skipped.
    -h, --help             This help.
    --version              Print the version.

OUTPUT
    Each finding is printed like the kernel's warning, then where it happened and where the
    entry was mapped:
        DMA-API: <driver> <device>: <message>
          at <ts> cpu <n> <comm>-<pid> (<input>:<line>)
          Mapped at <ts> cpu <n> <comm>-<pid> (<input>:<line>)
           => stack frames, when the trace has them
    Findings the trace cannot prove are prefixed with [unconfirmed] and say why.
    When no driver name is known, <driver> is the device's bus name (pci) or '?'.

EXIT STATUS
    0  the run finished and found no error
    1  errors were found
    2  usage error, or input that cannot be read

EXAMPLES
    dmadebug check trace.txt
    zstd -dc trace.txt.zst | dmadebug check -
    dmadebug check --json trace.txt.gz | jq 'select(.type=="finding")'
    dmadebug dump trace.txt
    dmadebug stats trace.dat
    dmadebug stats --json trace.txt | jq '.devices[] | {device, peak_live}'
    sudo dmadebug live --stacktrace
    sudo dmadebug record -o run.txt -- ./run-driver-tests.sh && dmadebug check run.txt
    dmadebug report trace.dat -o report.html
`;

export function helpText(_command?: string): string {
  return MAIN;
}
