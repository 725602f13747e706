/**
 * Object selection for operation commands, against a real Islet server: `vm=` by name or
 * uuid, field filters, templates left out, and xe's rules for none / several / --multiple.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { defaultConnection, parseCommandLine } from '../../src/cli/argv.js';
import { CliFailure, MultipleFailure } from '../../src/cli/cli-errors.js';
import { type CommandContext, makeContext } from '../../src/cli/command-context.js';
import { Printer } from '../../src/cli/printer.js';
import { forEachSelected, selectObjects } from '../../src/cli/select.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';
import { completeRecord } from '../../src/client/create-record.js';

describe('selectObjects / forEachSelected', () => {
  let islet: IsletProcess;
  let client: XapiClient;
  const uuids: Record<string, string> = {};

  before(async () => {
    islet = await startIslet({ rootPassword: 'sel-pw' });
    client = new XapiClient({ url: `http://127.0.0.1:${islet.port}` });
    await client.login('root', 'sel-pw');
    for (const [key, rec] of Object.entries({
      solo: { name_label: 'solo' },
      twin1: { name_label: 'twin', other_config: { tier: 'gold' } },
      twin2: { name_label: 'twin' },
      tpl: { name_label: 'twin', is_a_template: true },
    })) {
      const ref = await client.call('VM.create', completeRecord('VM', rec));
      uuids[key] = String(await client.call('VM.get_uuid', ref));
    }
  });
  after(async () => {
    await client.logout().catch(() => undefined);
    client.close();
    await islet.stop();
  });

  function ctx(...words: string[]): CommandContext {
    const { cmd, params } = parseCommandLine(['vm-test', ...words]);
    return makeContext({
      cmd, params, client, conn: defaultConnection(), argv0: 'xe',
      printer: new Printer(false, { out: () => undefined, err: () => undefined }),
    });
  }

  const uuidsOf = async (c: CommandContext) => (await selectObjects(c, 'vm')).rows.map((r) => String(r.rec.uuid)).sort();

  it('selects by name or uuid with vm=, never templates', async () => {
    assert.deepEqual(await uuidsOf(ctx('vm=solo')), [uuids.solo]);
    assert.deepEqual(await uuidsOf(ctx(`vm=${uuids.twin2}`)), [uuids.twin2]);
    assert.deepEqual(await uuidsOf(ctx('vm=twin')), [uuids.twin1, uuids.twin2].sort());
  });

  it('applies field filters and ignores the command\'s own parameters', async () => {
    assert.deepEqual(await uuidsOf(ctx('vm=twin', 'other-config:tier=gold')), [uuids.twin1]);
    const c = ctx('name-label=solo', 'on=somewhere', '--force');
    assert.deepEqual((await selectObjects(c, 'vm', { ignore: ['on'] })).rows.map((r) => r.rec.uuid), [uuids.solo]);
  });

  it('fails on no match and on several matches without --multiple', async () => {
    const none = ctx('vm=nobody');
    await assert.rejects(forEachSelected(none, await selectObjects(none, 'vm'), async () => 1),
      (e) => e instanceof CliFailure && e.message === 'No matching VMs found');
    // xapi's SR selection says "hosts" (its do_sr_op shares do_host_op's text); scripts match on it.
    const noSr = ctx('sr=nothing-of-that-name');
    await assert.rejects(forEachSelected(noSr, await selectObjects(noSr, 'sr'), async () => 1),
      (e) => e instanceof CliFailure && e.message === 'No matching hosts found');
    const two = ctx('vm=twin');
    await assert.rejects(forEachSelected(two, await selectObjects(two, 'vm'), async () => 1),
      (e) => e instanceof CliFailure && e.message === 'Multiple matches VMs found. --multiple required to complete the operation');
    await assert.rejects(forEachSelected(two, await selectObjects(two, 'vm'), async () => 1, false),
      (e) => e instanceof CliFailure && /one VM at a time/.test(e.message));
  });

  it('with --multiple runs on each and reports the failures together', async () => {
    const c = ctx('vm=twin', '--multiple');
    const sel = await selectObjects(c, 'vm');
    assert.deepEqual(await forEachSelected(c, sel, async (r) => r.rec.name_label), ['twin', 'twin']);
    await assert.rejects(
      forEachSelected(c, sel, (r) => client.call('VM.get_record', r.rec.uuid === uuids.twin1 ? 'OpaqueRef:gone' : r.ref)),
      (e) => e instanceof MultipleFailure && e.failures.length === 1 && e.failures[0]![0] === uuids.twin1
        && /\nclass: VM\nhandle: OpaqueRef:gone$/.test(e.failures[0]![1]),
    );
  });
});
