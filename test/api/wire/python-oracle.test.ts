/**
 * Python's `xmlrpc.client` (expat underneath) as an independent oracle: it must read our
 * responses as the values we meant, and we must read the calls and responses it writes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  parseXmlRpcCall, parseXmlRpcResponse, xmlRpcFailure, xmlRpcFault, xmlRpcSuccess,
} from '../../../src/api/wire/xmlrpc.js';
import { encodeTyped } from '../../../src/api/wire/typed-value.js';
import { t } from '../../../src/datamodel/dsl.js';

/** Runs a Python snippet with `data` (JSON) on stdin and returns what it prints as JSON. */
function python(code: string, data: unknown): unknown {
  const prelude = `
import sys, json, base64, xmlrpc.client as x
def plain(v):
    if isinstance(v, x.DateTime): return {'$date': v.value}
    if isinstance(v, x.Binary): return {'$b64': base64.b64encode(v.data).decode()}
    if isinstance(v, (list, tuple)): return [plain(e) for e in v]
    if isinstance(v, dict): return {k: plain(e) for k, e in v.items()}
    if isinstance(v, float) and v != v: return {'$nan': True}
    if isinstance(v, float) and v in (float('inf'), float('-inf')): return {'$inf': 1 if v > 0 else -1}
    return v
data = json.loads(sys.stdin.read())
`;
  const out = execFileSync('python3', ['-c', prelude + code], { input: JSON.stringify(data), encoding: 'utf8', timeout: 20_000 });
  return JSON.parse(out);
}

/** Python's reading of an XML-RPC response: `[params, method]`, or the fault. */
function pyLoads(xml: string): unknown {
  return python(`
try:
    params, method = x.loads(data)
    print(json.dumps({'params': plain(params), 'method': method}))
except x.Fault as f:
    print(json.dumps({'fault': f.faultCode, 'string': f.faultString}))
`, xml);
}

const tricky = 'a<b>&"c\' é 日本語 😀 \t\n\r end';

describe('Python xmlrpc.client reads our responses', () => {
  it('a success carrying every wire type', () => {
    const value = encodeTyped({
      s: tricky, big: 2 ** 53, neg: -(2 ** 53), f: 0.1, half: 0.5, yes: true, no: false,
      when: new Date(Date.UTC(2025, 2, 19, 4, 16, 24)), list: ['x', 1, 2.5], empty: {}, nested: { a: [[]] },
    }, t.any);
    const r = pyLoads(xmlRpcSuccess(value));
    assert.deepEqual(r, {
      method: null,
      params: [{
        Status: 'Success',
        Value: {
          s: tricky, big: '9007199254740992', neg: '-9007199254740992', f: 0.1, half: 0.5, yes: true, no: false,
          when: { $date: '20250319T04:16:24Z' }, list: ['x', '1', 2.5], empty: {}, nested: { a: [[]] },
        },
      }],
    });
  });

  it('a void success, a failure and a fault', () => {
    assert.deepEqual(pyLoads(xmlRpcSuccess(encodeTyped(undefined, t.void))),
      { method: null, params: [{ Status: 'Success', Value: '' }] });
    assert.deepEqual(pyLoads(xmlRpcFailure(['VM_BAD_POWER_STATE', 'OpaqueRef:1', 'halted', 'running'])), {
      method: null,
      params: [{ Status: 'Failure', ErrorDescription: ['VM_BAD_POWER_STATE', 'OpaqueRef:1', 'halted', 'running'] }],
    });
    assert.deepEqual(pyLoads(xmlRpcFault(-32700, 'bad <xml> & co')), { fault: -32700, string: 'bad <xml> & co' });
  });

  it('doubles as xapi writes them, including the non-finite ones', () => {
    const r = pyLoads(xmlRpcSuccess(encodeTyped([1e300, -2.5e-7, 1 / 3, NaN, -Infinity], t.set(t.float)))) as {
      params: [{ Value: unknown[] }];
    };
    assert.deepEqual(r.params[0].Value, [1e300, -2.5e-7, 0.3333333333333333, { $nan: true }, { $inf: -1 }]);
  });
});

describe('we read what Python xmlrpc.client writes', () => {
  const pyValues = `
vals = (
    'OpaqueRef:3f1c', data['s'], 42, -2**31, 2**31 - 1, 1.5, -0.25, True, False,
    x.DateTime('20250319T04:16:24'), x.Binary('héllo'.encode()), None,
    ['a', 2, [True]], {'k': 'v', 'n': 1, 'nested': {'e': []}, '': 'empty key'}, '', [], {},
)
`;
  const expected = [
    // Python sends CR raw, and XML reads a raw CR as LF (expat would too).
    'OpaqueRef:3f1c', tricky.replace('\r', '\n'), 42, -(2 ** 31), 2 ** 31 - 1, 1.5, -0.25, true, false,
    '20250319T04:16:24Z', 'héllo', null,
    ['a', 2, [true]], { k: 'v', n: 1, nested: { e: [] }, '': 'empty key' }, '', [], {},
  ];

  it('a call made with dumps(methodname=…)', () => {
    const xml = python(`${pyValues}
print(json.dumps(x.dumps(vals, methodname='VM.set_name_label', allow_none=True)))
`, { s: tricky }) as string;
    const r = parseXmlRpcCall(xml);
    assert.equal(r.method, 'VM.set_name_label');
    assert.deepEqual(r.params, expected);
  });

  it('the UTF-8 bytes ServerProxy would POST', () => {
    const b64 = python(`
body = x.dumps(('OpaqueRef:1', data['s']), methodname='session.logout', encoding='utf-8').encode('utf-8')
print(json.dumps(base64.b64encode(body).decode()))
`, { s: tricky.replace('\r', '') }) as string;
    const xml = Buffer.from(b64, 'base64').toString('utf8');
    assert.ok(xml.startsWith("<?xml version='1.0'?>"));
    assert.deepEqual(parseXmlRpcCall(xml), { method: 'session.logout', params: ['OpaqueRef:1', tricky.replace('\r', '')] });
  });

  it('a response made with dumps(methodresponse=True), and a fault', () => {
    const ok = python(`print(json.dumps(x.dumps(({'Status': 'Success', 'Value': [1, 'two']},), methodresponse=True)))`, null) as string;
    assert.deepEqual(parseXmlRpcResponse(ok), { kind: 'success', value: [1, 'two'] });
    const fault = python(`print(json.dumps(x.dumps(x.Fault(4, 'too <many> params'))))`, null) as string;
    assert.deepEqual(parseXmlRpcResponse(fault), { kind: 'fault', code: 4, message: 'too <many> params' });
  });
});
