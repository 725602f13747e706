/**
 * The Storage and Snapshots tabs in a real browser against a real host: an SR's space bars
 * and disks with add, resize, import (with progress) and delete; three snapshots taken in
 * the UI, a revert to the second and the deletion of the first, with every other snapshot
 * still in the tree and every disk's content checked through the API.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import type { Page } from 'playwright-core';
import { XapiClient } from '../../src/client/xapi-client.js';
import { browserSkip, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { completeRecord } from '../../src/client/create-record.js';

const PW = 'storage-pw';
const MiB = 1024 * 1024;

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('web console storage and snapshots', { skip: browserSkip(), timeout: 240_000 }, () => {
  let srv: IsletProcess;
  let api: XapiClient;
  let browser: TestBrowser;
  let vm: string;
  let sr: string;
  let page: Page;
  let closePage: () => Promise<void>;

  const vmDisk = async (ref: string) => {
    for (const vbd of (await api.call('VM.get_VBDs', ref)) as string[]) {
      if (await api.call('VBD.get_type', vbd) === 'Disk') return String(await api.call('VBD.get_VDI', vbd));
    }
    throw new Error(`no disk on ${ref}`);
  };
  const fill = async (byte: number) => api.putFile('/import_raw_vdi', { vdi: await vmDisk(vm) }, Buffer.alloc(8 * MiB, byte));
  const content = async (ref: string) => (await readAll(await api.getFile('/export_raw_vdi', { vdi: await vmDisk(ref), format: 'raw' })));
  const snapshotByName = async (name: string) => ((await api.call('VM.get_by_name_label', name)) as string[])[0];

  before(async () => {
    srv = await startIslet({ rootPassword: PW });
    api = new XapiClient({ url: srv.url });
    await api.login('root', PW);
    const pool = ((await api.call('pool.get_all')) as string[])[0]!;
    await api.call('pool.set_name_label', pool, 'Islet Pool');
    sr = String(await api.call('pool.get_default_SR', pool));
    vm = String(await api.call('VM.create', completeRecord('VM', {
      name_label: 'snap-vm', memory_static_max: 64 * MiB, memory_dynamic_max: 64 * MiB, memory_dynamic_min: 64 * MiB, memory_static_min: 64 * MiB,
      VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_reboot: 'restart',
    })));
    const vdi = await api.callAsync('VDI.create', {
      name_label: 'snap-vm disk', name_description: '', SR: sr, virtual_size: 8 * MiB, type: 'user',
      sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
    });
    await api.call('VBD.create', {
      VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', unpluggable: false, empty: false,
      qos_algorithm_type: '', qos_algorithm_params: {}, other_config: {}, device: '', currently_attached: false,
    });
    browser = await launchBrowser();
    const p = await browser.page();
    page = p.page;
    closePage = () => p.context.close();
    await page.goto(srv.url);
    await page.getByLabel('User name').fill('root');
    await page.getByLabel('Password').fill(PW);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('tree', { name: 'Infrastructure' }).waitFor();
  });
  after(async () => {
    await closePage?.();
    await browser?.close();
    api?.close();
    await srv?.stop();
  });

  it('takes three snapshots, reverts to the second, deletes the first, and keeps the rest intact', async () => {
    await page.getByRole('treeitem', { name: 'snap-vm', exact: true }).click();
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    const tree = page.getByRole('tree', { name: 'Snapshot tree' });
    for (const [i, byte] of [[1, 0x11], [2, 0x22], [3, 0x33]] as const) {
      await fill(byte);
      await page.locator('[data-action=take-snapshot]').click();
      await page.getByLabel('Name').fill(`snap-${i}`);
      await page.getByRole('dialog').getByRole('button', { name: 'Take Snapshot' }).click();
      await tree.locator(`[data-snapshot="snap-${i}"]`).waitFor();
    }
    await fill(0x44);
    // Each snapshot hangs under the one before; Now under the last.
    await tree.locator('[data-snapshot="snap-1"] [data-snapshot="snap-2"] [data-snapshot="snap-3"] [data-snapshot="Now"]').waitFor();
    await screenshot(page, 'vm-snapshots');

    await tree.getByRole('button', { name: /snap-2/ }).click();
    await page.locator('[data-action=revert]').click();
    await page.getByRole('button', { name: 'Yes, Revert' }).click();
    await tree.locator('[data-snapshot="snap-2"] > ul > [data-snapshot="Now"]').waitFor();
    assert.equal((await content(vm))[0], 0x22);

    await tree.getByRole('button', { name: /snap-1/ }).click();
    await page.locator('[data-action=delete-snapshot]').click();
    await page.getByRole('dialog').getByText('cannot be undone').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await tree.locator('[data-snapshot="snap-1"]').waitFor({ state: 'detached' });
    await tree.locator('[data-snapshot="snap-2"]').waitFor();
    await tree.locator('[data-snapshot="snap-3"]').waitFor();
    assert.equal(await snapshotByName('snap-1'), undefined);
    const s2 = await snapshotByName('snap-2');
    const s3 = await snapshotByName('snap-3');
    assert.ok(s2 && s3);
    assert.ok((await content(s2)).every((b) => b === 0x22));
    assert.ok((await content(s3)).every((b) => b === 0x33));
    assert.ok((await content(vm)).every((b) => b === 0x22));
    await screenshot(page, 'vm-snapshots-after-delete');
  });

  it('shows the SR space and adds, resizes, imports (with progress) and deletes disks', async () => {
    const srName = String(await api.call('SR.get_name_label', sr));
    await page.getByRole('treeitem', { name: srName, exact: true }).click();
    await page.getByRole('tab', { name: 'Storage' }).click();
    await page.getByRole('meter', { name: /Over-commit ratio/ }).waitFor();
    await page.getByRole('button', { name: 'Add…' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('ui-disk');
    await page.getByRole('dialog').getByLabel('Size').fill('64 MiB');
    await page.getByRole('dialog').getByRole('button', { name: 'Add' }).click();
    const row = page.locator('tr[data-vdi="ui-disk"]');
    await row.waitFor();
    await row.click();
    await page.getByRole('button', { name: 'Resize…' }).click();
    await page.getByLabel('New size').fill('128 MiB');
    await page.getByRole('dialog').getByRole('button', { name: 'Resize' }).click();
    await row.getByText('128 MB').waitFor();
    const vdi = ((await api.call('VDI.get_by_name_label', 'ui-disk')) as string[])[0]!;
    assert.equal(Number(await api.call('VDI.get_virtual_size', vdi)), 128 * MiB);

    const image = join(srv.dataDir, 'upload.raw');
    await writeFile(image, Buffer.alloc(4 * MiB, 0x5a));
    await page.getByRole('button', { name: 'Import…' }).click();
    await page.getByLabel('Raw disk image').setInputFiles(image);
    await page.getByRole('dialog').getByLabel('Name').fill('imported-disk');
    await page.getByRole('dialog').getByRole('button', { name: 'Import' }).click();
    await page.locator('tr[data-vdi="imported-disk"]').waitFor();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const imported = ((await api.call('VDI.get_by_name_label', 'imported-disk')) as string[])[0]!;
    const data = await readAll(await api.getFile('/export_raw_vdi', { vdi: imported, format: 'raw' }));
    assert.equal(data.length, 4 * MiB);
    assert.ok(data.every((b) => b === 0x5a));
    await screenshot(page, 'sr-storage');

    // Not a disk image: refused before anything is stored.
    const bad = join(srv.dataDir, 'notes.txt');
    await writeFile(bad, 'not a disk\n');
    await page.getByRole('button', { name: 'Import…' }).click();
    await page.getByLabel('Raw disk image').setInputFiles(bad);
    await page.getByRole('dialog').getByRole('button', { name: 'Import' }).click();
    await page.getByRole('dialog').getByRole('alert').filter({ hasText: '512-byte sectors' }).waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal(((await api.call('VDI.get_by_name_label', 'notes.txt')) as string[]).length, 0);

    await row.click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(((await api.call('VDI.get_by_name_label', 'ui-disk')) as string[]).length, 0);
  });
});
