/**
 * Server-side filters (issue 10, item 7), against a real server: `get_all_records_where`
 * with xapi's expression language, names holding quotes and
 * backslashes, hostile expressions answered with INVALID_VALUE (never INTERNAL_ERROR or a
 * stack overflow), and `xe vm-list name-label=X` sending its filter to the server instead
 * of fetching every record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultConnection, parseCommandLine } from '../../src/cli/argv.js';
import { makeContext } from '../../src/cli/command-context.js';
import { findCommand } from '../../src/cli/command-table.js';
import { Printer } from '../../src/cli/printer.js';
import { XapiClient } from '../../src/client/xapi-client.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, jsonRpc, login } from '../helpers/rpc.js';
import { completeRecord } from '../../src/client/create-record.js';

class RecordingClient extends XapiClient {
  readonly calls: Array<[string, unknown[]]> = [];
  override call(method: string, ...args: unknown[]): Promise<unknown> {
    this.calls.push([method, args]);
    return super.call(method, ...args);
  }
}

const NAMES = ['plain', 'with "quotes"', 'back\\slash', 'plain'];

describe('server-side filters', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let root: string;
  before(async () => {
    srv = await startIslet();
    root = await login(srv.url, srv.rootPassword);
    for (const n of NAMES) await call(srv.url, 'VM.create', root, completeRecord('VM', { name_label: n, VCPUs_max: 1, VCPUs_at_startup: 1, memory_static_max: 1 << 28, memory_dynamic_max: 1 << 28, memory_dynamic_min: 1 << 28, memory_static_min: 1 << 27 }));
  });
  after(async () => srv?.stop());

  const q = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

  it('filters records and references with the expression language', async () => {
    for (const n of new Set(NAMES)) {
      const recs = await call(srv.url, 'VM.get_all_records_where', root, `field "name__label"=${q(n)}`);
      assert.equal(Object.keys(recs).length, NAMES.filter((x) => x === n).length, n);
      for (const r of Object.values(recs) as Array<{ name_label: string }>) assert.equal(r.name_label, n);
      const both = await call(srv.url, 'VM.get_all_records_where', root, `field "name_label"=${q(n)} and field "is_a_template"="false"`);
      assert.deepEqual(Object.keys(both).sort(), Object.keys(recs).sort());
    }
    const none = await call(srv.url, 'VM.get_all_records_where', root, 'not (true) or false');
    assert.deepEqual(none, {});
  });

  it('answers hostile expressions with INVALID_VALUE', async () => {
    for (const expr of ['('.repeat(100_000) + 'true' + ')'.repeat(100_000), 'not '.repeat(50_000) + 'true',
      Array(5000).fill('true').join(' and '), 'field "x"', '"unterminated', 'x'.repeat(70_000)]) {
      const r = await jsonRpc(srv.url, 'VM.get_all_records_where', [root, expr]);
      assert.equal(r.error?.message, 'INVALID_VALUE', `${expr.slice(0, 40)}: ${JSON.stringify(r).slice(0, 200)}`);
    }
  });

  it('has xe vm-list name-label=X filter on the server', async () => {
    const client = new RecordingClient({ url: srv.url });
    await client.login('root', srv.rootPassword);
    const lines: string[] = [];
    const { cmd, params } = parseCommandLine(['vm-list', `name-label=${NAMES[1]}`, '--minimal']);
    const ctx = makeContext({ cmd, params, client, conn: defaultConnection(), argv0: 'xe', printer: new Printer(true, { out: (l) => lines.push(l), err: () => undefined }) });
    await (await (await findCommand('vm-list'))!.load()).run(ctx);
    ctx.printer.flush();
    assert.equal(lines.join('').split(',').filter(Boolean).length, 1, lines.join('|'));
    const methods = client.calls.map(([m]) => m);
    assert.ok(!methods.includes('VM.get_all_records'), methods.join(' '));
    const where = client.calls.find(([m]) => m === 'VM.get_all_records_where');
    assert.ok(where && String(where[1][0]).includes('name_label'), JSON.stringify(client.calls));
    await client.logout();
    client.close();
  });
});
