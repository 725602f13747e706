/**
 * The abuse torture suite, short: every probe group against a real server in its own mount
 * namespace, with the server's connection timeouts shortened through its environment so
 * the connection probes take seconds, and a smaller login flood (600 failures from 600
 * peers). The full run is `npm run torture -- abuse` (default timeouts, 5,001 failures).
 * These probes hold the security fixes of issue 10 in place.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAbuse } from '../../torture/abuse/abuse-suite.js';
import { formatResult } from '../../torture/suite-result.js';

export const SHORT_TIMEOUTS = {
  ISLET_HEADERS_TIMEOUT_MS: '3000',
  ISLET_REQUEST_BODY_TIMEOUT_MS: '3000',
  ISLET_KEEP_ALIVE_TIMEOUT_MS: '3000',
};

describe('torture: abuse (short run)', () => {
  it('pool-internal power stays out of a pool-operator\'s reach', async () => {
    const r = await runAbuse({ headers: 5, body: 5, keepAlive: 5, flood: 2000, loginFlood: 600, only: ['escalation'] });
    assert.deepEqual(r.failures, [], formatResult(r));
  });

  it('hostile SR paths are refused, write nothing and leave the server idle', async () => {
    const r = await runAbuse({ headers: 5, body: 5, keepAlive: 5, flood: 2000, loginFlood: 600, only: ['paths'] });
    assert.deepEqual(r.failures, [], formatResult(r));
  });

  it('slow, idle, half-sent and too many connections are closed in time', async () => {
    const r = await runAbuse({ headers: 5, body: 5, keepAlive: 5, flood: 2000, loginFlood: 600, only: ['sockets'], serverEnv: SHORT_TIMEOUTS });
    assert.deepEqual(r.failures, [], formatResult(r));
  });

  it('a login flood does not flush root\'s throttle and timing does not tell users apart', async () => {
    const r = await runAbuse({ headers: 5, body: 5, keepAlive: 5, flood: 2000, loginFlood: 600, only: ['login'] });
    assert.deepEqual(r.failures, [], formatResult(r));
  });
});
