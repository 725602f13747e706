/**
 * The API listener accepts connections itself and hands them to an HTTP server that never
 * listens, so Node's HTTP default of Nagle's algorithm off does not reach them unless the
 * listener asks for it. With Nagle on, an answer on a new TLS connection could wait 40 ms for
 * the client to acknowledge the session tickets that follow the handshake.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listenDual } from '../../src/main/dual-listener.js';
import { loadOrCreateTlsIdentity } from '../../src/main/tls-identity.js';

describe('API listener', () => {
  it('turns Nagle off for every connection it accepts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'islet-listener-nodelay-'));
    const tls = await loadOrCreateTlsIdentity(dir, { hostName: 'nodelay-test', addresses: ['127.0.0.1'] });
    const l = await listenDual('127.0.0.1', 0, tls, (_req, res) => res.end());
    try {
      // net.Server keeps its noDelay option and applies it to each accepted socket.
      assert.equal((l.server as unknown as { noDelay?: boolean }).noDelay, true);
    } finally {
      await l.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
