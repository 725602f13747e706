/**
 * Host addresses as the pool passes them around: `host[:port]`, IPv6 in brackets, URLs,
 * and the HOST_IS_SLAVE form that leaves the port out when it is the reader's own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHostPort, isWildcard, parseHostPort, peerUrl, slaveReplyAddress } from '../../src/pool/host-address.js';

test('parses addresses with and without a port', () => {
  assert.deepEqual(parseHostPort('10.0.0.1', 443), { host: '10.0.0.1', port: 443 });
  assert.deepEqual(parseHostPort('10.0.0.1:8443', 443), { host: '10.0.0.1', port: 8443 });
  assert.deepEqual(parseHostPort('[fd00::1]:9', 443), { host: 'fd00::1', port: 9 });
  assert.deepEqual(parseHostPort('[fd00::1]', 7), { host: 'fd00::1', port: 7 });
  assert.deepEqual(parseHostPort('https://h.example:4443/x', 1), { host: 'h.example', port: 4443 });
  assert.deepEqual(parseHostPort('http://h.example', 1), { host: 'h.example', port: 80 });
  assert.throws(() => parseHostPort('  ', 1));
});

test('formats and round-trips', () => {
  for (const a of [{ host: '127.0.0.1', port: 1 }, { host: 'fd00::1', port: 443 }]) {
    assert.deepEqual(parseHostPort(formatHostPort(a), 0), a);
  }
  assert.equal(peerUrl({ host: 'fd00::2', port: 5 }), 'https://[fd00::2]:5');
});

test('HOST_IS_SLAVE names the master by address alone when the ports agree', () => {
  assert.equal(slaveReplyAddress({ host: '10.1.1.1', port: 443 }, 443), '10.1.1.1');
  assert.equal(slaveReplyAddress({ host: '127.0.0.1', port: 8000 }, 8001), '127.0.0.1:8000');
  assert.ok(isWildcard('0.0.0.0') && isWildcard('::') && !isWildcard('127.0.0.1'));
});
