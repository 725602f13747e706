/**
 * xe's 6.0.2 host and pool administration commands against a real server: renaming a host
 * live, power-on settings, the status-report capabilities, debug keys, pool CA
 * certificates (installed from a file under its base name), and XenServer's refusals
 * printed by xe (workload balancing not initialised).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { selfSignedCertificate } from '../helpers/self-signed-cert.js';

const run = promisify(execFile);

describe('xe 6.0.2 host and pool administration', { timeout: 180_000 }, () => {
  let islet: IsletProcess;
  let dir: string;
  const xeRaw = (...args: string[]) => run(process.execPath, [
    join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(islet.port), '-u', 'root', '-pw', islet.rootPassword, ...args,
  ], { timeout: 60_000 });
  const xe = async (...args: string[]) => (await xeRaw(...args)).stdout;

  before(async () => {
    islet = await startIslet();
    dir = await mkdtemp(join(tmpdir(), 'xe-602-'));
  });
  after(async () => {
    await islet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renames the host live and sets its power-on mode', async () => {
    const uuid = (await xe('host-list', '--minimal')).trim();
    await xe('host-set-hostname-live', `host-uuid=${uuid}`, 'host-name=xe-renamed');
    assert.equal((await xe('host-param-get', `uuid=${uuid}`, 'param-name=hostname')).trim(), 'xe-renamed');
    await xe('host-set-power-on-mode', `uuid=${uuid}`, 'power-on-mode=DRAC', 'power-on-config:power_on_ip=10.1.1.1');
    assert.equal((await xe('host-param-get', `uuid=${uuid}`, 'param-name=power-on-mode')).trim(), 'DRAC');
    assert.match(await xe('host-param-get', `uuid=${uuid}`, 'param-name=power-on-config'), /power_on_ip: 10\.1\.1\.1/);
    await assert.rejects(xeRaw('host-set-hostname-live', `host-uuid=${uuid}`, 'host-name=bad_name'), (e: { stderr: string }) => {
      assert.equal(e.stderr, 'The server name is invalid.\nreason: hostname contains invalid characters\n');
      return true;
    });
  });

  it('prints the status-report capabilities and presses debug keys', async () => {
    const uuid = (await xe('host-list', '--minimal')).trim();
    assert.match(await xe('host-get-system-status-capabilities', `uuid=${uuid}`), /<system-status-capabilities>/);
    await xe('host-send-debug-keys', `host-uuid=${uuid}`, 'keys=h');
    assert.match(await xe('host-dmesg', `uuid=${uuid}`), /'h' pressed -> showing help/);
  });

  it('installs, lists and uninstalls a pool CA certificate from a file', async () => {
    const file = join(dir, 'my-ca.pem');
    await writeFile(file, (await selfSignedCertificate('xe-ca')).cert);
    await xe('pool-certificate-install', `filename=${file}`);
    assert.equal((await xe('pool-certificate-list')).trim(), 'my-ca.pem');
    await xe('pool-certificate-uninstall', 'name=my-ca.pem');
    assert.equal((await xe('pool-certificate-list')).trim(), '');
  });

  it('prints XenServer\'s refusal for workload balancing on a pool without it', async () => {
    await assert.rejects(xeRaw('pool-retrieve-wlb-configuration'), (e: { stderr: string }) => {
      assert.equal(e.stderr, 'No WLB connection is configured.\n');
      return true;
    });
  });
});
