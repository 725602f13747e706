/**
 * The Install Update wizard end to end in a real browser against a 3-host `islet pool up`:
 * a non-update file and a forged update refused with a clear message and nothing stored; an
 * update built with zip and gpg alone uploaded with progress, read as "Not applied", checked,
 * planned (dry run), and rolled out with a reboot of every host, master first, the console
 * riding out the master's restart by itself and ending on "Fully applied". A second update
 * meets a disabled host: the precheck fails, its Resolve enables the host, the check passes.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { browserSkip, screenshot } from '../helpers/browser.js';
import type { IsletPool } from '../helpers/islet-pool.js';
import type { UpdateFixture } from '../updates/update-fixture.js';
import { next, openWizard, prechecksPassed, startWizardPool, uploadUpdate, type WizardPool } from './update-wizard-fixture.js';

describe('Install Update wizard against a 3-host pool', { skip: browserSkip(), timeout: 900_000 }, () => {
  let w: WizardPool;
  let fx: UpdateFixture;
  let pool: IsletPool;
  let c: XapiClient;
  let page: Page;

  before(async () => {
    w = await startWizardPool(3);
    ({ fx, pool, c, page } = w);
  });
  after(async () => {
    await w?.close();
  });

  it('refuses bad files, then installs an update with a rolling reboot and ends "Fully applied"', async () => {
    const u = await fx.custom({ name: 'XS602E901', guidance: ['restartHost'] });
    const notes = join(fx.work, 'notes.txt');
    await writeFile(notes, 'not an update\n');
    const forged = join(fx.work, 'forged.xsupdate');
    await writeFile(forged, Buffer.from('PK\x03\x04 this is not a signed update'));
    const dialog = await openWizard(page);
    await next(page);
    await dialog.getByLabel('Update file (.xsupdate or .zip)').setInputFiles(notes);
    await dialog.getByRole('alert').filter({ hasText: 'is not an update file' }).waitFor();
    assert.equal(await dialog.getByRole('button', { name: 'Next >' }).isDisabled(), true);
    await dialog.getByLabel('Update file (.xsupdate or .zip)').setInputFiles(forged);
    await next(page);
    await dialog.getByRole('alert').filter({ hasText: 'INVALID_PATCH' }).waitFor();
    assert.deepEqual(await c.call('pool_patch.get_all'), []);
    await dialog.getByRole('button', { name: '< Previous' }).click();
    await uploadUpdate(page, dialog, u.path, 'XS602E901');
    assert.equal(await dialog.getByTestId('upload-percent').textContent(), '100%');
    // Behind the wizard, the pool's General tab now lists the update as not applied.
    await page.locator('#pool-updates [data-status="Not applied"] [data-update="XS602E901"]').waitFor();
    await screenshot(page, 'wizard-upload');
    await next(page);
    await dialog.getByRole('region', { name: 'Select Servers' }).waitFor();
    assert.equal(await dialog.getByRole('checkbox').count(), 3);
    await next(page);
    await dialog.getByRole('region', { name: 'Prechecks' }).waitFor();
    await prechecksPassed(page);
    await screenshot(page, 'wizard-prechecks');
    await next(page);
    await dialog.getByLabel('Plan').filter({ hasText: 'Estimated duration' }).waitFor({ timeout: 60_000 });
    await screenshot(page, 'wizard-plan');
    await next(page);
    // Record every host step shown and whether the reconnect banner came up.
    await page.evaluate(() => {
      const w = window as unknown as { __steps: Set<string>; __reconnected: boolean };
      w.__steps = new Set();
      w.__reconnected = false;
      new MutationObserver(() => {
        for (const r of document.querySelectorAll('table[aria-label="Install progress"] tr[data-host]')) w.__steps.add(`${r.getAttribute('data-host')}:${r.getAttribute('data-step')}`);
        if (document.querySelector('[data-testid=reconnecting]')) w.__reconnected = true;
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await dialog.locator('[data-action=install]').click();
    await dialog.getByTestId('run-status').waitFor({ timeout: 60_000 });
    await screenshot(page, 'wizard-install');
    await dialog.getByTestId('run-status').filter({ hasText: 'done' }).waitFor({ timeout: 600_000 });
    await dialog.getByTestId('final-status').filter({ hasText: 'XS602E901: Fully applied' }).waitFor({ timeout: 60_000 });
    await screenshot(page, 'wizard-done');
    const seen = await page.evaluate(() => {
      const w = window as unknown as { __steps: Set<string>; __reconnected: boolean };
      return { steps: [...w.__steps], reconnected: w.__reconnected };
    });
    assert.ok(seen.reconnected, 'the console showed the lost connection while the master restarted');
    // The master rebooted during the run: the test's own session went with it.
    c = await w.reconnect();
    const names = await Promise.all([0, 1, 2].map(async (i) => String(await c.call('host.get_name_label', await pool.hostRef(i)))));
    for (const h of names) {
      assert.ok(seen.steps.includes(`${h}:done`), `${h} done: ${seen.steps.join(' ')}`);
      assert.ok(seen.steps.some((s) => s.startsWith(`${h}:`) && !s.endsWith(':done') && !s.endsWith(':pending')), `a step of ${h} seen: ${seen.steps.join(' ')}`);
    }
    await dialog.getByRole('button', { name: 'Finish' }).click();
    await page.locator('#pool-updates [data-status="Fully applied"] [data-update="XS602E901"]').waitFor();
    await screenshot(page, 'pool-updates-fully-applied');
  });

  it('shows a failed precheck for a disabled host and resolves it', async () => {
    const u = await fx.custom({ name: 'XS602E902', guidance: ['restartXAPI'] });
    const host2 = await pool.hostRef(2);
    await c.call('host.disable', host2);
    const dialog = await openWizard(page);
    await next(page);
    await uploadUpdate(page, dialog, u.path, 'XS602E902');
    await next(page);
    await next(page);
    const failed = dialog.locator('tr[data-check=enabled]').filter({ hasText: 'Failed' });
    await failed.waitFor({ timeout: 120_000 });
    assert.equal(await dialog.getByRole('button', { name: 'Next >' }).isDisabled(), true);
    await screenshot(page, 'wizard-precheck-failed');
    await failed.getByRole('button', { name: /Resolve: Exit maintenance mode/ }).click();
    await prechecksPassed(page);
    assert.equal(await c.call('host.get_enabled', host2), true);
    assert.equal(await dialog.getByRole('button', { name: 'Next >' }).isDisabled(), false);
    await dialog.getByRole('button', { name: 'Cancel' }).last().click();
  });
});
