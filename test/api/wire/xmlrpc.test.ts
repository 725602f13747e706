import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_XML_DEPTH, XmlRpcParseError, escapeXml, formatDouble, parseXmlRpcCall, parseXmlRpcResponse,
  parseXmlRpcValue, toXmlValue, xmlRpcBare, xmlRpcFailure, xmlRpcFault, xmlRpcSuccess,
} from '../../../src/api/wire/xmlrpc.js';
import type { WireValue } from '../../../src/api/wire/wire-value.js';

const call = (params: string, method = 'VM.get_record') =>
  `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;
const p = (value: string) => `<param>${value}</param>`;

/** Asserts that parsing throws XmlRpcParseError within `ms` milliseconds. */
// Speed is a benchmark's business; here only the typed refusal is checked (a quadratic or
// exponential parser would still show up as a test that never finishes).
function rejects(body: string, _ms = 200): void {
  assert.throws(() => parseXmlRpcCall(body), XmlRpcParseError);
}

describe('parseXmlRpcCall', () => {
  it('reads the method name and an untyped string (how xapi clients send ints)', () => {
    const r = parseXmlRpcCall(call(p('<value>OpaqueRef:abc</value>') + p('<value>123</value>')));
    assert.deepEqual(r, { method: 'VM.get_record', params: ['OpaqueRef:abc', '123'] });
  });

  it('reads every scalar type', () => {
    const r = parseXmlRpcCall(call([
      '<value><string>s</string></value>', '<value><int>-7</int></value>', '<value><i4>42</i4></value>',
      '<value><i8>9007199254740992</i8></value>', '<value><boolean>1</boolean></value>',
      '<value><boolean>0</boolean></value>', '<value><double>-1.5e3</double></value>',
      '<value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value>',
      '<value><dateTime.iso8601>2025-03-19T05:16:24+01:00</dateTime.iso8601></value>',
      '<value><base64>aMOpbGxv</base64></value>', '<value><nil/></value>', '<value></value>', '<value/>',
      '<value><string/></value>',
    ].map(p).join('')));
    assert.deepEqual(r.params, [
      's', -7, 42, 2 ** 53, true, false, -1500, '20250319T04:16:24Z', '20250319T04:16:24Z', 'héllo', null, '', '', '',
    ]);
  });

  it('reads arrays and structs, empty and nested, with whitespace and comments between elements', () => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a client comment -->
<methodCall>
  <methodName>pool.set_other_config</methodName>
  <params>
    <param>
      <value><array><data>
        <value>a</value>
        <value><array><data/></array></value>
        <value><array></array></value>
        <value><struct/></value>
      </data></array></value>
    </param>
    <param><value>
      <struct>
        <member><name>k&amp;1</name><value><struct><member><name>in</name><value><int>1</int></value></member></struct></value></member>
        <member>
          <name>x</name>
          <value>  spaced  </value>
        </member>
      </struct>
    </value></param>
  </params>
</methodCall>
`;
    const r = parseXmlRpcCall(body);
    assert.equal(r.method, 'pool.set_other_config');
    assert.deepEqual(r.params, [['a', [], [], {}], { 'k&1': { in: 1 }, x: '  spaced  ' }]);
  });

  it('decodes the predefined entities, character references, CDATA and line ends', () => {
    const r = parseXmlRpcCall(call(p('<value>&lt;&gt;&amp;&quot;&apos;&#233;&#x1F600;a\r\nb\rc<![CDATA[<raw&>]]><!--x-->d</value>')));
    assert.deepEqual(r.params, ['<>&"\'é😀a\nb\nc<raw&>d']);
  });

  it('keeps unicode and a __proto__ member as plain data', () => {
    const r = parseXmlRpcCall(call(p('<value><struct><member><name>__proto__</name><value>日本語</value></member></struct></value>')));
    const o = r.params[0] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.ok(Object.hasOwn(o, '__proto__'));
    assert.equal(o['__proto__'], '日本語');
  });

  it('forgives whitespace before the XML declaration', () => {
    assert.equal(parseXmlRpcCall(`\n  ${call('')}\n`).method, 'VM.get_record');
  });

  it('accepts a call without params and namespaced type tags', () => {
    assert.deepEqual(parseXmlRpcCall('<methodCall><methodName>system.listMethods</methodName></methodCall>'),
      { method: 'system.listMethods', params: [] });
    assert.deepEqual(parseXmlRpcCall(call(p('<value><ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/></value>'))).params, [null]);
  });

  it('keeps int64 values exact up to 2^53 and refuses values beyond int64', () => {
    assert.deepEqual(parseXmlRpcCall(call(p('<value><i8>-9007199254740991</i8></value>'))).params, [-(2 ** 53) + 1]);
    rejects(call(p('<value><i8>99999999999999999999</i8></value>')));
  });

  const malformed: Record<string, string> = {
    'empty body': '',
    garbage: 'hello world',
    'JSON instead of XML': '{"method":"x","params":[],"id":1}',
    'unclosed methodCall': '<methodCall><methodName>x</methodName><params></params>',
    'unclosed value': call(p('<value>abc')),
    'mismatched close tag': call(p('<value><string>a</int></value>')),
    'wrong root': '<methodResponse><params/></methodResponse>',
    'unknown type': call(p('<value><float>1</float></value>')),
    'bad int': call(p('<value><int>12a</int></value>')),
    'bad boolean': call(p('<value><boolean>yes</boolean></value>')),
    'bad double': call(p('<value><double>1..2</double></value>')),
    'bad base64': call(p('<value><base64>@@@@</base64></value>')),
    'text before a typed value': call(p('<value>x<int>1</int></value>')),
    'struct member without name': call(p('<value><struct><member><value>1</value></member></struct></value>')),
    'unknown entity': call(p('<value>&nbsp;</value>')),
    'unterminated entity': call(p('<value>&amp</value>')),
    'invalid character reference': call(p('<value>&#0;</value>')),
    'DOCTYPE': '<?xml version="1.0"?><!DOCTYPE methodCall [<!ENTITY a "b">]><methodCall><methodName>x</methodName></methodCall>',
    'billion laughs': `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>${call(p('<value>&lol2;</value>'))}`,
    'external entity': call(p('<value>&xxe;</value>')).replace('<methodCall>', '<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall>'),
    'processing instruction': call(p('<?evil?><value>1</value>')),
    'trailing content': `${call('')}<extra/>`,
    'two roots': `${call('')}${call('')}`,
    'unterminated comment': call(p('<value><!-- x</value>')),
    'unterminated CDATA': call(p('<value><![CDATA[x</value>')),
    'unquoted attribute': '<methodCall a=b><methodName>x</methodName></methodCall>',
    'truncated in a tag': '<methodCall><methodName',
  };
  for (const [name, body] of Object.entries(malformed)) {
    it(`rejects ${name}`, () => rejects(body));
  }

  it(`rejects values nested 10000 deep quickly, at depth ${MAX_XML_DEPTH}`, () => {
    const n = 10_000;
    const deep = '<value><array><data>'.repeat(n) + '<value>x</value>' + '</data></array></value>'.repeat(n);
    rejects(call(p(deep)), 100);
    const deepStruct = '<value><struct><member><name>a</name>'.repeat(n) + '<value/>' + '</member></struct></value>'.repeat(n);
    rejects(call(p(deepStruct)), 100);
    // Unbalanced opening tags alone must not exhaust the stack either.
    rejects(call(p('<value><array><data>'.repeat(n))), 100);
    const ok = '<value><array><data>'.repeat(MAX_XML_DEPTH - 1) + '<value>x</value>' + '</data></array></value>'.repeat(MAX_XML_DEPTH - 1);
    assert.equal(parseXmlRpcCall(call(p(ok))).params.length, 1);
  });

  it('parses a huge string and many values', () => {
    const plain = 'x'.repeat(20_000_000);
    assert.equal((parseXmlRpcCall(call(p(`<value>${plain}</value>`))).params[0] as string).length, 20_000_000);
    const escaped = 'a&amp;b'.repeat(500_000); // 3.5 MB in, 1.5 MB out
    assert.equal((parseXmlRpcCall(call(p(`<value>${escaped}</value>`))).params[0] as string).length, 1_500_000);
    const many = `<value><array><data>${'<value>x</value>'.repeat(200_000)}</data></array></value>`;
    assert.equal((parseXmlRpcCall(call(p(many))).params[0] as unknown[]).length, 200_000);
    // A huge unterminated string, a huge run of digits and a huge tag name fail fast.
    rejects(call(p(`<value>${'x'.repeat(10_000_000)}`)), 500);
    rejects(call(p(`<value><double>${'1'.repeat(1_000_000)}x</double></value>`)), 500);
    rejects(`<${'m'.repeat(5_000_000)}`, 500);
  });
});

describe('XML-RPC responses', () => {
  it('writes a success byte for byte as ocaml-rpc does', () => {
    const value: WireValue = {
      t: 'struct', v: {
        uuid: { t: 'string', v: 'd3a9' },
        memory: { t: 'int', v: 4294967296 },
        progress: { t: 'double', v: 0.25 },
        enabled: { t: 'bool', v: true },
        created: { t: 'datetime', v: '20250319T04:16:24Z' },
        tags: { t: 'array', v: [{ t: 'string', v: 'a' }] },
        n: { t: 'i4', v: 3 },
      },
    };
    assert.equal(xmlRpcSuccess(value),
      '<?xml version="1.0"?><methodResponse><params><param><value><struct>'
      + '<member><name>Status</name><value>Success</value></member>'
      + '<member><name>Value</name><value><struct>'
      + '<member><name>uuid</name><value>d3a9</value></member>'
      + '<member><name>memory</name><value>4294967296</value></member>'
      + '<member><name>progress</name><value><double>0.25</double></value></member>'
      + '<member><name>enabled</name><value><boolean>1</boolean></value></member>'
      + '<member><name>created</name><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></member>'
      + '<member><name>tags</name><value><array><data><value>a</value></data></array></value></member>'
      + '<member><name>n</name><value><i4>3</i4></value></member>'
      + '</struct></value></member></struct></value></param></params></methodResponse>');
  });

  it('writes a failure byte for byte as ocaml-rpc does', () => {
    assert.equal(xmlRpcFailure(['HANDLE_INVALID', 'VM', 'OpaqueRef:<x>']),
      '<?xml version="1.0"?><methodResponse><params><param><value><struct>'
      + '<member><name>Status</name><value>Failure</value></member>'
      + '<member><name>ErrorDescription</name><value><array><data>'
      + '<value>HANDLE_INVALID</value><value>VM</value><value>OpaqueRef:&lt;x&gt;</value>'
      + '</data></array></value></member></struct></value></param></params></methodResponse>');
  });

  it('writes void as an empty string and a bare response for system.listMethods', () => {
    assert.ok(xmlRpcSuccess({ t: 'string', v: '' }).includes('<member><name>Value</name><value></value></member>'));
    assert.equal(xmlRpcBare({ t: 'array', v: [{ t: 'string', v: 'VM.start' }] }),
      '<?xml version="1.0"?><methodResponse><params><param><value><array><data><value>VM.start</value></data></array></value></param></params></methodResponse>');
  });

  it('writes a standard fault', () => {
    const f = xmlRpcFault(-32700, 'parse error: <bad> & worse');
    assert.equal(f, '<?xml version="1.0"?><methodResponse><fault><value><struct>'
      + '<member><name>faultCode</name><value><int>-32700</int></value></member>'
      + '<member><name>faultString</name><value>parse error: &lt;bad&gt; &amp; worse</value></member>'
      + '</struct></value></fault></methodResponse>');
    assert.deepEqual(parseXmlRpcResponse(f), { kind: 'fault', code: -32700, message: 'parse error: <bad> & worse' });
  });

  it('escapes &<>" and CR, drops characters XML cannot carry, keeps unicode', () => {
    assert.equal(escapeXml('plain'), 'plain');
    assert.equal(escapeXml('a<b>&"c\'\r\n\t\x01\x1f é😀'), 'a&lt;b&gt;&amp;&quot;c\'&#13;\n\t é😀');
  });

  it('formats doubles as printf %.16g', () => {
    const cases: [number, string][] = [
      [0, '0'], [-0, '-0'], [1, '1'], [0.25, '0.25'], [0.1, '0.1'], [1 / 3, '0.3333333333333333'],
      [0.1 + 0.2, '0.3'], [1326210000, '1326210000'], [1e15, '1000000000000000'], [1e16, '1e+16'],
      [1.5e300, '1.5e+300'], [0.0001, '0.0001'], [0.00001, '1e-05'], [-2.5e-7, '-2.5e-07'],
      [123456.789, '123456.789'], [2 ** 53, '9007199254740992'], [9.999999999999999e22, '9.999999999999999e+22'],
      [NaN, 'nan'], [Infinity, 'inf'], [-Infinity, '-inf'], [5e-324, '4.940656458412465e-324'],
    ];
    for (const [x, s] of cases) assert.equal(formatDouble(x), s, `formatDouble(${x})`);
  });

  it('round-trips values through toXmlValue and parseXmlRpcValue', () => {
    const w: WireValue = {
      t: 'struct', v: {
        s: { t: 'string', v: 'a<&>"b\r\n日本 😀' }, i: { t: 'int', v: 2 ** 53 }, neg: { t: 'int', v: -(2 ** 53) },
        d: { t: 'double', v: 1.25 }, b: { t: 'bool', v: false }, dt: { t: 'datetime', v: '19700101T00:00:00Z' },
        a: { t: 'array', v: [] }, st: { t: 'struct', v: {} }, nil: { t: 'nil' }, i4: { t: 'i4', v: -5 },
      },
    };
    assert.deepEqual(parseXmlRpcValue(toXmlValue(w)), {
      s: 'a<&>"b\r\n日本 😀', i: String(2 ** 53), neg: String(-(2 ** 53)), d: 1.25, b: false, dt: '19700101T00:00:00Z',
      a: [], st: {}, nil: null, i4: -5,
    });
    assert.deepEqual(parseXmlRpcResponse(xmlRpcSuccess(w)).kind, 'success');
    assert.deepEqual(parseXmlRpcResponse(xmlRpcFailure(['SESSION_INVALID', 'OpaqueRef:x'])),
      { kind: 'failure', errorDescription: ['SESSION_INVALID', 'OpaqueRef:x'] });
  });
});
