/**
 * @module
 * Fuzz targets for the XenAPI wire decoders: an XML-RPC or JSON-RPC body is parsed as the
 * HTTP layer parses it, and when it names a declared message its arguments are decoded
 * against that message's parameter types, as the dispatcher does before any action runs.
 * Bad input may only end in the decoder's parse error or a typed `ApiError` other than
 * `INTERNAL_ERROR`. Generated calls (values of every XML-RPC type, nested) join the seeds.
 */
import fc from 'fast-check';
import { ApiError } from '../../src/core/api-error.js';
import { classes } from '../../src/datamodel/index.js';
import { allMessages } from '../../src/datamodel/implicit.js';
import type { FieldDecl, MessageDecl } from '../../src/datamodel/dsl.js';
import { JsonRpcParseError, parseJsonRpcCall } from '../../src/api/wire/jsonrpc.js';
import { decodeArg } from '../../src/api/wire/typed-value.js';
import { XmlRpcParseError, parseXmlRpcCall, parseXmlRpcResponse } from '../../src/api/wire/xmlrpc.js';
import { xmlRpcCallBody } from '../rpc-client.js';
import { unexpected, type FuzzTarget } from './fuzz-target.js';

const messages = new Map<string, MessageDecl>();
for (const c of classes) for (const m of allMessages(c)) messages.set(`${c.name}.${m.name}`, m);
const byName = new Map(classes.map((c) => [c.name, c]));
const fieldsOf = (name: string): readonly FieldDecl[] | undefined => byName.get(name)?.fields;

/** Decodes the arguments of a parsed call as the dispatcher would (session first, unchecked). */
function decodeParams(method: string, params: readonly unknown[]): void {
  const m = messages.get(method.replace(/^Async\./, ''));
  if (!m) return;
  const rest = m.sessionless ? params : params.slice(1);
  m.params.forEach((p, i) => {
    if (i < rest.length) decodeArg(rest[i], p.ty, p.name, fieldsOf);
  });
}

function declared(e: unknown): boolean {
  return e instanceof XmlRpcParseError || e instanceof JsonRpcParseError || (e instanceof ApiError && e.code !== 'INTERNAL_ERROR');
}

const METHODS = ['VM.create', 'VM.set_memory_limits', 'VDI.create', 'SR.create', 'event.from', 'session.login_with_password',
  'VM.get_all_records_where', 'pool.islet_join_request', 'VM.add_to_other_config', 'task.cancel', 'Async.VM.clone', 'host.call_plugin'];

const leaf = fc.oneof(
  fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant('OpaqueRef:NULL'), fc.uuid(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('', '\u0000', '\u202e', '<', ']]>', '&amp;', '-1', '1e400', 'NaN'),
);
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('name_label', 'memory_static_max', 'VCPUs_max', 'other_config', 'SR', 'virtual_size', 'type')), tie('v'), { maxKeys: 5 })),
})).v;
const call = fc.tuple(fc.oneof(fc.constantFrom(...METHODS), fc.string()), fc.array(value, { maxLength: 5 }));

const xmlRpcGenerated = call.map(([m, p]) => {
  try { return Buffer.from(xmlRpcCallBody(m, p)); } catch { return Buffer.from(xmlRpcCallBody(m, [])); }
});

const jsonRpcGenerated = fc.tuple(call, fc.oneof(fc.constant(undefined), fc.constant('2.0')), fc.oneof(fc.integer(), fc.string()))
  .map(([[m, p], v, id]) => Buffer.from(JSON.stringify({ ...(v ? { jsonrpc: v } : {}), method: m, params: p, id })));

const XML_SEEDS = [
  xmlRpcCallBody('VM.create', ['OpaqueRef:s', { name_label: 'x', memory_static_max: '268435456', VCPUs_max: '1', other_config: { a: 'b' } }]),
  xmlRpcCallBody('event.from', ['OpaqueRef:s', ['VM', 'host'], '', 5.5]),
  xmlRpcCallBody('session.login_with_password', ['root', 'pw', '1.1', 'fuzz']),
  '<?xml version="1.0"?><methodCall><methodName>VDI.create</methodName><params><param><value><string>s</string></value></param>'
    + '<param><value><struct><member><name>virtual_size</name><value><i8>1024</i8></value></member><member><name>sharable</name>'
    + '<value><boolean>0</boolean></value></member><member><name>d</name><value><dateTime.iso8601>20260101T00:00:00Z</dateTime.iso8601></value></member>'
    + '<member><name>b</name><value><base64>aGVsbG8=</base64></value></member><member><name>n</name><value><nil/></value></member>'
    + '</struct></value></param></params></methodCall>',
  '<?xml version="1.0" encoding="UTF-8"?><!-- c --><methodCall><methodName>VM.get_all</methodName><params><param><value>&lt;&#x41;&#65;</value></param></params></methodCall>',
];

export const xmlRpcTarget: FuzzTarget<null> = {
  name: 'xmlrpc',
  about: 'XML-RPC calls and responses: parseXmlRpcCall + argument decoding, parseXmlRpcResponse',
  setup: async () => null,
  seeds: async () => XML_SEEDS.map((s) => Buffer.from(s)),
  generate: xmlRpcGenerated,
  check(input) {
    const text = input.toString('utf8');
    try {
      const c = parseXmlRpcCall(text);
      decodeParams(c.method, c.params);
    } catch (e) {
      if (!declared(e)) throw unexpected('parseXmlRpcCall', e);
    }
    try {
      parseXmlRpcResponse(text.replace('methodCall', 'methodResponse'));
    } catch (e) {
      if (!declared(e)) throw unexpected('parseXmlRpcResponse', e);
    }
  },
};

const JSON_SEEDS = [
  JSON.stringify({ jsonrpc: '2.0', method: 'VM.create', params: ['OpaqueRef:s', { name_label: 'x', memory_static_max: 268435456, VCPUs_max: 1 }], id: 1 }),
  JSON.stringify({ method: 'event.from', params: ['OpaqueRef:s', ['*'], '', 30.0], id: 'a' }),
  JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['root', 'pw'], id: 3 }),
  JSON.stringify({ jsonrpc: '2.0', method: 'VDI.create', params: { virtual_size: '1024', sharable: true, tags: ['a'] }, id: 4 }),
];

export const jsonRpcTarget: FuzzTarget<null> = {
  name: 'jsonrpc',
  about: 'JSON-RPC v1/v2 calls: parseJsonRpcCall + argument decoding',
  setup: async () => null,
  seeds: async () => JSON_SEEDS.map((s) => Buffer.from(s)),
  generate: jsonRpcGenerated,
  check(input) {
    try {
      const c = parseJsonRpcCall(input.toString('utf8'));
      decodeParams(c.method, c.params);
    } catch (e) {
      if (!declared(e)) throw unexpected('parseJsonRpcCall', e);
    }
  },
};

