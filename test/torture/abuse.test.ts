/**
 * The abuse torture suite, short: every probe group against a real server in its own mount
 * namespace, with the server's connection timeouts and per-peer cap shortened through its
 * environment so the connection probes take seconds, and a smaller login flood (100
 * failures from 100 peers: a dummy hash per unknown name holds the server to a few failed
 * logins a second). The full run is `npm run torture -- abuse` (default timeouts, 5,001 failures).
 * These probes hold the security fixes of issue 10 in place.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAbuse } from '../../torture/abuse/abuse-suite.js';
import { formatResult } from '../../torture/suite-result.js';

/** The server's knobs (docs/security.md), shortened so the probes take seconds. */
const SHORT_LIMITS = {
  ISLET_HEADERS_TIMEOUT_MS: '3000',
  ISLET_BODY_IDLE_TIMEOUT_MS: '3000',
  ISLET_KEEPALIVE_TIMEOUT_MS: '3000',
  ISLET_MAX_CONNECTIONS_PER_PEER: '100',
};

describe('torture: abuse (short run)', () => {
  it('pool-internal power stays out of a pool-operator\'s reach', async () => {
    const r = await runAbuse({ headers: 5, body: 5, keepAlive: 5, flood: 2000, loginFlood: 100, only: ['escalation'] });
    assert.deepEqual(r.failures, [], formatResult(r));
  });

  it('hostile SR paths are refused, write nothing and leave the server idle', async () => {
    const r = await runAbuse({ headers: 5, body: 5, keepAlive: 5, flood: 2000, loginFlood: 100, only: ['paths'] });
    assert.deepEqual(r.failures, [], formatResult(r));
  });

  it('slow, idle, half-sent and too many connections are closed in time', async () => {
    const r = await runAbuse({ headers: 3, body: 3, keepAlive: 3, flood: 400, loginFlood: 100, only: ['sockets'], serverEnv: SHORT_LIMITS });
    assert.deepEqual(r.failures, [], formatResult(r));
  });

  it('a login flood does not flush root\'s throttle and timing does not tell users apart', async () => {
    const r = await runAbuse({ headers: 5, body: 5, keepAlive: 5, flood: 2000, loginFlood: 100, only: ['login'] });
    assert.deepEqual(r.failures, [], formatResult(r));
  });
});
