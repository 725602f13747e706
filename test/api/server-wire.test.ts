/**
 * A real `islet server` on loopback, driven over both protocols: shapes of answers and
 * errors, implicit messages, tasks, and bad input that must not stop the server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, jsonRpc, login, postRaw } from '../helpers/rpc.js';

const run = promisify(execFile);

describe('islet server over XenAPI', () => {
  let srv: IsletProcess;
  let s: string;
  before(async () => {
    srv = await startIslet();
    s = await login(srv.url, srv.rootPassword);
  });
  after(async () => srv?.stop());

  it('logs in over JSON-RPC v2 and v1 and reads the pool and its master', async () => {
    assert.match(s, /^OpaqueRef:[0-9a-f-]{36}$/);
    const pools = await call(srv.url, 'pool.get_all_records', s);
    const [poolRef, pool] = Object.entries(pools)[0] as [string, any];
    assert.match(poolRef, /^OpaqueRef:/);
    const host = await call(srv.url, 'host.get_record', s, pool.master);
    assert.equal(host.API_version_major, 1);
    assert.equal(host.software_version.product_brand, 'XenServer');
    assert.ok(Number(host.other_config.agent_start_time) > 0);
    const v1 = await jsonRpc(srv.url, 'pool.get_all', [s], 1);
    assert.deepEqual(Object.keys(v1).sort(), ['error', 'id', 'result']);
    assert.equal(v1.error, null);
    assert.deepEqual(v1.result, [poolRef]);
  });

  it('answers JSON-RPC with content-type exactly application/json', async () => {
    const r = await postRaw(srv.url, '/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method: 'pool.get_all', params: [s], id: 1 }), 'application/json');
    assert.equal(r.type, 'application/json');
  });

  it('serves XML-RPC to Python xmlrpc.client, ints as strings', async () => {
    const py = `
import xmlrpc.client, sys
p = xmlrpc.client.ServerProxy(sys.argv[1])
r = p.session.login_with_password('root', sys.argv[2], '1.1', 'py')
assert r['Status'] == 'Success', r
s = r['Value']
hosts = p.host.get_all_records(s)['Value']
(ref, h), = hosts.items()
print(type(h['API_version_major']).__name__, h['API_version_major'], h['enabled'], type(h['enabled']).__name__)
bad = p.host.get_record(s, 'OpaqueRef:nope')
print(bad['Status'], bad['ErrorDescription'][0])
`;
    const { stdout } = await run('python3', ['-c', py, srv.url, srv.rootPassword]);
    const [l1, l2] = stdout.trim().split('\n');
    assert.equal(l1, 'str 1 True bool');
    assert.equal(l2, 'Failure HANDLE_INVALID');
  });

  it('names errors as xapi does', async () => {
    const bad = async (method: string, ...params: unknown[]) => {
      const r = await jsonRpc(srv.url, method, params);
      assert.ok(r.error, `${method} should fail`);
      return [r.error.message, ...r.error.data];
    };
    assert.deepEqual(await bad('VM.no_such_thing', s), ['MESSAGE_METHOD_UNKNOWN', 'VM.no_such_thing']);
    assert.deepEqual(await bad('host.get_record', s), ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'host.get_record', '2', '1']);
    assert.deepEqual(await bad('host.get_record', s, 'OpaqueRef:x'), ['HANDLE_INVALID', 'host', 'OpaqueRef:x']);
    assert.deepEqual(await bad('host.get_by_uuid', s, 'nope'), ['UUID_INVALID', 'host', 'nope']);
    assert.deepEqual(await bad('pool.get_all', 'OpaqueRef:dead'), ['SESSION_INVALID', 'OpaqueRef:dead']);
    const [code] = await bad('session.login_with_password', 'root', 'wrong', '1.1', 'x');
    assert.equal(code, 'SESSION_AUTHENTICATION_FAILED');
    const [host] = await call(srv.url, 'host.get_all', s);
    const [fte] = await bad('host.set_name_label', s, host, { not: 'a string' });
    assert.equal(fte, 'FIELD_TYPE_ERROR');
  });

  it('implements the generic messages from the datamodel', async () => {
    const [host] = await call(srv.url, 'host.get_all', s);
    await call(srv.url, 'host.set_name_label', s, host, 'renamed');
    assert.equal(await call(srv.url, 'host.get_name_label', s, host), 'renamed');
    assert.deepEqual(await call(srv.url, 'host.get_by_name_label', s, 'renamed'), [host]);
    await call(srv.url, 'host.add_to_other_config', s, host, 'k', 'v');
    const dup = await jsonRpc(srv.url, 'host.add_to_other_config', [s, host, 'k', 'w']);
    assert.equal(dup.error.message, 'MAP_DUPLICATE_KEY');
    const where = await call(srv.url, 'host.get_all_records_where', s, 'field "name__label" = "renamed"');
    assert.deepEqual(Object.keys(where), [host]);
    await call(srv.url, 'host.remove_from_other_config', s, host, 'k');
    assert.equal((await call(srv.url, 'host.get_other_config', s, host)).k, undefined);
    const methods: string[] = await call(srv.url, 'system.listMethods');
    assert.ok(methods.includes('host.get_record'));
    assert.ok(methods.includes('Async.VM.create'));
    assert.ok(!methods.includes('Async.host.get_record'));
  });

  it('keeps tasks with status and lets clients cancel and destroy them', async () => {
    const task = await call(srv.url, 'task.create', s, 'upload', 'a test task');
    const rec = await call(srv.url, 'task.get_record', s, task);
    assert.equal(rec.status, 'pending');
    assert.equal(rec.name_label, 'upload');
    await call(srv.url, 'task.cancel', s, task);
    assert.equal(await call(srv.url, 'task.get_status', s, task), 'cancelled');
    await call(srv.url, 'task.destroy', s, task);
    assert.deepEqual(await call(srv.url, 'task.get_all', s), []);
  });

  it('keeps serving after malformed and oversized bodies', async () => {
    const xml = await postRaw(srv.url, '/', '<methodCall><methodName>x</methodName><params><param>', 'text/xml');
    assert.match(xml.text, /XMLRPC_UNMARSHAL_FAILURE/);
    const json = await postRaw(srv.url, '/jsonrpc', '{"method": "pool.get_all", "params": [', 'application/json');
    assert.match(json.text, /JSONRPC_UNMARSHAL_FAILURE/);
    const noId = await postRaw(srv.url, '/jsonrpc', JSON.stringify({ method: 'pool.get_all', params: [s] }), 'application/json');
    assert.match(noId.text, /JSONRPC_UNMARSHAL_FAILURE/);
    const big = await postRaw(srv.url, '/jsonrpc', Buffer.alloc(20 * 1024 * 1024, 0x20), 'application/json')
      .catch((e) => ({ status: 413, text: String(e), type: '' }));
    assert.equal(big.status, 413);
    const bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>&a;</methodName></methodCall>';
    assert.match((await postRaw(srv.url, '/RPC2', bomb, 'text/xml')).text, /XMLRPC_UNMARSHAL_FAILURE/);
    assert.equal((await call(srv.url, 'pool.get_all', s)).length, 1);
  });
});

describe('durability', () => {
  it('keeps a set_name_label acknowledged just before kill -9', async () => {
    const first = await startIslet();
    let second: IsletProcess | undefined;
    try {
      const s = await login(first.url, first.rootPassword);
      const [host] = await call(first.url, 'host.get_all', s);
      await call(first.url, 'host.set_name_label', s, host, 'survives-kill-9');
      await first.kill9();
      second = await first.restart();
      const s2 = await login(second.url, second.rootPassword);
      assert.equal(await call(second.url, 'host.get_name_label', s2, host), 'survives-kill-9');
      // Sessions die with the process, as in xapi.
      const old = await jsonRpc(second.url, 'pool.get_all', [s]);
      assert.equal(old.error.message, 'SESSION_INVALID');
    } finally {
      await second?.stop();
      await first.stop();
    }
  });
});
