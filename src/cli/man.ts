// The dmadebug(1) man page in roff, rendered from help.ts's tables (the same
// words as `dmadebug --help`), so the page and the help cannot drift.
// scripts/build-man.js writes it to dist/man/dmadebug.1 at build time; npm
// installs it from there ("man" in package.json).

import { commandSpecs, manualParts, type OptionSpec, optionSpecs } from './help.js';

/** Text for roff: backslashes and hyphens escaped (so that -o and --output copy as typed). */
function esc(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/-/g, '\\-');
}

/** A line that would start with a roff control character gets a zero-width escape first. */
function line(s: string): string {
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

/**
 * Help-style text (4-space indented) as roff: prose lines are filled into
 * paragraphs, a blank line starts a new one, and lines indented further or
 * laid out in columns (two spaces inside) are kept as they are.
 */
export function roffText(text: string): string {
  const out: string[] = [];
  let verbatim = false;
  let lastBlank = false;
  for (const raw of text.replace(/\s+$/, '').split('\n')) {
    const l = raw.startsWith('    ') ? raw.slice(4) : raw.trimStart();
    if (l.trim() === '') {
      if (verbatim) {
        out.push('.fi', '.RE');
        verbatim = false;
      }
      lastBlank = true;
      continue;
    }
    const keep = /^\s/.test(l) || /\S {2,}\S/.test(l);
    if (keep && !verbatim) {
      out.push('.RS 4', '.nf');
      verbatim = true;
    } else if (!keep && verbatim) {
      out.push('.fi', '.RE');
      verbatim = false;
    }
    if (lastBlank && !verbatim) out.push('.PP');
    lastBlank = false;
    out.push(line(esc(keep ? l.replace(/^ {4}/, '') : l.trim())));
  }
  if (verbatim) out.push('.fi', '.RE');
  return out.join('\n');
}

/** `-o, --output FILE` as a .TP tag: names bold, arguments italic. */
function flagsTag(o: OptionSpec): string {
  return o.names
    .map((f) => {
      const name = `\\fB${esc(f.name)}\\fR`;
      if (f.arg === undefined) return name;
      // The argument is printed once, after the last name that takes it, as in the help.
      if (!f.optional && f !== o.names[o.names.length - 1]) return name;
      return f.optional ? `${name}[=\\fI${esc(f.arg)}\\fR]` : `${name} \\fI${esc(f.arg)}\\fR`;
    })
    .join(', ');
}

export function manPage(version: string): string {
  const parts = manualParts();
  const commands = commandSpecs();
  const options = optionSpecs().filter((o) => !o.hidden);
  const all = commands.map((c) => c.name);
  const out: string[] = [
    `.\\" dmadebug(1), generated from src/cli/help.ts by scripts/build-man.js: edit help.ts, not this file.`,
    `.TH DMADEBUG 1 "" "dmadebug ${esc(version)}" "User Commands"`,
    // No hyphenation, ragged right: option names and paths stay whole, to copy as typed.
    '.nh',
    '.ad l',
    '.SH NAME',
    `dmadebug \\- ${esc(parts.tagline)}`,
    '.SH SYNOPSIS',
    '.nf',
    ...commands.map((c) => line(esc(c.synopsis.replace(/ {2,}/g, ' ')))),
    '.fi',
    '.SH DESCRIPTION',
    parts.description.map(roffText).join('\n.PP\n'),
    '.SH COMMANDS',
  ];
  for (const c of commands) out.push('.TP', `\\fB${esc(c.name)}\\fR`, line(esc(c.text)));
  out.push('.SH OPTIONS');
  for (const o of options) {
    out.push('.TP', flagsTag(o), line(esc(o.text)));
    // Which commands take it, unless every command that reads options does.
    const takes = o.commands.length < all.length - 2 ? o.commands : null;
    if (takes) out.push('.br', `Commands: ${takes.map(esc).join(', ')}.`);
  }
  out.push(
    '.SH OUTPUT',
    roffText(parts.output),
    '.SH "EXIT STATUS"',
    roffText(parts.exit),
    '.SH EXAMPLES',
    '.nf',
    ...parts.examples.map((e) => line(esc(e))),
    '.fi',
    '.SH "SEE ALSO"',
    '\\fBtrace\\-cmd\\fR(1), \\fBtrace\\-cmd\\-record\\fR(1), \\fBperf\\fR(1);',
    'the kernel\'s Documentation/core\\-api/dma\\-api.rst ("Debugging drivers for DMA\\-API usage").',
  );
  return `${out.join('\n')}\n`;
}
