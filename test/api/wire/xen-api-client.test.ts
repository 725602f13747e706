/**
 * Xen Orchestra's `xen-api` client as an oracle: its JSON-RPC and XML-RPC transports talk
 * to a real HTTP server on loopback that answers with our codecs, and its task-result
 * reader parses our `<value>` fragments.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonRpcFailure, jsonRpcSuccess, parseJsonRpcCall } from '../../../src/api/wire/jsonrpc.js';
import { parseXmlRpcCall, xmlRpcFailure, xmlRpcSuccess } from '../../../src/api/wire/xmlrpc.js';
import { decodeArg, encodeTyped, toJson, toXmlValue, type WireValue } from '../../../src/api/wire/typed-value.js';
import { t } from '../../../src/datamodel/dsl.js';

type Transport = (method: string, args: unknown[]) => Promise<unknown>;
/** The client copies own properties of `url` (its own parsed form), so a plain object is passed. */
type TransportFactory = (o: { url: { protocol: string; hostname: string; port: string } }) => Transport;

// Loaded by name at run time: the package ships no type declarations.
const load = async (spec: string): Promise<{ default: unknown }> => import(spec) as Promise<{ default: unknown }>;

/** The server side of the test: `test.echo` returns its arguments, `test.fail` an error. */
function answer(method: string, params: unknown[]): { ok: WireValue } | { err: string[] } {
  if (method === 'test.fail') return { err: ['HANDLE_INVALID', 'VM', String(params[0])] };
  if (method === 'test.when') return { ok: encodeTyped(decodeArg(params[0], t.datetime, 'when'), t.datetime) };
  if (method === 'test.size') return { ok: encodeTyped(decodeArg(params[0], t.int, 'size'), t.int) };
  return { ok: encodeTyped(params, t.any) };
}

describe('xen-api (Xen Orchestra) client against our codecs', () => {
  let server: Server;
  let url: { protocol: string; hostname: string; port: string };

  /** Answers one request with our codecs; a throw becomes a 500 so the client never hangs. */
  function reply(path: string | undefined, body: string, res: ServerResponse): void {
    if (path === '/jsonrpc') {
      const c = parseJsonRpcCall(body);
      const a = answer(c.method, c.params);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('ok' in a ? jsonRpcSuccess(c.id, c.version, toJson(a.ok)) : jsonRpcFailure(c.id, c.version, a.err));
    } else {
      const c = parseXmlRpcCall(body);
      const a = answer(c.method, c.params);
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end('ok' in a ? xmlRpcSuccess(a.ok) : xmlRpcFailure(a.err));
    }
  }

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          reply(req.url, Buffer.concat(chunks).toString('utf8'), res);
        } catch (e) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(e));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = { protocol: 'http:', hostname: '127.0.0.1', port: String((server.address() as AddressInfo).port) };
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const args = ['OpaqueRef:1', 'é 日本 <&> "q"', 42, 1.5, true, { nested: ['x', false], empty: {} }, []];

  it('JSON-RPC: values, errors and datetimes', async () => {
    const call = ((await load('xen-api/transports/json-rpc.mjs')).default as TransportFactory)({ url });
    assert.deepEqual(await call('test.echo', args), args);
    await assert.rejects(call('test.fail', ['OpaqueRef:9']),
      (e: { code?: string; params?: unknown }) => e.code === 'HANDLE_INVALID' && JSON.stringify(e.params) === '["VM","OpaqueRef:9"]');
    assert.equal(await call('test.when', [new Date(Date.UTC(2025, 2, 19, 4, 16, 24))]), '20250319T04:16:24Z');
    assert.equal(await call('test.size', [2 ** 53]), 2 ** 53);
  });

  it('XML-RPC: values (ints become strings, as from xapi), errors and datetimes', async () => {
    const call = ((await load('xen-api/transports/xml-rpc.mjs')).default as TransportFactory)({ url });
    // The client sends ints as strings and xapi-style servers send them back that way.
    assert.deepEqual(await call('test.echo', args), ['OpaqueRef:1', 'é 日本 <&> "q"', '42', 1.5, true, { nested: ['x', false], empty: {} }, []]);
    await assert.rejects(call('test.fail', ['OpaqueRef:9']),
      (e: { code?: string; params?: unknown }) => e.code === 'HANDLE_INVALID' && JSON.stringify(e.params) === '["VM","OpaqueRef:9"]');
    // Its XML-RPC parameter preparation turns a Date into an empty struct, so XO sends ISO text.
    const when = await call('test.when', ['2025-03-19T04:16:24.000Z']);
    assert.ok(when instanceof Date && when.getTime() === Date.UTC(2025, 2, 19, 4, 16, 24), String(when));
    assert.equal(await call('test.size', [2 ** 53]), String(2 ** 53));
  });

  it('reads task results written with toXmlValue', async () => {
    const getTaskResult = (await load('xen-api/_getTaskResult.mjs')).default as (task: object) => Promise<unknown>;
    const ok = (result: string) => getTaskResult({ status: 'success', result });
    assert.equal(await ok(toXmlValue(encodeTyped('OpaqueRef:abc', t.ref('VM')))), 'OpaqueRef:abc');
    assert.equal(await ok(''), '');
    assert.deepEqual(await ok(toXmlValue(encodeTyped(['a<b', 'c&d'], t.set(t.string)))), ['a<b', 'c&d']);
    assert.deepEqual(await ok(toXmlValue(encodeTyped({ k: 'v' }, t.smap))), { k: 'v' });
  });
});
