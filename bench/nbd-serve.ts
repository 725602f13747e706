/**
 * @module
 * Child process for `nbd-bench`: serves one raw file as export `bench` with Islet's NBD
 * server on 127.0.0.1 and prints `ready <port>`, so the server under test has a process
 * (and event loop) of its own, as it would in a host. Stops on SIGTERM or when its
 * stdin closes (the benchmark that started it is gone).
 *
 * Usage: node nbd-serve.js FILE [--multi-conn]
 */
import { FileBlockDevice } from '../src/storage/nbd/file-block-device.js';
import { NbdServer } from '../src/storage/nbd/nbd-server.js';

const [file, ...flags] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: nbd-serve FILE [--multi-conn]\n');
  process.exit(2);
}
const multiConn = flags.includes('--multi-conn');
// With multi-conn every connection must share one device, so that a flush covers them all.
const shared = multiConn ? await FileBlockDevice.open(file) : undefined;

const server = new NbdServer({
  multiConn,
  resolveExport: async (name) => {
    if (name !== 'bench') return undefined;
    const device = shared ?? (await FileBlockDevice.open(file));
    return { device, readOnly: false, release: async () => (shared ? undefined : device.close()) };
  },
  onError: (e) => process.stderr.write(`nbd-serve: ${e instanceof Error ? e.message : String(e)}\n`),
});
const { port } = await server.listen(0, '127.0.0.1');
process.stdout.write(`ready ${port}\n`);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void server.close().then(async () => {
    await shared?.close();
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
// Our parent holds our stdin: when it goes away, however it died, so do we.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
