/**
 * The compiled `bin/xe` against a real Islet server: the golden outputs of `host-list`,
 * `vm-list` (default and params=all), `pool-param-get`, `host-param-set`/`-get`, errors,
 * --minimal, TLS and plain HTTP, and a run through a symlink. Expected values are read
 * independently through the XenAPI client. Needs `npm run build` (bin/xe runs dist/).
 */
import assert from 'node:assert/strict';
import { rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { type IsletProcess } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { runXe, startXeServer, type XeServer, xeOn } from '../helpers/xe.js';
import { completeRecord } from '../../src/client/create-record.js';

const PW = 'xe-e2e-pw';
let home: string;

describe('bin/xe end to end', () => {
  let islet: IsletProcess;
  let api: XapiClient;
  const bin = join(repoRoot(), 'bin', 'xe');
  const xe = xeOn(() => ({ port: islet.port, password: PW, home }));
  const run = (b: string, args: string[]) => runXe(args, { home, bin: b });

  let server: XeServer;

  before(async () => {
    server = await startXeServer({ password: PW });
    ({ islet, api, home } = server);
  });
  after(async () => {
    await server?.stop();
  });

  async function onlyRecord(cls: string): Promise<Record<string, unknown>> {
    const all = (await api.call(`${cls}.get_all_records`)) as Record<string, Record<string, unknown>>;
    const recs = Object.values(all);
    assert.equal(recs.length, 1);
    return recs[0]!;
  }

  it('xe host-list prints the host record as XenServer lays it out', async () => {
    const h = await onlyRecord('host');
    const r = await xe('host-list');
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    // Key column: "name-description ( RW)" (22) + 4; the first key left-aligned, the others right-aligned.
    assert.equal(r.out,
      `uuid ( RO)                : ${h.uuid}\n`
      + `          name-label ( RW): ${h.name_label}\n`
      + `    name-description ( RW): ${h.name_description}\n`
      + '\n\n');
  });

  it('xe vm-list shows VMs but not templates, default fields in record order', async () => {
    const vmRef = String(await api.call('VM.create', completeRecord('VM', { name_label: 'web one', name_description: 'first' })));
    const tplRef = String(await api.call('VM.create', completeRecord('VM', { name_label: 'tpl', is_a_template: true })));
    const tpl = (await api.call('VM.get_record', tplRef)) as Record<string, unknown>;
    const all = (await api.call('VM.get_all_records')) as Record<string, Record<string, unknown>>;
    assert.ok(all[vmRef]);
    // Every non-template VM (a control domain too, once there is one), in the server's order.
    const expected = Object.values(all).filter((v) => v.is_a_template !== true).map((v) => {
      const keys = ['uuid ( RO)', 'name-label ( RW)', 'power-state ( RO)'];
      const w = 4 + Math.max(...keys.map((k) => k.length));
      return `${keys[0]!.padEnd(w)}: ${v.uuid}\n`
        + `${keys[1]!.padStart(w)}: ${v.name_label}\n`
        + `${keys[2]!.padStart(w)}: ${String(v.power_state).toLowerCase()}\n\n\n`;
    }).join('');
    const r = await xe('vm-list');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, expected);
    assert.ok(r.out.includes('     name-label ( RW): web one\n'));
    const t = await xe('template-list', '--minimal');
    const templates = t.out.trim().split(',');
    assert.ok(templates.includes(String(tpl.uuid)), t.out);
    assert.ok(!templates.includes(String(all[vmRef]!.uuid)), t.out);
    const filtered = await xe('vm-list', 'name-label=nobody');
    assert.equal(filtered.out, '');
  });

  it('xe vm-list params=all prints every field of each VM, aligned, in one block per VM', async () => {
    const r = await xe('vm-list', 'params=all');
    assert.equal(r.code, 0, r.err);
    const blocks = r.out.split('\n\n\n').filter((b) => b !== '');
    const vms = Object.values((await api.call('VM.get_all_records')) as Record<string, Record<string, unknown>>)
      .filter((v) => v.is_a_template !== true);
    assert.equal(blocks.length, vms.length);
    assert.ok(r.out.endsWith('\n\n\n'));
    for (const block of blocks) {
      const lines = block.split('\n');
      assert.match(lines[0]!, /^uuid \( RO\) +: [0-9a-f-]{36}$/);
      const col = lines[0]!.indexOf(': ');
      for (const l of lines) {
        assert.match(l, /^ *[A-Za-z][\w-]* \((?: RO| RW|SRO|SRW|MRO|MRW)\) *: /, l);
        assert.equal(l.indexOf(': '), col, `misaligned: ${l}`);
      }
      const names = lines.map((l) => l.trim().split(' ')[0]);
      assert.ok(names.includes('name-label') && names.includes('power-state') && names.includes('is-a-template'));
      assert.ok(lines.some((l) => l.endsWith('is-a-template ( RW): false')));
    }
    const web = blocks.find((b) => b.includes('name-label ( RW): web one\n'));
    assert.ok(web, 'the VM made by the earlier test is listed');
    assert.match(web, /\n +name-description \( RW\): first\n/);
  });

  it('xe pool-param-get prints one field', async () => {
    const [pool] = (await api.call('pool.get_all')) as string[];
    await api.call('pool.set_name_label', pool, 'Pool, with a comma');
    const uuid = String(await api.call('pool.get_uuid', pool));
    const r = await xe('pool-param-get', `uuid=${uuid}`, 'param-name=name-label');
    assert.deepEqual(r, { code: 0, out: 'Pool, with a comma\n', err: '' });
    const m = await xe('pool-param-get', `uuid=${uuid}`, 'param-name=name-label', '--minimal');
    assert.equal(m.out, 'Pool\\, with a comma\n');
    const list = await xe('pool-list', '--minimal');
    assert.equal(list.out, `${uuid}\n`);
  });

  it('xe host-param-set then host-param-get round-trips, and the API sees it', async () => {
    const h = await onlyRecord('host');
    const set = await xe('host-param-set', `uuid=${h.uuid}`, 'name-label=x', 'other-config:islet-test=v1');
    assert.deepEqual(set, { code: 0, out: '', err: '' });
    const get = await xe('host-param-get', `uuid=${h.uuid}`, 'param-name=name-label');
    assert.deepEqual(get, { code: 0, out: 'x\n', err: '' });
    const key = await xe('host-param-get', `uuid=${h.uuid}`, 'param-name=other-config', 'param-key=islet-test');
    assert.equal(key.out, 'v1\n');
    const after = await onlyRecord('host');
    assert.equal(after.name_label, 'x');
    assert.equal((after.other_config as Record<string, string>)['islet-test'], 'v1');
    const ro = await xe('host-param-set', `uuid=${h.uuid}`, 'enabled=false');
    assert.equal(ro.code, 1);
    assert.equal(ro.err, "Error: Field 'enabled' is read-only.\n");
  });

  it('prints XenAPI errors with their parameters and exits 1', async () => {
    const r = await xe('vm-param-get', 'uuid=not-a-uuid', 'param-name=name-label');
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.equal(r.err, 'The uuid you supplied was invalid.\ntype: VM\nuuid: not-a-uuid\n');
    const list = await xe('vm-param-list', 'uuid=deadbeef');
    assert.deepEqual(list, { code: 1, out: '', err: 'The uuid you supplied was invalid.\ntype: VM\nuuid: deadbeef\n' });
    for (const args of [['vm-list', 'bogus=1'], ['vm-start', 'bogus=1']]) {
      const u = await xe(...args);
      assert.deepEqual(u, { code: 1, out: '', err: "Unknown parameter: bogus\nFor usage run: 'xe help'\n" }, args.join(' '));
    }
    const bad = await run(bin, ['-s', '127.0.0.1', '-p', String(islet.port), '-pw', 'wrong', 'host-list']);
    assert.deepEqual(bad, { code: 1, out: '', err: "Authentication failed\nFor usage run: 'xe help'\n" });
    const unknown = await xe('no-such-command');
    assert.deepEqual(unknown, { code: 1, out: '', err: "Unknown command: no-such-command\nFor usage run: 'xe help'\n" });
    // xe's own form for a param-name that is no field of the record.
    const field = await xe('host-param-get', `uuid=${(await onlyRecord('host')).uuid}`, 'param-name=bogus');
    assert.deepEqual(field, { code: 1, out: '', err: 'Error code: Missing parameter\nError parameters: bogus\n' });
    const missing = await xe('host-param-get', 'param-name=name-label');
    assert.equal(missing.err, "Required parameter not found: uuid\nFor usage run: 'xe help'\n");
  });

  it('speaks TLS to a named host and plain HTTP with --nossl, on the same port', async () => {
    const h = await onlyRecord('host');
    for (const extra of [['-s', 'localhost'], ['-s', 'localhost', '--nossl']]) {
      const r = await run(bin, [...extra, '-p', String(islet.port), '-pw', PW, 'host-list', '--minimal']);
      assert.deepEqual(r, { code: 0, out: `${h.uuid}\n`, err: '' }, extra.join(' '));
    }
  });

  it('reads the connection from ~/.xe and works through a symlink', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(home, '.xe'), `server=127.0.0.1\nport=${islet.port}\npassword=${PW}\n`);
    const link = join(home, 'xe-link');
    await symlink(bin, link);
    try {
      const h = await onlyRecord('host');
      const r = await run(link, ['host-list', 'params=uuid', '--minimal']);
      assert.deepEqual(r, { code: 0, out: `${h.uuid}\n`, err: '' });
    } finally {
      await rm(join(home, '.xe'), { force: true });
    }
  });

  it('answers help without a server', async () => {
    const r = await run(bin, ['-s', '127.0.0.1', '-p', '1', 'help', 'vm-list']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^command name            : vm-list\n        reqd params     : \n        optional params : params, /);
    const none = await run(bin, []);
    assert.equal(none.code, 0);
    assert.match(none.err, /^Usage:/);
  });
});
