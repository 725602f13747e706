/**
 * XenServer 6.0.2's templates on a fresh host, and what `xe vm-install` makes of two of
 * them: a PV Linux guest and an HVM Windows guest, each with the memory, boot method and
 * system disk (named after the VM and its device, as xapi names it) its template gives.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { XapiClient } from '../../src/client/xapi-client.js';
import { TEMPLATES_602 } from '../../src/main/templates-602.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;
type Rec = Record<string, any>;

describe('built-in templates', { timeout: 120_000 }, () => {
  let islet: IsletProcess;
  let c: XapiClient;
  const xe = async (...args: string[]) => (await run(process.execPath, [
    join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(islet.port), '-u', 'root', '-pw', islet.rootPassword, ...args,
  ], { timeout: 60_000 })).stdout;

  before(async () => {
    islet = await startIslet({ args: ['--spawn-hypervisor', 'false'] });
    c = new XapiClient({ url: islet.url });
    await c.login('root', islet.rootPassword);
  });
  after(async () => {
    c?.close();
    await islet?.stop();
  });

  it('lists 6.0.2\'s templates, each with a sane memory range and a disk to provision', async () => {
    const names = (await xe('template-list', 'params=name-label', '--minimal')).trim().split(',');
    assert.ok(TEMPLATES_602.length >= 40, `${TEMPLATES_602.length} templates`);
    for (const t of TEMPLATES_602) assert.ok(names.includes(t.name), `template ${t.name}`);
    for (const want of ['Windows 7 (64-bit)', 'Windows Server 2008 R2 (64-bit)', 'CentOS 5 (64-bit)', 'Debian Squeeze 6.0 (32-bit)', 'Other install media']) {
      assert.ok(names.includes(want), want);
    }
    const all = Object.values((await c.call('VM.get_all_records')) as Record<string, Rec>).filter((r) => r.is_default_template === true);
    assert.equal(all.length, TEMPLATES_602.length);
    for (const r of all) {
      assert.ok(r.memory_static_min <= r.memory_dynamic_min && r.memory_dynamic_min <= r.memory_dynamic_max && r.memory_dynamic_max <= r.memory_static_max, r.name_label);
      assert.match(r.other_config.disks, /^<provision><disk device="0" size="\d+" sr="" bootable="true" type="system"\/><\/provision>$/, r.name_label);
      assert.equal(r.HVM_boot_policy === '', r.PV_bootloader === 'eliloader', `${r.name_label}: HVM or PV, not both`);
    }
  });

  it('vm-install of a PV Linux template and an HVM Windows one', async () => {
    const disk = async (vmUuid: string) => {
      const vm = String(await c.call('VM.get_by_uuid', vmUuid));
      const [vbd] = (await c.call('VM.get_VBDs', vm)) as string[];
      return (await c.call('VDI.get_record', await c.call('VBD.get_VDI', vbd))) as Rec;
    };
    const centos = (await xe('vm-install', 'template=CentOS 5 (64-bit)', 'new-name-label=web')).trim();
    const cr = (await c.call('VM.get_record', await c.call('VM.get_by_uuid', centos))) as Rec;
    assert.equal(cr.PV_bootloader, 'eliloader');
    assert.equal(cr.HVM_boot_policy, '');
    assert.equal(cr.memory_static_max, 512 * 1024 * 1024);
    assert.equal(cr.other_config['install-distro'], 'rhlike');
    assert.equal(cr.other_config['install-arch'], 'x86_64');
    const cd = await disk(centos);
    assert.equal(cd.name_label, 'web 0');
    assert.equal(Number(cd.virtual_size), 8 * GiB);

    const win = (await xe('vm-install', 'template=Windows 7 (64-bit)', 'new-name-label=desk')).trim();
    const wr = (await c.call('VM.get_record', await c.call('VM.get_by_uuid', win))) as Rec;
    assert.equal(wr.HVM_boot_policy, 'BIOS order');
    assert.equal(wr.platform.viridian, 'true');
    assert.equal(wr.memory_static_max, 2 * GiB);
    const wd = await disk(win);
    assert.equal(wd.name_label, 'desk 0');
    assert.equal(Number(wd.virtual_size), 24 * GiB);
  });
});
