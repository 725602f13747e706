/**
 * The Install Update wizard when the rolling update fails half-way, in a real browser against
 * a 2-host `islet pool up`. The updates need no restart; their apply hook fails on a host while
 * a flag file named after that host exists in a directory the test owns, so the member fails
 * after the coordinator succeeded. First run: the wizard shows the run paused with the hook's
 * own words and Resume/Abort; the cause removed, Resume finishes it and the pool reads "Fully
 * applied" (every host has the update, by the API too). Second run: paused the same way, Abort
 * ends it, the wizard names the server left without the update (no longer shown as still
 * installing), that host is back in service and the pool shows the update "Partially applied".
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { browserSkip, screenshot } from '../helpers/browser.js';
import type { UpdateFixture } from '../updates/update-fixture.js';
import { next, openWizard, prechecksPassed, startWizardPool, uploadUpdate, type WizardPool } from './update-wizard-fixture.js';

describe('Install Update wizard: a failed host pauses the run; Resume and Abort', { skip: browserSkip(), timeout: 600_000 }, () => {
  let w: WizardPool;
  let fx: UpdateFixture;
  let c: XapiClient;
  let page: Page;
  const refs: string[] = [];
  let memberFlag = '';

  /** An update with no restart whose apply hook fails on a host while its flag file exists. */
  const flaky = (name: string) => fx.custom({
    name, guidance: [],
    hooks: { apply: `#!/bin/sh\nif [ -e "${fx.work}/fail-$ISLET_HOST_UUID" ]; then echo "disk on fire on $ISLET_HOST_UUID"; exit 3; fi\nexit 0\n` },
  });

  /** Uploads through the wizard and drives it to its last page, where Install is. */
  const wizardToInstall = async (path: string, name: string): Promise<Locator> => {
    const dialog = await openWizard(page);
    await next(page);
    await uploadUpdate(page, dialog, path, name);
    await next(page);
    await dialog.getByRole('region', { name: 'Select Servers' }).waitFor();
    await next(page);
    await prechecksPassed(page);
    await next(page);
    await dialog.getByLabel('Plan').filter({ hasText: 'Estimated duration' }).waitFor({ timeout: 60_000 });
    await next(page);
    return dialog;
  };

  /** Installs and waits for the pause the member's failing hook causes. */
  const installUntilPaused = async (dialog: Locator) => {
    await writeFile(memberFlag, '');
    await dialog.locator('[data-action=install]').click();
    await dialog.getByTestId('run-status').filter({ hasText: 'paused' }).waitFor({ timeout: 120_000 });
    const alert = dialog.getByRole('alert').filter({ hasText: 'has been paused' });
    await alert.filter({ hasText: 'UPDATE_APPLY_FAILED' }).filter({ hasText: 'disk on fire' }).waitFor();
    const member = String(await c.call('host.get_name_label', refs[1]));
    const master = String(await c.call('host.get_name_label', refs[0]));
    assert.equal(await dialog.locator(`tr[data-host="${master}"]`).getAttribute('data-step'), 'done');
    assert.equal(await dialog.locator(`tr[data-host="${member}"]`).getAttribute('data-step'), 'apply');
    assert.equal(await c.call('host.get_enabled', refs[1]), false, 'the failed host is out of service while paused');
    return alert;
  };

  const hostsWith = async (name: string) => {
    const [update] = (await c.call('pool_update.get_by_name_label', name)) as string[];
    return ((await c.call('pool_update.get_hosts', update)) as string[]).sort();
  };

  before(async () => {
    w = await startWizardPool(2);
    ({ fx, c, page } = w);
    for (let i = 0; i < 2; i++) refs.push(await w.pool.hostRef(i));
    memberFlag = join(fx.work, `fail-${String(await c.call('host.get_uuid', refs[1]))}`);
  });
  after(async () => {
    await w?.close();
  });

  it('shows the paused run with the hook\'s error; Resume after the fix ends "Fully applied"', async () => {
    const u = await flaky('XS602E951');
    const dialog = await wizardToInstall(u.path, 'XS602E951');
    const alert = await installUntilPaused(dialog);
    await screenshot(page, 'wizard-failure-paused');
    await rm(memberFlag);
    await alert.getByRole('button', { name: 'Resume' }).click();
    await dialog.getByTestId('run-status').filter({ hasText: 'done' }).waitFor({ timeout: 120_000 });
    await dialog.getByTestId('final-status').filter({ hasText: 'XS602E951: Fully applied' }).waitFor({ timeout: 60_000 });
    assert.equal(await dialog.getByRole('alert').filter({ hasText: 'has been paused' }).count(), 0, 'the pause notice is gone');
    await screenshot(page, 'wizard-failure-resumed');
    assert.deepEqual(await hostsWith('XS602E951'), [...refs].sort(), 'every host has the update');
    assert.equal(await c.call('host.get_enabled', refs[1]), true);
    await dialog.getByRole('button', { name: 'Finish' }).click();
    await page.locator('#pool-updates [data-status="Fully applied"] [data-update="XS602E951"]').waitFor();
  });

  it('Abort ends the paused run, the failed host back in service and the update "Partially applied"', async () => {
    const u = await flaky('XS602E952');
    const dialog = await wizardToInstall(u.path, 'XS602E952');
    const alert = await installUntilPaused(dialog);
    await alert.getByRole('button', { name: 'Abort' }).click();
    await dialog.getByTestId('run-status').filter({ hasText: 'aborted' }).waitFor({ timeout: 60_000 });
    assert.equal(await dialog.getByRole('alert').filter({ hasText: 'has been paused' }).count(), 0, 'no Resume/Abort once aborted');
    const member = String(await c.call('host.get_name_label', refs[1]));
    await dialog.getByTestId('aborted-notice').filter({ hasText: `The update is not installed on: ${member}.` }).waitFor();
    assert.equal(await dialog.locator(`tr[data-host="${member}"] td`).nth(1).textContent(), 'Stopped (run aborted)', 'the failed host is not shown as still installing');
    await screenshot(page, 'wizard-failure-aborted');
    await rm(memberFlag);
    assert.equal(await c.call('host.get_enabled', refs[1]), true, 'abort enables the host the run had disabled');
    assert.deepEqual(await hostsWith('XS602E952'), [refs[0]], 'only the coordinator has the update');
    await dialog.getByRole('button', { name: 'Finish' }).click();
    await page.locator('#pool-updates [data-status="Partially applied"] [data-update="XS602E952"]').waitFor();
    await screenshot(page, 'wizard-failure-partially-applied');
  });
});
