/**
 * The /proc parsers against other machines' files (an x86 server with two sockets, an ARM
 * board whose cpuinfo has no model name) and against this machine, where `nproc` and
 * `free` are the oracles.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseCpuinfo, parseMeminfo, parseProcStat, procMachine } from '../../src/hypervisor/proc-machine.js';
import { cpuInfoOf, utilisation } from '../../src/actions/host/host-facts.js';

const cpu = (n: number, socket: number) => `processor\t: ${n}
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
stepping\t: 4
cpu MHz\t\t: 2095.078
physical id\t: ${socket}
flags\t\t: fpu vme de pse tsc msr pae mce cx8 vmx
`;

describe('/proc parsers', () => {
  it('reads each CPU of a two-socket x86 machine, and cpu_info counts sockets', () => {
    const cpus = parseCpuinfo([cpu(0, 0), cpu(1, 0), cpu(2, 1), cpu(3, 1)].join('\n'));
    assert.equal(cpus.length, 4);
    assert.deepEqual(cpus[2], {
      number: 2, vendor: 'GenuineIntel', modelname: 'Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz', speed: 2095, family: 6,
      model: 85, stepping: '4', flags: 'fpu vme de pse tsc msr pae mce cx8 vmx', socket: 1,
    });
    const info = cpuInfoOf(cpus);
    assert.equal(info.cpu_count, '4');
    assert.equal(info.socket_count, '2');
    assert.equal(info.vendor, 'GenuineIntel');
    assert.equal(info.speed, '2095.000');
  });

  it('takes an ARM cpuinfo without model name or MHz', () => {
    const cpus = parseCpuinfo('processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32\nCPU implementer\t: 0x41\n\nprocessor\t: 1\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n\nHardware\t: BCM2835\n');
    assert.equal(cpus.length, 2);
    assert.equal(cpus[0]!.vendor, '0x41');
    assert.equal(cpus[0]!.flags, 'fp asimd evtstrm crc32');
    assert.equal(cpus[0]!.speed, 0);
    assert.equal(cpuInfoOf(cpus).socket_count, '1');
  });

  it('reads meminfo in bytes, falling back to MemFree on old kernels', () => {
    assert.deepEqual(parseMeminfo('MemTotal:  1000 kB\nMemFree:  200 kB\nMemAvailable:  600 kB\n'), { total: 1024000, available: 614400 });
    assert.deepEqual(parseMeminfo('MemTotal:  1000 kB\nMemFree:  200 kB\n'), { total: 1024000, available: 204800 });
  });

  it('turns two /proc/stat readings into per-CPU utilisation', () => {
    const a = parseProcStat('cpu  10 0 10 80 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 40 0 0 0 0 0 0\n');
    const b = parseProcStat('cpu  60 0 10 130 0 0 0 0\ncpu0 55 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 90 0 0 0 0 0 0\n');
    assert.deepEqual(utilisation(a, b), [1, 0]);
    assert.deepEqual(utilisation([], b), [0, 0], 'no earlier reading: nothing known yet');
  });

  it('agrees with nproc and free on this machine', async () => {
    const m = procMachine();
    const cpus = await m.cpus();
    assert.equal(cpus.length, Number(execFileSync('nproc', ['--all']).toString().trim()));
    const mem = await m.memory();
    const freeTotal = Number(/^Mem:\s+(\d+)/m.exec(execFileSync('free', ['-b']).toString())![1]);
    assert.equal(mem.total, freeTotal);
    assert.ok(mem.available > 0 && mem.available <= mem.total);
    assert.equal((await m.cpuTimes()).length, cpus.length);
  });
});
