/**
 * @module
 * Child process for the NBD benchmarks: serves with Islet's NBD server on 127.0.0.1 and
 * prints `ready <port>`, so the server under test has a process (and event loop) of its
 * own, as it would in a host. `--raw FILE` serves one raw file as export `bench`;
 * `--vhd DIR` serves the VHD files of DIR, the export name being the file name (a
 * differencing disk opens with its parents). All connections to one export share one
 * device, opened at the first and closed (flushed) after the last, as a host shares one
 * chain per VDI. Stops on SIGTERM or when its stdin closes (the benchmark is gone).
 *
 * Usage: node nbd-serve.js (--raw FILE | --vhd DIR) [--multi-conn] [--plain-socket]
 */
import { basename, join } from 'node:path';
import type { BlockDevice } from '../src/core/ports/block-device.js';
import { FileBlockDevice } from '../src/storage/nbd/file-block-device.js';
import { NbdServer } from '../src/storage/nbd/nbd-server.js';
import { VhdBlockDevice } from '../src/storage/vhd/vhd-block-device.js';

const argv = process.argv.slice(2);
const kind = argv[0] === '--raw' ? 'raw' : argv[0] === '--vhd' ? 'vhd' : undefined;
const target = argv[1];
if (!kind || !target) {
  process.stderr.write('usage: nbd-serve (--raw FILE | --vhd DIR) [--multi-conn] [--plain-socket]\n');
  process.exit(2);
}
const multiConn = argv.includes('--multi-conn');

interface Shared {
  device: Promise<BlockDevice>;
  users: number;
}
const open = new Map<string, Shared>();
/** Devices being closed: a new connection waits, so one file never has two writers. */
const closing = new Map<string, Promise<void>>();

function pathOf(name: string): string | undefined {
  if (kind === 'raw') return name === 'bench' ? target : undefined;
  return name === basename(name) && name.endsWith('.vhd') ? join(target!, name) : undefined;
}

const server = new NbdServer({
  multiConn,
  zeroCopyReceive: !argv.includes('--plain-socket'),
  resolveExport: async (name) => {
    const path = pathOf(name);
    if (!path) return undefined;
    let s = open.get(name);
    if (!s) await closing.get(name);
    s = open.get(name);
    if (!s) {
      s = { device: kind === 'raw' ? FileBlockDevice.open(path) : VhdBlockDevice.open(path), users: 0 };
      open.set(name, s);
    }
    s.users++;
    const entry = s;
    let device: BlockDevice;
    try {
      device = await entry.device;
    } catch (e) {
      if (--entry.users === 0) open.delete(name);
      throw e;
    }
    return {
      device,
      readOnly: false,
      release: async () => {
        if (--entry.users > 0) return;
        open.delete(name);
        const done = device.flush().finally(() => device.close());
        const settled: Promise<void> = done.catch(() => undefined).then(() => {
          if (closing.get(name) === settled) closing.delete(name);
        });
        closing.set(name, settled);
        await done;
      },
    };
  },
  onError: (e) => process.stderr.write(`nbd-serve: ${e instanceof Error ? e.message : String(e)}\n`),
});
const { port } = await server.listen(0, '127.0.0.1');
process.stdout.write(`ready ${port}\n`);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
// Our parent holds our stdin: when it goes away, however it died, so do we.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
