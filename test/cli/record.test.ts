// `dmadebug record` against a fake tracefs and sysfs: the trace is saved, the
// sidecar has the driver bindings, kernel ranges and the unbind seen during
// the run (also written to trace_marker), and tracefs is restored. `check`
// then picks the sidecar up by itself.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { machine, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixture } from '../helpers/fixtures.js';

const BIN = join(process.cwd(), 'bin', 'dmadebug.js');
const DEV = '0000:00:02.0';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function fakeSystem() {
  const root = mkdtempSync(join(tmpdir(), 'dmadebug-rec-'));
  made.push(root);
  const tracefs = join(root, 'tracing');
  for (const f of [
    'events/dma/dma_map_page/enable',
    'events/dma/dma_unmap_page/enable',
    'events/kmem/mm_page_free/enable',
    'tracing_on',
  ]) {
    mkdirSync(join(tracefs, f, '..'), { recursive: true });
    writeFileSync(join(tracefs, f), '0\n');
  }
  writeFileSync(join(tracefs, 'trace'), 'stale content from before\n');
  writeFileSync(join(tracefs, 'trace_pipe'), '');
  writeFileSync(join(tracefs, 'trace_marker'), '');
  const sysfs = join(root, 'sys');
  mkdirSync(join(sysfs, 'bus/pci/drivers/dmabug'), { recursive: true });
  mkdirSync(join(sysfs, 'bus/pci/devices', DEV), { recursive: true });
  symlinkSync('../../../../bus/pci/drivers/dmabug', join(sysfs, 'bus/pci/devices', DEV, 'driver'));
  writeFileSync(join(sysfs, 'bus/pci/devices', DEV, 'dma_mask_bits'), '32\n');
  const iomem = join(root, 'iomem');
  writeFileSync(
    iomem,
    '00100000-7ffdefff : System RAM\n  01000000-017fffff : Kernel code\n  01800000-01a10fff : Kernel rodata\n',
  );
  return { root, tracefs, sysfs, iomem };
}

describe('dmadebug record', () => {
  it('saves the trace and a sidecar, marks the unbind, restores tracefs, returns the command status', () => {
    const s = fakeSystem();
    const out = join(s.root, 'run.txt');
    // The "workload" writes trace lines (as the kernel would) and unbinds the driver.
    const script = `cat '${fixture('bug-leak-unbind')}' >> '${s.tracefs}/trace'; sleep 0.4; rm '${s.sysfs}/bus/pci/devices/${DEV}/driver'; sleep 0.4; exit 3`;
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'record',
        '--tracefs',
        s.tracefs,
        '--sysfs',
        s.sysfs,
        '--iomem',
        s.iomem,
        '-o',
        out,
        '--',
        'sh',
        '-c',
        script,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 3, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(fixture('bug-leak-unbind'), 'utf8'));
    const side = JSON.parse(readFileSync(`${out}.side.json`, 'utf8'));
    assert.equal(side.drivers[DEV], 'dmabug');
    assert.equal(side.buses[DEV], 'pci');
    assert.equal(side.dmaMaskBits[DEV], 32);
    assert.deepEqual(
      side.kernelImage.map((k: { name: string }) => k.name),
      ['Kernel code', 'Kernel rodata'],
    );
    // The RAM that is not reserved (7.x: MMIO maps of it are reported), and the kernel's uname.
    assert.deepEqual(side.systemRam, [
      { start: '0x100000', end: '0x1000000' },
      { start: '0x1a11000', end: '0x7ffdf000' },
    ]);
    assert.deepEqual(side.kernel, { release: release(), machine: machine() });
    assert.equal(side.version, 1);
    assert.equal(side.unbinds.length, 1);
    assert.equal(side.unbinds[0].device, DEV);
    assert.equal(side.unbinds[0].marker, true);
    assert.equal(readFileSync(join(s.tracefs, 'trace_marker'), 'utf8'), `dmadebug: unbind ${DEV} dmabug pci\n`);
    for (const f of ['events/dma/dma_map_page/enable', 'events/kmem/mm_page_free/enable', 'tracing_on']) {
      assert.equal(readFileSync(join(s.tracefs, f), 'utf8').trim(), '0', f);
    }
  });

  it('check picks the sidecar up: real driver names, and an unbind without a marker is applied at the end', () => {
    const s = fakeSystem();
    const trace = join(s.root, 'leak.txt');
    writeFileSync(trace, readFileSync(fixture('bug-leak-unbind')));
    writeFileSync(
      `${trace}.side.json`,
      JSON.stringify({
        version: 1,
        drivers: { [DEV]: 'dmabug' },
        buses: { [DEV]: 'pci' },
        kernelImage: [],
        dmaMaskBits: {},
        unbinds: [{ device: DEV, driver: 'dmabug', bus: 'pci', atSeconds: 1, marker: false }],
      }),
    );
    const r = spawnSync(process.execPath, [BIN, 'check', trace], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stdout,
      /^DMA-API: pci 0000:00:02\.0: device driver has pending DMA allocations while released from device \[count=2\]$/m,
    );
    assert.match(
      r.stdout,
      /^One of leaked entries details: \[device address=0x000000000b893c00\] \[size=1024 bytes\] \[mapped with DMA_FROM_DEVICE\] \[mapped as single\]$/m,
    );
    const noSide = spawnSync(process.execPath, [BIN, 'check', '--no-side', trace], { encoding: 'utf8' });
    assert.equal(noSide.status, 0);
  });

  it('an unbind marker in the trace reports the leak at that moment', () => {
    const s = fakeSystem();
    const lines = readFileSync(fixture('bug-leak-unbind'), 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('dmabug: remove'));
    lines.splice(
      i + 1,
      0,
      `           rmmod-110     [001] .....     2.400000: tracing_mark_write: dmadebug: unbind ${DEV} dmabug pci`,
    );
    const trace = join(s.root, 'marked.txt');
    writeFileSync(trace, lines.join('\n'));
    const r = spawnSync(process.execPath, [BIN, 'check', trace], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /pending DMA allocations while released from device \[count=2\]/);
    assert.match(r.stdout, new RegExp(`at 2\\.400000 cpu 1 rmmod-110 \\(.*marked\\.txt:${i + 2}\\)`));
  });

  it('without a command: usage error', () => {
    const r = spawnSync(process.execPath, [BIN, 'record'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
  });
});
