// Kernel profiles on the command line: --kernel VER and --arch ARCH (parsing,
// the exit-2 message for bad values, on every command that runs the engine),
// the summary's profile line from the recorder's sidecar, the JSON fields, and
// how a kernel false positive is rendered (text: the kernel's line then a note;
// JSON: kernel_false_positive).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { archOption, kernelOption, UsageError } from '../../src/cli/options.js';
import type { Finding } from '../../src/engine/findings.js';
import { findingJson } from '../../src/report/json.js';
import { makePaint } from '../../src/report/paint.js';
import { formatFinding } from '../../src/report/text.js';
import { runDmadebug } from '../helpers/child.js';
import { fixture } from '../helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-kernel-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('--kernel and --arch', () => {
  it('--kernel takes 6.12, 7.3 or a release, mapped to the nearest modelled profile', () => {
    const cases: Array<[string, string]> = [
      ['6.12', '6.12'],
      ['7.3', '7.3'],
      ['6.6', '6.12'],
      ['6.12.117-amd64', '6.12'],
      ['5.10.0-28-amd64', '6.12'],
      ['6.17.9', '6.12'],
      ['6.18', '7.3'],
      ['6.19.2-amd64', '7.3'],
      ['7.1', '7.3'],
      ['7.3.4-amd64', '7.3'],
    ];
    for (const [arg, want] of cases) assert.equal(kernelOption(arg), want, arg);
    assert.equal(kernelOption(undefined), undefined);
  });

  it('--arch takes x86_64/amd64 and arm64/aarch64', () => {
    assert.equal(archOption('x86_64'), 'x86_64');
    assert.equal(archOption('amd64'), 'x86_64');
    assert.equal(archOption('arm64'), 'arm64');
    assert.equal(archOption('aarch64'), 'arm64');
    assert.equal(archOption(undefined), undefined);
  });

  it('bad values are usage errors naming the option and what it takes', () => {
    for (const bad of ['', 'latest', '6', 'v6.12', 'linux']) {
      assert.throws(
        () => kernelOption(bad),
        (e: unknown) => e instanceof UsageError && /^--kernel takes 6\.12, 7\.3 or a kernel release/.test(e.message),
        bad,
      );
    }
    for (const bad of ['', 'riscv64', 'i386', 'arm']) {
      assert.throws(
        () => archOption(bad),
        (e: unknown) =>
          e instanceof UsageError && /^--arch takes x86_64 \(or amd64\) or arm64 \(or aarch64\)/.test(e.message),
        bad,
      );
    }
  });

  it('every command that runs the engine refuses a bad value: exit 2, the message first', () => {
    const trace = fixture('bug-clean');
    const out = join(tmp, 'never.html');
    const commands: string[][] = [
      ['check', trace],
      ['dump', trace],
      ['stats', trace],
      ['report', trace, '-o', out],
      ['live', join(tmp, 'no-tracefs')],
    ];
    for (const cmd of commands) {
      for (const [opt, value, want] of [
        ['--kernel', 'latest', /^dmadebug: --kernel takes 6\.12, 7\.3 or a kernel release .* not 'latest'$/],
        ['--arch', 'mips', /^dmadebug: --arch takes x86_64 \(or amd64\) or arm64 \(or aarch64\), not 'mips'$/],
      ] as const) {
        const r = runDmadebug([cmd[0]!, opt, value, ...cmd.slice(1)]);
        assert.equal(r.code, 2, `${cmd[0]} ${opt} ${value}: ${r.err}`);
        assert.match(r.err.split('\n')[0]!, want, r.err);
        assert.equal(r.out, '');
      }
    }
  });

  it('good values are taken, and the summary says they decided', () => {
    const r = runDmadebug(['check', '--kernel', '6.19.2-amd64', '--arch', 'amd64', fixture('bug-clean')]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /^ {2}kernel: 7\.3 profile, x86_64 \(set by the user \(--kernel\); set by the user \(--arch\)\)$/m,
    );
    const d = runDmadebug(['dump', '--kernel', '6.6', '--arch', 'aarch64', fixture('bug-clean')]);
    assert.equal(d.code, 0, d.err);
    assert.match(
      d.err,
      /^dmadebug: kernel: 6\.12 profile, arm64 \(set by the user \(--kernel\); set by the user \(--arch\)\)$/m,
    );
  });

  it('help: the options on the engine commands, not on record; other versions map to the nearest', () => {
    for (const c of ['check', 'dump', 'stats', 'live', 'report']) {
      const page = runDmadebug([c, '--help']).out;
      assert.match(page, /^ {4}--kernel VER /m, c);
      assert.match(page, /^ {4}--arch ARCH /m, c);
      assert.match(page, /nearest modelled profile/, c);
    }
    const record = runDmadebug(['record', '--help']).out;
    assert.doesNotMatch(record, /--kernel VER|--arch ARCH/);
    assert.match(record, /uname -r/);
    assert.match(runDmadebug(['--help']).out, /6\.12 LTS and mainline 7\.x/);
  });
});

describe('the profile in summaries', () => {
  /** A copy of a 6.12 fixture with a sidecar as `record` writes it. */
  function recorded(name: string, extra: Record<string, unknown> = {}): string {
    const trace = join(tmp, `${name}.txt`);
    writeFileSync(trace, readFileSync(fixture(name)));
    writeFileSync(
      `${trace}.side.json`,
      JSON.stringify({
        version: 1,
        drivers: { '0000:00:02.0': 'dmabug' },
        buses: { '0000:00:02.0': 'pci' },
        kernelImage: [],
        systemRam: [{ start: '0x100000', end: '0x1000000' }],
        kernel: { release: '6.12.117-amd64', machine: 'x86_64' },
        dmaMaskBits: {},
        unbinds: [],
        ...extra,
      }),
    );
    return trace;
  }

  it("the recorder's uname decides, and the summary names the sidecar", () => {
    const trace = recorded('bug-clean');
    const r = runDmadebug(['check', trace]);
    assert.equal(r.code, 0, r.err);
    const lines = r.err.split('\n');
    assert.equal(
      lines[1],
      `  kernel: 6.12 profile, x86_64 (${trace}.side.json: kernel 6.12.117-amd64; machine x86_64)`,
    );
    // --kernel still wins over the sidecar.
    const forced = runDmadebug(['check', '--kernel', '7.3', trace]);
    assert.match(
      forced.err,
      /^ {2}kernel: 7\.3 profile, x86_64 \(set by the user \(--kernel\); .*side\.json: machine x86_64\)$/m,
    );
    // --no-side: nothing names the machine any more.
    const bare = runDmadebug(['check', '--no-side', '--kernel', '7.3', trace]);
    assert.match(bare.err, /^ {2}kernel: 7\.3 profile, x86_64 \(set by the user \(--kernel\)\) \u2014 assumed: /m);
  });

  it('JSON: the summary carries the profile and the false-positive count; findings their flag', () => {
    const trace = recorded('bug-unmap-size');
    const r = runDmadebug(['check', '--json', trace]);
    assert.equal(r.code, 1, r.err);
    const objs = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const findings = objs.filter((o) => o.type === 'finding');
    assert.ok(findings.length > 0);
    for (const f of findings) assert.equal(f.kernel_false_positive, null);
    const s = objs.at(-1);
    assert.equal(s.type, 'summary');
    assert.equal(s.kernel_false_positives, 0);
    assert.deepEqual(s.profile, {
      kernel: '6.12',
      arch: 'x86_64',
      kernel_evidence: `${trace}.side.json: kernel 6.12.117-amd64`,
      arch_evidence: `${trace}.side.json: machine x86_64`,
      assumed: [],
      conflict: null,
    });
  });

  it('--iomem takes a copy with only System RAM; one without addresses is an input error', () => {
    const ram = join(tmp, 'iomem-ram');
    writeFileSync(ram, '00001000-0009fbff : System RAM\n00100000-7ffdefff : System RAM\n');
    assert.equal(runDmadebug(['check', '--iomem', ram, fixture('bug-clean')]).code, 0);
    const hidden = join(tmp, 'iomem-user');
    writeFileSync(hidden, '00000000-00000000 : System RAM\n  00000000-00000000 : Kernel code\n');
    const r = runDmadebug(['check', '--iomem', hidden, fixture('bug-clean')]);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, new RegExp(`^dmadebug: ${hidden}: .*System RAM.*read /proc/iomem as root`));
  });
});

describe('rendering a kernel false positive', () => {
  const WHY =
    'two live mappings differ only in attrs; the kernel matched the unmap to the other one (bug-unmap-attrs-twin)';
  const finding: Finding = {
    check: 'unmap-attrs-mismatch' as Finding['check'],
    severity: 'info',
    message:
      'device driver frees DMA memory with different attributes [device address=0x000000000bc34000] [size=1024 bytes] [mapped with 0x0] [unmapped with 0x200]',
    device: '0000:00:02.0',
    driver: 'dmabug',
    bare: false,
    at: { line: 5901, positions: 'line', ts: '2.084200', cpu: 1, pid: 102, comm: 'insmod' },
    stack: null,
    mapping: {
      type: 'phy',
      direction: 'DMA_TO_DEVICE',
      dmaAddr: '0x000000000bc34000',
      size: 1024,
      physAddr: '0x000000000bc34000',
      sgCallEnts: 0,
      sgMappedEnts: 0,
      mappedAt: { line: 5890, positions: 'line', ts: '2.084100', cpu: 1, pid: 102, comm: 'insmod' },
      stack: null,
    },
    note: null,
    shown: true,
    kernelFalsePositive: WHY,
  };

  it("text: the kernel's line as dmesg has it, then a note saying it is no bug and why", () => {
    const lines = formatFinding(finding, 'trace.txt', makePaint(false)).split('\n');
    assert.equal(lines[0], `DMA-API: dmabug 0000:00:02.0: ${finding.message}`);
    assert.equal(lines[1], `  kernel false positive: the kernel prints this on correct code: ${WHY}`);
    assert.equal(lines[2], '  at 2.084200 cpu 1 insmod-102 (trace.txt:5901)');
    assert.equal(lines[3], '  Mapped at 2.084100 cpu 1 insmod-102 (trace.txt:5890)');
    // Not marked like our own info findings: it is the kernel's line.
    assert.ok(!lines[0]!.startsWith('[info]'));
    // Other findings are unchanged: no such note.
    const plain = formatFinding(
      { ...finding, severity: 'error', kernelFalsePositive: null },
      'trace.txt',
      makePaint(false),
    );
    assert.doesNotMatch(plain, /false positive/);
  });

  it('JSON: kernel_false_positive says why; null on every other finding', () => {
    const j = JSON.parse(findingJson(finding, 'trace.txt'));
    assert.equal(j.kernel_false_positive, WHY);
    assert.equal(j.severity, 'info');
    assert.equal(j.message, finding.message);
    const other = JSON.parse(findingJson({ ...finding, severity: 'error', kernelFalsePositive: null }, 'trace.txt'));
    assert.ok('kernel_false_positive' in other);
    assert.equal(other.kernel_false_positive, null);
  });
});
