/**
 * Installing a payload into a host's software root, all or nothing, with real files: a
 * failing apply step leaves the old tree, and an install cut short by a crash (each point
 * between the swap and the marker) is finished or undone at the next start.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyUpdateFile } from '../../src/updates/package/verify-update.js';
import { writeAppliedMarker } from '../../src/updates/patch-files.js';
import { installPayload, recoverInterruptedInstall } from '../../src/updates/software-install.js';
import { UpdateFixture } from './update-fixture.js';

describe('software root install', () => {
  let fx: UpdateFixture;
  let file: string;
  let dir: string;
  before(async () => {
    fx = await UpdateFixture.create();
    file = (await fx.custom({ name: 'SW', payload: { 'opt/islet/new': 'new\n', 'opt/islet/old': 'replaced\n' } })).path;
  });
  after(async () => { await fx.close(); });

  async function fresh(): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), 'islet-sw-'));
    await mkdir(join(dir, 'software/opt/islet'), { recursive: true });
    await writeFile(join(dir, 'software/opt/islet/old'), 'old\n');
    await writeFile(join(dir, 'software/keep'), 'keep\n');
    return dir;
  }
  const manifest = async () => (await verifyUpdateFile(file, [await readFile(fx.keyFile, 'utf8')])).manifest;
  const marker = (uuid: string) => ({ uuid, name_label: 'SW', version: '1.0', applied_at: 1, size: 1, after_apply_guidance: [], software_version: {} });

  it('lays the payload over the previous tree', async () => {
    const d = await fresh();
    const m = await manifest();
    await installPayload(d, file, m, { afterSwap: async () => undefined, commit: () => writeAppliedMarker(d, marker(m.uuid)) });
    assert.equal(await readFile(join(d, 'software/opt/islet/new'), 'utf8'), 'new\n');
    assert.equal(await readFile(join(d, 'software/opt/islet/old'), 'utf8'), 'replaced\n');
    assert.equal(await readFile(join(d, 'software/keep'), 'utf8'), 'keep\n');
    assert.ok(!existsSync(join(d, 'software.prev')));
    await rm(d, { recursive: true });
  });

  it('puts the previous tree back when the apply step fails', async () => {
    const d = await fresh();
    await assert.rejects(installPayload(d, file, await manifest(), {
      afterSwap: async (root) => { assert.ok(existsSync(join(root, 'opt/islet/new'))); throw new Error('hook failed'); },
      commit: async () => undefined,
    }), /hook failed/);
    assert.equal(await readFile(join(d, 'software/opt/islet/old'), 'utf8'), 'old\n');
    assert.ok(!existsSync(join(d, 'software/opt/islet/new')));
    await rm(d, { recursive: true });
  });

  it('after a crash between swap and marker, the next start rolls back', async () => {
    const d = await fresh();
    const m = await manifest();
    // Simulate the crash: stop inside afterSwap by copying the state aside.
    await assert.rejects(installPayload(d, file, m, {
      afterSwap: async () => {
        await rename(join(d, 'software.prev'), join(d, 'crash-prev'));
        await rename(join(d, 'software'), join(d, 'crash-software'));
        await writeFile(join(d, 'crash-journal'), await readFile(join(d, 'patch/install-journal.json')));
        throw new Error('crash');
      },
      commit: async () => undefined,
    }));
    // Recreate the on-disk state at the moment of the crash.
    await rm(join(d, 'software'), { recursive: true, force: true });
    await rename(join(d, 'crash-prev'), join(d, 'software.prev'));
    await rename(join(d, 'crash-software'), join(d, 'software'));
    await rename(join(d, 'crash-journal'), join(d, 'patch/install-journal.json'));
    assert.equal(await recoverInterruptedInstall(d), 'rolled-back');
    assert.equal(await readFile(join(d, 'software/opt/islet/old'), 'utf8'), 'old\n');
    assert.ok(!existsSync(join(d, 'software/opt/islet/new')));
    // And committed when the marker made it to disk.
    await mkdir(join(d, 'software.prev'));
    await writeFile(join(d, 'patch/install-journal.json'), JSON.stringify({ uuid: m.uuid, hadPrevious: true }));
    await writeAppliedMarker(d, marker(m.uuid));
    assert.equal(await recoverInterruptedInstall(d), 'committed');
    assert.ok(!existsSync(join(d, 'software.prev')));
    assert.ok(existsSync(join(d, 'software/keep')));
    await rm(d, { recursive: true });
  });
});
