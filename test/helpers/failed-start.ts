/**
 * @module
 * Checks that a server which fails to start part-way leaves nothing listening: `start` is
 * given a port another server already holds, must reject with EADDRINUSE, and afterwards the
 * process holds no more listening sockets than before. A listener left behind would keep a
 * test file's process alive until the runner's limit.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';

function listeningServers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
}

export async function assertFailedStartLeavesNothing(start: (takenPort: number) => Promise<unknown>): Promise<void> {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  try {
    const before = listeningServers();
    await assert.rejects(start((taken.address() as { port: number }).port), /EADDRINUSE/);
    assert.equal(listeningServers(), before, 'no server is left listening');
  } finally {
    await new Promise<void>((r) => taken.close(() => r()));
  }
}
