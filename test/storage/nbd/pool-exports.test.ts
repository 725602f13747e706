/**
 * NBD in a pool started by `islet pool up`: every host runs its own NBD server on its own
 * port, `VDI.get_nbd_info` (asked of the master) lists each host that has the disk's SR
 * plugged, and a member serves a disk to a client whose session the master opened: the
 * member checks that session with the master, so a logout there closes the member's door
 * too.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../../src/client/xapi-client.js';
import { startPool, type IsletPool } from '../../helpers/islet-pool.js';
import { MiB, missingTools, makeRawFile, makeTempDir, pattern, run, runOk, sha256 } from './nbd-fixture.js';

type Info = { exportname: string; address: string; port: number; cert: string; subject: string };

const TOOLS = ['nbdinfo', 'nbdcopy'];
const missing = await missingTools(TOOLS);
const skip = missing.length ? `missing ${missing.join(', ')}` : false;

const SIZE = 16 * MiB;
const uriOf = (i: Info): string => `nbd://${i.address}:${i.port}/${encodeURIComponent(i.exportname)}`;

describe('NBD in a pool', { skip, timeout: 300_000 }, () => {
  let pool: IsletPool;
  let c: XapiClient;
  let dir: string;
  const hosts: string[] = [];
  /** A disk on the shared SR. */
  let shared: string;

  const newVdi = async (sr: string): Promise<string> => String(await c.call('VDI.create', {
    SR: sr, virtual_size: SIZE, name_label: 'nbd', name_description: '', type: 'user', sharable: false, read_only: false,
    other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
  }));

  before(async () => {
    pool = await startPool({ hosts: 2 });
    c = await pool.client();
    for (let i = 0; i < 2; i++) hosts.push(await pool.hostRef(i));
    dir = await makeTempDir();
    const net = String(await c.call('network.create', {
      name_label: 'nbd', name_description: '', MTU: 1500, other_config: {}, bridge: 'xenbr-nbd', managed: true, tags: [],
    }));
    await c.call('network.add_purpose', net, 'insecure_nbd');
  });

  after(async () => {
    c?.close();
    await pool?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists every host that has the shared SR plugged, each with its own NBD port', async () => {
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    shared = await newVdi(String(await c.call('pool.get_default_SR', poolRef)));
    const infos = (await c.call('VDI.get_nbd_info', shared)) as Info[];
    assert.equal(infos.length, 2, JSON.stringify(infos.map((i) => [i.address, i.port])));
    assert.notEqual(infos[0]!.port, infos[1]!.port);
    const apiPorts = pool.hosts.map((h) => h.port);
    for (const i of infos) assert.ok(!apiPorts.includes(i.port), 'NBD has a port of its own');
    const certs = new Set(infos.map((i) => i.cert));
    assert.equal(certs.size, 2, 'each host presents its own certificate');
    for (const i of infos) assert.equal((await runOk('nbdinfo', ['--size', uriOf(i)])).trim(), String(SIZE));
  });

  it('a member serves a disk to a session of the master, until that session ends', async () => {
    const infos = (await c.call('VDI.get_nbd_info', shared)) as Info[];
    // Pool hosts are named host<i>, and the certificate's subject is the host name.
    const info = infos.find((i) => i.subject === 'host1');
    assert.ok(info, JSON.stringify(infos.map((i) => i.subject)));
    assert.equal(info.address, new URL(pool.hosts[1]!.url).hostname);

    const src = join(dir, 'src.raw');
    await makeRawFile(src, SIZE, [{ offset: MiB, data: pattern(2 * MiB, 11) }, { offset: 9 * MiB, data: pattern(4096, 12) }]);
    await runOk('nbdcopy', [src, uriOf(info!)]);
    const out = join(dir, 'out.raw');
    await runOk('nbdcopy', [uriOf(info!), out]);
    assert.equal(await sha256(out), await sha256(src));

    const other = await pool.client();
    const theirs = ((await other.call('VDI.get_nbd_info', shared)) as Info[]).find((i) => i.subject === 'host1');
    assert.equal((await runOk('nbdinfo', ['--size', uriOf(theirs!)])).trim(), String(SIZE));
    await other.logout();
    other.close();
    assert.notEqual((await run('nbdinfo', ['--size', uriOf(theirs!)])).code, 0, 'the member refuses a session the master ended');
  });
});
