/**
 * The web console against a real 2-host `islet pool up`: opened at the member, it signs in
 * to the master (following HOST_IS_SLAVE, as XenCenter does); the right-click menu's
 * "Migrate to Server" moves a running VM live to the other host, and the tree shows it
 * there, and its Performance tab then reads that host's `/rrd_updates` (VIF traffic
 * included); "Enter Maintenance Mode" evacuates the host and disables it, "Exit Maintenance
 * Mode" enables it again. Every effect is checked through the API as well as on screen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { browserSkip, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';
import { completeRecord } from '../../src/client/create-record.js';

const MiB = 1024 * 1024;
const plain = (url: string) => url.replace(/^https:/, 'http:');
const treeItem = (page: Page, name: string) => page.getByRole('treeitem', { name, exact: true });

/** Waits until the VM's tree row sits under `parentRef` (or fails naming where it is). */
async function waitUnder(page: Page, vmName: string, parentRef: string): Promise<void> {
  await page.waitForFunction(({ name, parent }) => document.querySelector(`[role=treeitem][aria-label="${name}"]`)?.getAttribute('data-parent') === parent,
    { name: vmName, parent: parentRef }, { timeout: 60_000 }).catch(async (e) => {
    throw new Error(`${vmName} is not under ${parentRef} but under ${await treeItem(page, vmName).getAttribute('data-parent')}: ${String(e)}`);
  });
}

describe('web console on a 2-host pool: HOST_IS_SLAVE, migrate, maintenance mode', { skip: browserSkip(), timeout: 600_000 }, () => {
  let pool: IsletPool;
  let c: XapiClient;
  let browser: TestBrowser;
  let page: Page;
  let closePage: () => Promise<void>;
  let host0: string;
  let host1: string;
  let vm: string;

  before(async () => {
    pool = await startPool({ hosts: 2, memory: '4G', migrationRate: 1024 });
    c = await pool.client();
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    await c.call('pool.set_name_label', poolRef, 'Islet Pool');
    host0 = await pool.hostRef(0);
    host1 = await pool.hostRef(1);
    const sr = String(await c.call('pool.get_default_SR', poolRef));
    vm = String(await c.call('VM.create', completeRecord('VM', {
      name_label: 'mover', memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB, memory_dynamic_min: 256 * MiB,
      memory_static_min: 256 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_reboot: 'restart',
    })));
    const vdi = await c.callAsync('VDI.create', {
      name_label: 'mover disk', name_description: '', SR: sr, virtual_size: 16 * MiB, type: 'user',
      sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
    });
    await c.call('VBD.create', {
      VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', unpluggable: false, empty: false,
      qos_algorithm_type: '', qos_algorithm_params: {}, other_config: {}, device: '', currently_attached: false,
    });
    const network = Object.entries((await c.call('network.get_all_records')) as Record<string, { bridge: string }>)
      .find(([, n]) => n.bridge === 'xenbr0')![0];
    await c.call('VIF.create', completeRecord('VIF', { device: '0', network, VM: vm, MAC: '', MTU: 1500 }));
    await c.call('VM.start_on', vm, host0, false, false);
    browser = await launchBrowser();
    const p = await browser.page();
    page = p.page;
    closePage = () => p.context.close();
  });
  after(async () => {
    await closePage?.();
    await browser?.close();
    c?.close();
    await pool?.stop();
  });

  it('opened at a member, signs in to the master (HOST_IS_SLAVE) and works from there', async () => {
    const member = plain(pool.hosts[1]!.url);
    assert.notEqual(new URL(member).host, new URL(plain(pool.masterUrl)).host);
    // The member itself refuses a login and names the master.
    const direct = await (await fetch(`${member}/jsonrpc`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session.login_with_password', params: ['root', pool.rootPassword, '1.0', 't'] }),
    })).json() as { error?: { message: string } };
    assert.equal(direct.error?.message, 'HOST_IS_SLAVE');

    await page.goto(member);
    await page.getByLabel('User name').fill('root');
    await page.getByLabel('Password').fill(pool.rootPassword);
    await page.getByRole('button', { name: 'Connect' }).click();
    await treeItem(page, 'Islet Pool').waitFor({ timeout: 30_000 });
    await page.getByText(`Connected to ${new URL(plain(pool.masterUrl)).host}`).waitFor();
    assert.equal(new URL(page.url()).host, new URL(member).host, 'the page stays where it was opened');
    await waitUnder(page, 'mover', host0);
  });

  it('migrates a running VM to the other server from the right-click menu', async () => {
    await treeItem(page, 'mover').click({ button: 'right' });
    const menu = page.getByRole('menu').first();
    await menu.getByRole('menuitem', { name: 'Migrate to Server' }).click();
    await menu.getByRole('menuitem', { name: 'host1', exact: true }).click();
    await waitUnder(page, 'mover', host1);
    assert.equal(await c.call('VM.get_resident_on', vm), host1);
    assert.equal(await c.call('VM.get_power_state', vm), 'Running');
    await page.getByTestId('notice').filter({ hasText: 'done' }).waitFor({ timeout: 60_000 });
    await screenshot(page, 'migrated');
    // Its graphs now come from the member's /rrd_updates (another origin than the master's):
    // VIF traffic (modelled by the simulator, and labelled so) and CPU.
    await treeItem(page, 'mover').click();
    await page.getByRole('tab', { name: 'Performance' }).click();
    const net = page.locator('figure[data-graph="Network Performance"]');
    await page.waitForFunction(() => Number(document.querySelector('figure[data-graph="Network Performance"]')?.getAttribute('data-nonzero')) > 0, undefined, { timeout: 60_000 });
    assert.match(String(await net.textContent()), /simulated/);
    assert.equal(await net.getAttribute('data-lines'), 'VIF 0 receive, VIF 0 send');
    await screenshot(page, 'vm-network');
    await page.getByRole('tab', { name: 'General' }).click();
  });

  it('enters maintenance mode (evacuate, disable) and exits it (enable) from the right-click menu', async () => {
    await treeItem(page, 'host1').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Enter Maintenance Mode…' }).click();
    await page.waitForFunction((ref) => document.querySelector(`[role=treeitem][data-ref="${ref}"]`)?.getAttribute('data-status') === 'maintenance', host1, { timeout: 60_000 });
    await waitUnder(page, 'mover', host0);
    await page.getByTestId('notice').filter({ hasText: 'Enter Maintenance Mode…: done.' }).waitFor({ timeout: 60_000 });
    assert.equal(await c.call('host.get_enabled', host1), false);
    assert.equal(await c.call('VM.get_resident_on', vm), host0);
    assert.equal(await c.call('VM.get_power_state', vm), 'Running');
    // A disabled host is no migration target.
    await treeItem(page, 'mover').click({ button: 'right' });
    assert.equal(await page.getByRole('menuitem', { name: 'Migrate to Server' }).getAttribute('aria-disabled'), 'true');
    await page.keyboard.press('Escape');
    await screenshot(page, 'maintenance');

    await treeItem(page, 'host1').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Exit Maintenance Mode' }).click();
    await page.waitForFunction((ref) => document.querySelector(`[role=treeitem][data-ref="${ref}"]`)?.getAttribute('data-status') === 'connected', host1, { timeout: 60_000 });
    assert.equal(await c.call('host.get_enabled', host1), true);
  });

  it('follows the master when it moves (pool.designate_new_master), keeping the selection', async () => {
    await treeItem(page, 'mover').click();
    await page.getByTestId('object-title').filter({ hasText: 'mover' }).waitFor();
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    await c.call('pool.designate_new_master', host1);
    const newMaster = new URL(plain(pool.hosts[1]!.url)).host;
    await page.getByText(`Connected to ${newMaster}`).waitFor({ timeout: 120_000 });
    assert.equal(await page.getByTestId('object-title').textContent(), 'mover', 'the selection is kept');
    // It works from the new master: a change made there shows in the tree.
    const api = await pool.client(1);
    try {
      assert.equal(await api.call('pool.get_master', poolRef), host1);
      await api.call('VM.set_name_label', vm, 'mover-renamed');
      await treeItem(page, 'mover-renamed').waitFor({ timeout: 30_000 });
    } finally {
      api.close();
    }
  });
});
