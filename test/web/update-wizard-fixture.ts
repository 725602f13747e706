/**
 * @module
 * What the Install Update wizard's browser tests share: a real `islet pool up` of N hosts
 * trusting a fresh update-signing key (named "Islet Pool"), a root XenAPI client, and a
 * Chromium page logged in to the master's console with the pool in its tree; plus the
 * wizard's steps every run goes through (open it, upload a file, wait for the prechecks to
 * pass). `close()` ends the browser, the pool and the fixture's files.
 */
import type { Locator, Page } from 'playwright-core';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';
import { UpdateFixture } from '../updates/update-fixture.js';

export const POOL_NAME = 'Islet Pool';

export interface WizardPool {
  readonly fx: UpdateFixture;
  readonly pool: IsletPool;
  /** Root client to the master; `reconnect()` replaces it after the master restarted. */
  readonly c: XapiClient;
  readonly page: Page;
  reconnect(): Promise<XapiClient>;
  close(): Promise<void>;
}

export async function startWizardPool(hosts: number): Promise<WizardPool> {
  const fx = await UpdateFixture.create();
  let pool: IsletPool | undefined;
  let browser: TestBrowser | undefined;
  let closePage: (() => Promise<void>) | undefined;
  let c: XapiClient | undefined;
  const close = async () => {
    await closePage?.();
    await browser?.close();
    c?.close();
    await pool?.stop();
    await fx.close();
  };
  try {
    pool = await startPool({ hosts, args: ['--update-key', fx.keyFile] });
    c = await pool.client();
    await c.call('pool.set_name_label', ((await c.call('pool.get_all')) as string[])[0], POOL_NAME);
    browser = await launchBrowser();
    const p = await browser.page();
    closePage = () => p.context.close();
    const page = p.page;
    await page.goto(pool.masterUrl.replace(/^https:/, 'http:'));
    await page.getByLabel('User name').fill('root');
    await page.getByLabel('Password').fill(pool.rootPassword);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('treeitem', { name: POOL_NAME, exact: true }).waitFor();
    const started = pool;
    return {
      fx, pool: started, page, close,
      get c() { return c!; },
      reconnect: async () => {
        c?.close();
        c = await started.client();
        return c;
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The wizard's Next button. */
export const next = (page: Page) => page.getByRole('dialog').getByRole('button', { name: 'Next >' }).click();

/** Opens the wizard from the pool's toolbar, on its first page. */
export async function openWizard(page: Page): Promise<Locator> {
  await page.getByRole('treeitem', { name: POOL_NAME, exact: true }).click();
  await page.locator('header [data-action=install-update]').click();
  const dialog = page.getByRole('dialog', { name: 'Install Update' });
  await dialog.getByRole('region', { name: 'Before You Start' }).waitFor();
  return dialog;
}

/** On the file page: picks `path`, goes on, and waits for the upload of update `name` to finish. */
export async function uploadUpdate(page: Page, dialog: Locator, path: string, name: string): Promise<void> {
  await dialog.getByLabel('Update file (.xsupdate or .zip)').setInputFiles(path);
  await next(page);
  await dialog.getByRole('status').filter({ hasText: `Uploaded: ${name}` }).waitFor({ timeout: 60_000 });
}

/** Waits until the Prechecks page lists checks and every one has passed. */
export async function prechecksPassed(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('table[aria-label=Prechecks] tbody tr')];
    return rows.length > 0 && rows.every((r) => r.textContent?.includes('Passed'));
  }, undefined, { timeout: 120_000 });
}
