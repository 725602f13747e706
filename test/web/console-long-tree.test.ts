/**
 * A long Infrastructure tree (400 VMs) in a real browser: only the rows in view (and a
 * margin) are in the page, yet the tree counts every object, says each row's place among
 * its siblings, reaches the last object by keyboard (End) and by scrolling, stays scrolled
 * where the user put it while objects change, and search finds a VM far down the list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { completeRecord } from '../../src/client/create-record.js';
import { browserSkip, launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';

const PW = 'long-tree-pw';
const MiB = 1024 * 1024;
const VMS = 400;

describe('web console with a long tree', { skip: browserSkip(), timeout: 300_000 }, () => {
  let srv: IsletProcess;
  let api: XapiClient;
  let browser: TestBrowser;

  before(async () => {
    srv = await startIslet({ rootPassword: PW });
    api = new XapiClient({ url: srv.url });
    await api.login('root', PW);
    await api.call('pool.set_name_label', ((await api.call('pool.get_all')) as string[])[0], 'Long Pool');
    for (let i = 0; i < VMS; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, k) => api.call('VM.create', completeRecord('VM', {
        name_label: `bulk-${String(i + k).padStart(4, '0')}`, memory_static_max: 64 * MiB, memory_dynamic_max: 64 * MiB,
        memory_dynamic_min: 64 * MiB, memory_static_min: 64 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_reboot: 'restart',
      }))));
    }
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    api?.close();
    await srv?.stop();
  });

  it('draws the rows in view, counts them all, and reaches the last by End, scrolling and search', async () => {
    const { context, page } = await browser.page();
    try {
      await page.goto(srv.url);
      await page.getByLabel('User name').fill('root');
      await page.getByLabel('Password').fill(PW);
      await page.getByRole('button', { name: 'Connect' }).click();
      await page.getByTestId('tree-counts').filter({ hasText: `${VMS} VMs` }).waitFor({ timeout: 30_000 });
      const tree = page.getByRole('tree', { name: 'Infrastructure' });
      const rows = Number(await tree.getAttribute('data-rows'));
      assert.ok(rows >= VMS + 2, `rows ${rows}`);
      const drawn = await page.locator('[role=treeitem]').count();
      assert.ok(drawn < 150, `only a window is drawn (${drawn} of ${rows})`);
      // The first VM says where it stands among the pool's children.
      const first = page.getByRole('treeitem', { name: 'bulk-0000', exact: true });
      assert.equal(await first.getAttribute('aria-posinset'), '2'); // after the host
      assert.ok(Number(await first.getAttribute('aria-setsize')) >= VMS + 1);
      assert.equal(await page.getByRole('treeitem', { name: `bulk-${String(VMS - 1).padStart(4, '0')}`, exact: true }).count(), 0);

      // End selects the last row, which is then drawn and shown in the object pane.
      await first.click();
      await tree.focus();
      await page.keyboard.press('End');
      const last = page.locator('[role=treeitem][aria-selected=true]');
      await last.waitFor();
      const lastName = String(await last.getAttribute('aria-label'));
      assert.equal(await page.getByTestId('object-title').textContent(), lastName);
      assert.ok(await last.isVisible());
      await page.keyboard.press('Home');
      await page.getByTestId('object-title').filter({ hasText: 'Long Pool' }).waitFor();

      // Scrolling to the end draws the last VM, and there the tree stays while objects
      // change: an event does not bring the selected row (the pool, at the top) back.
      await tree.evaluate((t) => { t.scrollTop = t.scrollHeight; });
      await page.getByRole('treeitem', { name: `bulk-${String(VMS - 1).padStart(4, '0')}`, exact: true }).waitFor();
      const [renamed] = (await api.call('VM.get_by_name_label', `bulk-${String(VMS - 2).padStart(4, '0')}`)) as string[];
      await api.call('VM.set_name_label', renamed, 'bulk-renamed');
      await page.getByRole('treeitem', { name: 'bulk-renamed', exact: true }).waitFor({ timeout: 10_000 });
      assert.ok(await page.getByRole('treeitem', { name: `bulk-${String(VMS - 1).padStart(4, '0')}`, exact: true }).isVisible());
      await tree.evaluate((t) => { t.scrollTop = 0; });
      await first.waitFor();

      // Search finds one far down.
      await page.getByLabel('Search the tree').fill('bulk-0377');
      await page.getByRole('treeitem', { name: 'bulk-0377', exact: true }).waitFor();
      assert.equal(await page.locator('[role=treeitem][data-kind=vm]').count(), 1);
    } finally {
      await context.close();
    }
  });
});
