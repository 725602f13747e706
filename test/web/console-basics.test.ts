/**
 * The web console in a real browser against a real host: served at `/` (with the XML-RPC
 * POST on `/` still working), signing in (a wrong password refused plainly), the tree with
 * status icons and search, the General tab, live updates through event.from, a name with
 * markup shown as text, and a read-only user whose actions are disabled with the role named.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { XapiClient } from '../../src/client/xapi-client.js';
import { browserSkip, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { waitFor } from '../helpers/islet-pool.js';
import { completeRecord } from '../../src/client/create-record.js';

const PW = 'console-pw';
const MiB = 1024 * 1024;
const MARKUP = '<img src=x onerror="window.__pwned=1"><b>bold</b>';

async function makeVm(c: XapiClient, name: string): Promise<string> {
  return String(await c.call('VM.create', completeRecord('VM', {
    name_label: name, memory_static_max: 64 * MiB, memory_dynamic_max: 64 * MiB, memory_dynamic_min: 64 * MiB, memory_static_min: 64 * MiB,
    VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_reboot: 'restart',
  })));
}

async function signIn(page: Page, url: string, user: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByRole('tree', { name: 'Infrastructure' }).waitFor({ timeout: 20_000 });
}

const treeItem = (page: Page, name: string) => page.getByRole('treeitem', { name, exact: true });

describe('web console basics', { skip: browserSkip(), timeout: 180_000 }, () => {
  let srv: IsletProcess;
  let api: XapiClient;
  let browser: TestBrowser;
  let vm: string;

  before(async () => {
    srv = await startIslet({ rootPassword: PW });
    api = new XapiClient({ url: srv.url });
    await api.login('root', PW);
    const role = ((await api.call('role.get_by_name_label', 'read-only')) as string[])[0];
    await api.call('subject.islet_create_local_user', 'reader', 'reader-pw', role);
    const operator = ((await api.call('role.get_by_name_label', 'vm-operator')) as string[])[0];
    await api.call('subject.islet_create_local_user', 'operator', 'operator-pw', operator);
    await api.call('pool.set_name_label', ((await api.call('pool.get_all')) as string[])[0], 'Islet Pool');
    vm = await makeVm(api, 'web-vm-1');
    await makeVm(api, MARKUP);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    api?.close();
    await srv?.stop();
  });

  it('serves the console at / with proper types, no traversal, and XML-RPC still on POST /', async () => {
    const index = await fetch(`${srv.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const js = await fetch(`${srv.url}${script}`);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/assets/%2e%2e%2f%2e%2e%2fpackage.json', '/..%5cpackage.json', '/nope.js']) {
      assert.equal((await fetch(`${srv.url}${p}`)).status, 404, p);
    }
    const xml = await fetch(`${srv.url}/`, {
      method: 'POST', headers: { 'content-type': 'text/xml' },
      body: '<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value>root</value></param><param><value>nope</value></param></params></methodCall>',
    });
    assert.match(await xml.text(), /SESSION_AUTHENTICATION_FAILED/);
  });

  it('refuses a wrong password with a clear message', async () => {
    const { context, page } = await browser.page();
    try {
      await page.goto(srv.url);
      await page.getByLabel('User name').fill('root');
      await page.getByLabel('Password').fill('wrong');
      await page.getByRole('button', { name: 'Connect' }).click();
      await page.getByRole('alert').filter({ hasText: 'not correct' }).waitFor();
      assert.equal(await page.getByRole('tree').count(), 0);
      await screenshot(page, 'login-wrong-password');
    } finally {
      await context.close();
    }
  });

  it('shows the tree, the General tab, live changes, and markup as text (root)', async () => {
    const { context, page } = await browser.page();
    try {
      await signIn(page, srv.url, 'root', PW);
      assert.equal(await page.getByTestId('role').textContent(), 'pool-admin');
      const hostName = String(await api.call('host.get_name_label', ((await api.call('host.get_all')) as string[])[0]));
      await treeItem(page, hostName).waitFor();
      await treeItem(page, 'web-vm-1').click();
      await page.getByTestId('object-title').filter({ hasText: 'web-vm-1' }).waitFor();
      await page.getByRole('tabpanel').getByText('Halted', { exact: true }).waitFor();
      await screenshot(page, 'vm-general');
      // A change made through the API reaches the tree through event.from.
      await api.call('VM.set_name_label', vm, 'web-vm-renamed');
      await treeItem(page, 'web-vm-renamed').waitFor();
      // Right-click → Start: the icon turns to Running.
      await treeItem(page, 'web-vm-renamed').click({ button: 'right' });
      await page.getByRole('menuitem', { name: 'Start' }).click();
      await treeItem(page, 'web-vm-renamed').getByRole('img', { name: 'Running' }).waitFor();
      assert.equal(String(await api.call('VM.get_power_state', vm)), 'Running');
      // The markup name is text: no element made from it, nothing run.
      const row = treeItem(page, MARKUP);
      await row.waitFor();
      assert.equal(await row.locator('b, img[src=x]').count(), 0);
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      // Search filters the tree.
      await page.getByLabel('Search the tree').fill('renamed');
      await treeItem(page, MARKUP).waitFor({ state: 'detached' });
      await treeItem(page, 'web-vm-renamed').waitFor();
      await page.getByLabel('Search the tree').fill('');
      // The pool's General tab has the Updates section.
      await treeItem(page, 'Islet Pool').click();
      await page.getByRole('region', { name: 'Updates' }).waitFor();
      await screenshot(page, 'pool-general');
      await treeItem(page, hostName).click();
      await page.getByRole('region', { name: 'Version Details' }).waitFor();
      await screenshot(page, 'host-general');
      // The host's initiator name, as XenCenter shows it, and an SR's type by its driver's SM record.
      const iqn = ((await api.call('host.get_other_config', ((await api.call('host.get_all')) as string[])[0])) as Record<string, string>).iscsi_iqn!;
      await page.getByRole('tabpanel').getByText(iqn, { exact: true }).waitFor();
      await treeItem(page, 'Local storage').click();
      await page.getByRole('tabpanel').getByText('Local or shared VHD files', { exact: true }).waitFor();
    } finally {
      await context.close();
    }
  });

  it('draws non-empty CPU and disk graphs from /rrd_updates after a disk import', async () => {
    const pool = ((await api.call('pool.get_all')) as string[])[0]!;
    const sr = String(await api.call('pool.get_default_SR', pool));
    const vdi = await api.callAsync('VDI.create', {
      name_label: 'perf disk', name_description: '', SR: sr, virtual_size: 16 * MiB, type: 'user',
      sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
    });
    await api.putFile('/import_raw_vdi', { vdi: String(vdi) }, Buffer.alloc(8 * MiB, 3));
    const { context, page } = await browser.page();
    try {
      await signIn(page, srv.url, 'root', PW);
      const hostName = String(await api.call('host.get_name_label', ((await api.call('host.get_all')) as string[])[0]));
      await treeItem(page, hostName).click();
      await page.getByRole('tab', { name: 'Performance' }).click();
      const graph = (title: string) => page.locator(`figure[data-graph="${title}"]`);
      // The import's writes reach the SR graph within a couple of 5 s steps.
      await page.waitForFunction(() => Number(document.querySelector('figure[data-graph="Storage I/O"]')?.getAttribute('data-nonzero')) > 0, undefined, { timeout: 30_000 });
      await page.waitForFunction(() => Number(document.querySelector('figure[data-graph="CPU Performance"]')?.getAttribute('data-points')) > 0, undefined, { timeout: 30_000 });
      assert.ok(Number(await graph('Memory Performance').getAttribute('data-points')) > 0);
      // The PIF's traffic (this test's own API calls cross the interface holding its address).
      await page.waitForFunction(() => Number(document.querySelector('figure[data-graph="Network Performance"]')?.getAttribute('data-nonzero')) > 0, undefined, { timeout: 30_000 });
      await screenshot(page, 'host-performance');

      // Paused, the graphs keep what they show while the host records newer points.
      const shownEnd = async () => Number(await page.locator('.graphs').getAttribute('data-end'));
      await page.getByTestId('pause-graphs').click();
      await page.getByTestId('graph-state').filter({ hasText: 'Paused' }).waitFor();
      assert.equal(await page.getByTestId('pause-graphs').getAttribute('aria-pressed'), 'true');
      const frozen = await shownEnd();
      assert.ok(frozen > 0);
      const hostUuid = String(await api.call('host.get_uuid', ((await api.call('host.get_all')) as string[])[0]));
      const serverEnd = async () => {
        const r = await fetch(`${srv.url}/rrd_updates?session_id=${encodeURIComponent(api.sessionId ?? '')}&start=${frozen - 60}&host=true&json=true&cf=AVERAGE&interval=5`);
        return Number(((await r.json()) as { meta: { end: number } }).meta.end);
      };
      await waitFor(async () => (await serverEnd()) > frozen, 30_000, `the host's RRD to pass ${frozen} (${hostUuid})`, 500);
      // A refresh the console left out since the host had newer points.
      const held = Number(await page.locator('.graphs').getAttribute('data-held'));
      await page.waitForFunction((h) => Number(document.querySelector('.graphs')?.getAttribute('data-held')) > h, held, { timeout: 30_000 });
      assert.equal(await shownEnd(), frozen, 'paused graphs did not move');
      await page.getByTestId('pause-graphs').click();
      assert.equal(await page.getByTestId('pause-graphs').getAttribute('aria-pressed'), 'false');
      await page.waitForFunction((f) => Number(document.querySelector('.graphs')?.getAttribute('data-end')) > f, frozen, { timeout: 30_000 });
      await treeItem(page, 'web-vm-renamed').click();
      await page.getByRole('tab', { name: 'Performance' }).click();
      await page.waitForFunction(() => Number(document.querySelector('figure[data-graph="CPU Performance"]')?.getAttribute('data-nonzero')) > 0, undefined, { timeout: 30_000 });
      assert.match(String(await graph('CPU Performance').textContent()), /simulated/);
      await page.getByRole('button', { name: '2 Hours' }).click();
      await page.getByText('Step 60 s').waitFor();
      await screenshot(page, 'vm-performance');
    } finally {
      await context.close();
    }
  });

  it('is driven by keyboard with visible focus, and reads in a narrow window', async () => {
    const { context, page } = await browser.page();
    try {
      await signIn(page, srv.url, 'root', PW);
      const tree = page.getByRole('tree', { name: 'Infrastructure' });
      await tree.focus();
      const selectedName = () => page.locator('[role=treeitem][aria-selected=true]').getAttribute('aria-label');
      await page.keyboard.press('Home');
      assert.equal(await selectedName(), 'Islet Pool');
      await page.keyboard.press('ArrowDown');
      const hostName = await selectedName();
      assert.notEqual(hostName, 'Islet Pool');
      await page.keyboard.press('ArrowLeft');
      assert.equal(await page.locator(`[role=treeitem][aria-label="${hostName}"]`).getAttribute('aria-expanded'), 'false');
      await page.keyboard.press('ArrowRight');
      assert.equal(await page.locator(`[role=treeitem][aria-label="${hostName}"]`).getAttribute('aria-expanded'), 'true');
      await page.keyboard.press('ArrowDown');
      assert.equal(await selectedName(), 'web-vm-renamed');
      // The focused row is outlined (focus is visible).
      const outline = await page.locator('.tree-row.focused').evaluate((e) => getComputedStyle(e).outlineStyle);
      assert.equal(outline, 'solid');
      // The context-menu key opens the menu with menu/menuitem roles; Escape closes it.
      await page.keyboard.press('Shift+F10');
      await page.getByRole('menu').waitFor();
      assert.ok(await page.getByRole('menuitem').count() > 0);
      await page.keyboard.press('Escape');
      await page.getByRole('menu').waitFor({ state: 'detached' });
      // Tabs: arrow keys move between them.
      await page.getByRole('tab', { name: 'General' }).focus();
      await page.keyboard.press('ArrowRight');
      assert.equal(await page.getByRole('tab', { selected: true }).textContent(), 'Storage');
      await page.keyboard.press('End');
      assert.equal(await page.getByRole('tab', { selected: true }).textContent(), 'Snapshots');
      await screenshot(page, 'vm-snapshots-keyboard');
      await page.setViewportSize({ width: 600, height: 800 });
      await page.getByRole('tab', { name: 'General' }).click();
      await screenshot(page, 'narrow-vm-general');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 600px`);
    } finally {
      await context.close();
    }
  });

  it('signs in a read-only user whose actions are disabled, naming the role', async () => {
    const { context, page } = await browser.page();
    try {
      await signIn(page, srv.url, 'reader', 'reader-pw');
      assert.equal(await page.getByTestId('role').textContent(), 'read-only');
      await treeItem(page, 'web-vm-renamed').click();
      const shutdown = page.locator('header [data-action=shutdown]');
      await shutdown.waitFor();
      assert.equal(await shutdown.isDisabled(), true);
      assert.match(String(await shutdown.getAttribute('title')), /read-only/);
      assert.equal(await page.locator('header [data-action=install-update]').isDisabled(), true);
      await treeItem(page, 'web-vm-renamed').click({ button: 'right' });
      const item = page.getByRole('menuitem', { name: /Shut Down/ });
      assert.equal(await item.getAttribute('aria-disabled'), 'true');
      await screenshot(page, 'read-only-user');
    } finally {
      await context.close();
    }
  });

  it('signs in a vm-operator, who may shut a VM down but not install an update', async () => {
    const { context, page } = await browser.page();
    try {
      await signIn(page, srv.url, 'operator', 'operator-pw');
      assert.equal(await page.getByTestId('role').textContent(), 'vm-operator');
      await treeItem(page, 'web-vm-renamed').click();
      const shutdown = page.locator('header [data-action=shutdown]');
      await shutdown.waitFor();
      assert.equal(await shutdown.getAttribute('title').then((t) => /may not/.test(t ?? '')), false);
      assert.equal(await page.locator('header [data-action=install-update]').isDisabled(), true);
    } finally {
      await context.close();
    }
  });
});
