/**
 * @module
 * Hotfix item (5): creating an SR on an EqualLogic group whose firmware is newer than
 * 5.1.1 failed. Through a real two-host pool and `bin/xe`, `sr-create type=equallogic`
 * succeeds on simulated groups at 5.0.7, 5.1.1, 5.2.0, 6.0.5, 7.1.12 and 10.0.3; every SR
 * plugs on both hosts and takes a disk; only 10.0.3 (newer than tested) carries a warning
 * message on the SR, and still works.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEqlPool, type EqlPool } from './eql-pool-fixture.js';

const FIRMWARES = ['5.0.7', '5.1.1', '5.2.0 (R212345)', '6.0.5-H1', '7.1.12', '10.0.3'];

describe('(5) EqualLogic firmware newer than 5.1.1', { timeout: 600_000 }, () => {
  let p: EqlPool;
  before(async () => { p = await startEqlPool(); });
  after(async () => { await p?.close(); });

  for (const fw of FIRMWARES) {
    it(`xe sr-create type=equallogic works with firmware ${fw}`, async () => {
      const sim = await p.sim({ firmware: fw, groupName: `grp-${fw.replace(/[^0-9]/g, '')}` });
      try {
        // The item is `xe sr-create`; what follows only checks its SR and tidies up, over
        // XenAPI (each xe run is a process start, and six firmwares made that a minute).
        const sr = await p.createSr(sim, `eql ${fw}`);
        assert.match(sr, /^[0-9a-f-]{36}$/);
        const srRef = String(await p.api.call('SR.get_by_uuid', sr));
        const pbds = (await p.api.call('SR.get_PBDs', srRef)) as string[];
        assert.deepEqual(await Promise.all(pbds.map((b) => p.api.call('PBD.get_currently_attached', b))), [true, true], 'plugged on both hosts');
        const vdi = String(await p.api.call('VDI.create', {
          name_label: 'disk', name_description: '', SR: srRef, virtual_size: 64 * 1024 * 1024, type: 'user',
          sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
        }));
        assert.equal(Number(await p.api.call('VDI.get_virtual_size', vdi)), 64 * 1024 * 1024);
        const messages = Object.values((await p.api.call('message.get_all_records')) as Record<string, { obj_uuid: string; body: string; name: string }>)
          .filter((m) => m.obj_uuid === sr);
        if (fw === '10.0.3') {
          assert.equal(messages.length, 1, 'one warning on the SR');
          assert.match(messages[0]!.body, /firmware 10\.0\.3 is newer than 7\.1\.12/);
        } else {
          assert.deepEqual(messages, [], `no warning for ${fw}`);
        }
        await p.api.call('VDI.destroy', vdi);
        for (const pbd of pbds) await p.api.call('PBD.unplug', pbd);
        await p.api.call('SR.destroy', srRef);
        assert.equal(((await p.api.call('SR.get_all')) as string[]).includes(srRef), false);
      } finally {
        await sim.stop();
      }
    });
  }

  it('refuses firmware older than 5.0 with a clear error, creating nothing', async () => {
    const sim = await p.sim({ firmware: 'V4.3.7', groupName: 'grp-old' });
    try {
      const r = await p.xe('sr-create', 'type=equallogic', 'shared=true', 'name-label=old', 'content-type=user',
        `device-config:target=${sim.host}`, `device-config:port=${sim.port}`, 'device-config:username=grpadmin', 'device-config:password=eqlsecret');
      assert.notEqual(r.code, 0);
      assert.match(r.out + r.err, /4\.3\.7 is older than 5\.0\.0/);
    } finally {
      await sim.stop();
    }
  });
});
