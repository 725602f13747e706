import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonRpcParseError, jsonRpcFailure, jsonRpcSuccess, parseJsonRpcCall } from '../../../src/api/wire/jsonrpc.js';
import { encodeTyped, toJson } from '../../../src/api/wire/typed-value.js';
import { t } from '../../../src/datamodel/dsl.js';

describe('parseJsonRpcCall', () => {
  it('reads version 1 (no jsonrpc member) and version 2 calls', () => {
    assert.deepEqual(parseJsonRpcCall('{"method":"session.login_with_password","params":["root","pw"],"id":7}'),
      { method: 'session.login_with_password', params: ['root', 'pw'], id: 7, version: 1 });
    assert.deepEqual(parseJsonRpcCall('{"jsonrpc":"2.0","method":"VM.get_all","params":["OpaqueRef:s"],"id":"abc"}'),
      { method: 'VM.get_all', params: ['OpaqueRef:s'], id: 'abc', version: 2 });
  });

  it('lets version 2 omit params or pass one object, as ocaml-rpc does', () => {
    assert.deepEqual(parseJsonRpcCall('{"jsonrpc":"2.0","method":"system.listMethods","id":0}').params, []);
    assert.deepEqual(parseJsonRpcCall('{"jsonrpc":"2.0","method":"m","params":null,"id":0}').params, []);
    assert.deepEqual(parseJsonRpcCall('{"jsonrpc":"2.0","method":"m","params":{"a":1},"id":0}').params, [{ a: 1 }]);
  });

  it('keeps integers exact up to 2^53 and unicode intact', () => {
    const r = parseJsonRpcCall(`{"method":"m","params":[9007199254740992,"\\u00e9\\ud83d\\ude00 <&>"],"id":1}`);
    assert.deepEqual(r.params, [2 ** 53, 'é😀 <&>']);
  });

  const bad: Record<string, string> = {
    'empty body': '',
    'not JSON': '<methodCall/>',
    'truncated JSON': '{"method":"m","params":[',
    'an array': '[{"method":"m","params":[],"id":1}]',
    'a string': '"m"',
    'missing method': '{"params":[],"id":1}',
    'non-string method': '{"method":5,"params":[],"id":1}',
    'missing id (notification)': '{"method":"m","params":[]}',
    'null id': '{"method":"m","params":[],"id":null}',
    'fractional id': '{"method":"m","params":[],"id":1.5}',
    'object id': '{"method":"m","params":[],"id":{}}',
    'v1 without params': '{"method":"m","id":1}',
    'v1 object params': '{"method":"m","params":{"a":1},"id":1}',
    'string params': '{"jsonrpc":"2.0","method":"m","params":"x","id":1}',
    'unknown version': '{"jsonrpc":"1.0","method":"m","params":[],"id":1}',
  };
  for (const [name, body] of Object.entries(bad)) {
    it(`rejects ${name}`, () => assert.throws(() => parseJsonRpcCall(body), JsonRpcParseError));
  }

  it('rejects deep nesting and huge bodies cleanly', () => {
    const deep = `{"method":"m","params":${'['.repeat(100_000)}${']'.repeat(100_000)},"id":1}`;
    assert.equal(parseJsonRpcCall(deep).method, 'm');
    assert.throws(() => parseJsonRpcCall(`{"method":"m","params":${'['.repeat(100_000)}`), JsonRpcParseError);
    const huge = parseJsonRpcCall(`{"method":"m","params":["${'x'.repeat(10_000_000)}"],"id":1}`);
    assert.equal((huge.params[0] as string).length, 10_000_000);
  });
});

describe('JSON-RPC responses', () => {
  const value = encodeTyped({ size: 2 ** 53, progress: 0.5, when: new Date(0), ok: true, name: 'é<&>' }, t.any);

  it('version 1 success and failure', () => {
    assert.equal(jsonRpcSuccess(7, 1, toJson(value)),
      '{"result":{"size":9007199254740992,"progress":0.5,"when":"19700101T00:00:00Z","ok":true,"name":"é<&>"},"error":null,"id":7}');
    assert.equal(jsonRpcFailure(7, 1, ['SESSION_INVALID', 'OpaqueRef:x']),
      '{"result":null,"error":["SESSION_INVALID","OpaqueRef:x"],"id":7}');
  });

  it('version 2 success and failure (code 1, message CODE, data params)', () => {
    assert.equal(jsonRpcSuccess('a', 2, toJson(encodeTyped(undefined, t.void))), '{"jsonrpc":"2.0","result":"","id":"a"}');
    assert.equal(jsonRpcFailure('a', 2, ['HANDLE_INVALID', 'VM', 'OpaqueRef:1']),
      '{"jsonrpc":"2.0","error":{"code":1,"message":"HANDLE_INVALID","data":["VM","OpaqueRef:1"]},"id":"a"}');
    assert.equal(jsonRpcFailure(0, 2, ['EVENTS_LOST']),
      '{"jsonrpc":"2.0","error":{"code":1,"message":"EVENTS_LOST","data":[]},"id":0}');
    assert.equal(jsonRpcFailure(null, 2, ['JSONRPC_UNMARSHAL_FAILURE', 'bad']),
      '{"jsonrpc":"2.0","error":{"code":1,"message":"JSONRPC_UNMARSHAL_FAILURE","data":["bad"]},"id":null}');
  });

  it('round-trips through parse', () => {
    const body = jsonRpcSuccess(3, 2, toJson(value));
    assert.deepEqual(JSON.parse(body).result, { size: 2 ** 53, progress: 0.5, when: '19700101T00:00:00Z', ok: true, name: 'é<&>' });
  });
});
