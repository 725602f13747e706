/**
 * Record values from clients (issue 10, item 6), against a real server: VM memory limits
 * out of order and insane VCPU counts are refused on create and set, names and
 * descriptions with NUL, escape or bidirectional-override characters or of absurd length
 * are refused with INVALID_VALUE over JSON-RPC and XML-RPC alike, a 100,000-deep JSON
 * request gets a typed error, and xe never prints control characters raw. A `create`
 * record lacking a field XenAPI gives no default (VM.create with only a name) is refused
 * with FIELD_TYPE_ERROR naming the field, for every class, as xapi does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Printer } from '../../src/cli/printer.js';
import { completeRecord } from '../../src/client/create-record.js';
import { classes } from '../../src/datamodel/index.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, jsonRpc, login } from '../helpers/rpc.js';

const MiB = 1024 * 1024;
const good = completeRecord('VM', { name_label: 'ok', memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB, memory_dynamic_min: 128 * MiB, memory_static_min: 64 * MiB, VCPUs_max: 2, VCPUs_at_startup: 1 });

async function xmlRpc(url: string, method: string, params: string[]): Promise<string> {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value><string>${esc(p)}</string></value></param>`).join('')}</params></methodCall>`;
  return (await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body })).text();
}

describe('record validation', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let root: string;
  before(async () => {
    srv = await startIslet();
    root = await login(srv.url, srv.rootPassword);
  });
  after(async () => srv?.stop());

  it('refuses a create record that lacks a field without a default, naming it, for every class', async () => {
    const before = (await call(srv.url, 'VM.get_all', root)).length;
    const only = await jsonRpc(srv.url, 'VM.create', [root, { name_label: 'only a name' }]);
    assert.equal(only.error?.message, 'FIELD_TYPE_ERROR', JSON.stringify(only));
    const required = classes.filter((c) => c.create).flatMap((c) => c.fields.filter((f) => f.required).map((f) => [c.name, f.name] as const));
    assert.ok(required.length >= 50, `${required.length} required fields`);
    assert.ok(required.some(([c, f]) => c === 'VM' && f === 'memory_static_max'));
    for (const [cls, field] of required) {
      const rec = completeRecord(cls, { name_label: 'x' });
      delete rec[field];
      const r = await jsonRpc(srv.url, `${cls}.create`, [root, rec]);
      assert.deepEqual([r.error?.message, r.error?.data], ['FIELD_TYPE_ERROR', [field]], `${cls}.create without ${field}: ${JSON.stringify(r).slice(0, 300)}`);
    }
    // XML-RPC says the same.
    const body = `<?xml version="1.0"?><methodCall><methodName>VM.create</methodName><params><param><value><string>${root}</string></value></param>`
      + '<param><value><struct><member><name>name_label</name><value><string>only a name</string></value></member></struct></value></param></params></methodCall>';
    const text = await (await fetch(`${srv.url}/`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body })).text();
    assert.match(text, /FIELD_TYPE_ERROR/, text.slice(0, 400));
    assert.equal((await call(srv.url, 'VM.get_all', root)).length, before, 'nothing was created');
    // A whole record is taken, and fields with defaults may still be left out.
    const vm = await call(srv.url, 'VM.create', root, good);
    assert.equal(await call(srv.url, 'VM.get_name_description', root, vm), '');
  });

  it('refuses VMs whose memory limits are out of order or whose VCPU counts are not sane', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ memory_static_max: 128 * MiB }, 'MEMORY_CONSTRAINT_VIOLATION'],
      [{ memory_static_min: 512 * MiB }, 'MEMORY_CONSTRAINT_VIOLATION'],
      [{ memory_dynamic_min: -1 }, 'MEMORY_CONSTRAINT_VIOLATION'],
      [{ VCPUs_max: 0, VCPUs_at_startup: 0 }, 'INVALID_VALUE'],
      [{ VCPUs_at_startup: 4 }, 'INVALID_VALUE'],
    ];
    const before = (await call(srv.url, 'VM.get_all', root)).length;
    for (const [change, code] of cases) {
      const r = await jsonRpc(srv.url, 'VM.create', [root, { ...good, ...change }]);
      assert.equal(r.error?.message, code, `${JSON.stringify(change)}: ${JSON.stringify(r)}`);
    }
    assert.equal((await call(srv.url, 'VM.get_all', root)).length, before, 'nothing was created');
    const vm = await call(srv.url, 'VM.create', root, good);
    assert.equal((await jsonRpc(srv.url, 'VM.set_memory_static_max', [root, vm, 128 * MiB])).error?.message, 'MEMORY_CONSTRAINT_VIOLATION');
    assert.equal((await jsonRpc(srv.url, 'VM.set_VCPUs_max', [root, vm, 0])).error?.message, 'INVALID_VALUE');
  });

  it('refuses names with control characters or of absurd length, over both protocols', async () => {
    const vm = await call(srv.url, 'VM.create', root, good);
    for (const bad of ['nul\u0000here', 'esc\u001b[2J', 'rtl\u202eexe.txt', 'x'.repeat(100_000), 'line\nbreak']) {
      const r = await jsonRpc(srv.url, 'VM.set_name_label', [root, vm, bad]);
      assert.equal(r.error?.message, 'INVALID_VALUE', `${JSON.stringify(bad.slice(0, 20))}: ${JSON.stringify(r).slice(0, 200)}`);
      const c = await jsonRpc(srv.url, 'VM.create', [root, { ...good, name_label: bad }]);
      assert.equal(c.error?.message, 'INVALID_VALUE');
    }
    for (const bad of ['rtl\u202eexe.txt', 'y'.repeat(100_000)]) {
      const text = await xmlRpc(srv.url, 'VM.set_name_label', [root, vm, bad]);
      assert.match(text, /INVALID_VALUE/, text.slice(0, 300));
    }
    assert.equal(await call(srv.url, 'VM.get_name_label', root, vm), 'ok');
    // Descriptions may span lines, and that is all.
    await call(srv.url, 'VM.set_name_description', root, vm, 'two\nlines\tand a tab');
    assert.equal((await jsonRpc(srv.url, 'VM.set_name_description', [root, vm, 'bell\u0007'])).error?.message, 'INVALID_VALUE');
    const sr = (await call(srv.url, 'SR.get_all', root))[0];
    assert.equal((await jsonRpc(srv.url, 'SR.set_name_label', [root, sr, 'esc\u001b]0;pwned\u0007'])).error?.message, 'INVALID_VALUE');
  });

  it('answers a 100,000-deep JSON request with a typed error', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const body = `{"jsonrpc":"2.0","method":"VM.get_all","params":[${JSON.stringify(root)},${deep}],"id":1}`;
    const res = await fetch(`${srv.url}/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const j = await res.json() as { error?: { message?: string } };
    assert.ok(j.error?.message && j.error.message !== 'INTERNAL_ERROR', JSON.stringify(j).slice(0, 300));
  });

  it('has xe print control characters escaped, never raw', () => {
    const out: string[] = [];
    const p = new Printer(false, { out: (s) => out.push(s), err: (s) => out.push(s) });
    p.table([[['name-label ( RW)', 'evil\u001b[2J\u001b]0;title\u0007\u202e'] as const]]);
    p.list(['a\u001bb']);
    p.stderr('msg\u001b[31m\nsecond line');
    const m = new Printer(true, { out: (s) => out.push(s), err: (s) => out.push(s) });
    m.table([[['uuid', 'x\u0000y'] as const]]);
    m.flush();
    const all = out.join('');
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/.test(all), JSON.stringify(all));
    assert.match(all, /evil\\x1b\[2J/);
    assert.match(all, /\nsecond line/);
  });
});
