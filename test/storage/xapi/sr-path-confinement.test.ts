/**
 * Where a file SR may live (issue 10, item 2), against a real server: `SR.create` with a
 * system location, a relative path, a path through a symlink into one, a pseudo file
 * system (`/proc/self` used to leave the server spinning for good), the data directory
 * itself, a plain file or a path without parent gets a clear SR_BACKEND_FAILURE_61 at
 * once and writes nothing; an ordinary new directory still works; and attaching an
 * SR introduced at a system location is refused the same way.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startIslet, type IsletProcess } from '../../helpers/islet-server.js';
import { call, jsonRpc, login } from '../../helpers/rpc.js';

describe('file SR path confinement', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let root: string;
  let host: string;
  let work: string;

  const create = (path: string) => jsonRpc(srv.url, 'SR.create', [root, host, { path }, 0, 'confined', '', 'file', 'user', false, {}]);
  /** The call, which must answer (a server spinning on /proc never did) within 20 s. */
  const answered = async (path: string) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        create(path),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`SR.create path=${path}: no answer in 20 s`)), 20_000); }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  before(async () => {
    srv = await startIslet();
    root = await login(srv.url, srv.rootPassword);
    [host] = await call(srv.url, 'host.get_all', root);
    work = await mkdtemp(join(tmpdir(), 'sr-path-'));
  });
  after(async () => {
    await srv?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses system locations, relative paths, symlinks into them and pseudo file systems, quickly and clearly', async () => {
    await symlink('/etc', join(work, 'etc-link'));
    await writeFile(join(work, 'a-file'), 'x');
    const refused: Array<[string, RegExp]> = [
      ['/', /system location/], ['/etc', /system location/], ['/etc/islet-sr', /system location/],
      ['/usr/share', /system location/], ['/dev', /system location/], ['/boot', /system location/],
      ['/proc/self', /system location|pseudo/], ['/sys/kernel', /system location|pseudo/],
      ['../../etc', /not an absolute path/], ['relative-sr', /not an absolute path/],
      [join(work, 'etc-link'), /system location/], [join(work, 'etc-link', 'sub'), /system location/],
      [srv.dataDir, /data directory/], [join(work, 'a-file'), /not a directory/],
      [join(work, 'no', 'such', 'parent'), /no existing parent/], ['', /required|empty/],
    ];
    for (const [path, why] of refused) {
      const r = await answered(path);
      assert.equal(r.error?.message, path ? 'SR_BACKEND_FAILURE_61' : 'SR_BACKEND_FAILURE_94', `${path}: ${JSON.stringify(r)}`);
      assert.match(String(r.error.data[1]), why, path);
    }
    for (const f of ['sr.json', '.journal', '.active', '.lock.last']) {
      assert.ok(!existsSync(join('/etc', f)), `/etc/${f} was not written`);
      assert.ok(!existsSync(join(srv.dataDir, f)), `the data directory got no ${f}`);
    }
    assert.ok(!existsSync('/etc/islet-sr'));
    // The server is still responsive afterwards.
    assert.ok(await call(srv.url, 'host.get_all', root));
  });

  it('names the key the path came in, device_config:location as sm has it', async () => {
    const r = await jsonRpc(srv.url, 'SR.create', [root, host, { location: '/etc' }, 0, 'confined', '', 'file', 'user', false, {}]);
    assert.equal(r.error?.message, 'SR_BACKEND_FAILURE_61', JSON.stringify(r));
    assert.match(String(r.error.data[1]), /\[opterr=device_config:location="\/etc" is the system location/);
    const p = await jsonRpc(srv.url, 'SR.create', [root, host, { path: '/etc' }, 0, 'confined', '', 'file', 'user', false, {}]);
    assert.match(String(p.error.data[1]), /\[opterr=device_config:path="\/etc" is the system location/);
  });

  it('still makes an SR in an ordinary directory, new or existing', async () => {
    const fresh = join(work, 'fresh');
    const r = await create(fresh);
    assert.ok(r.result, JSON.stringify(r));
    assert.ok(existsSync(join(fresh, 'sr.json')));
    const existing = join(work, 'existing');
    await mkdir(existing);
    assert.ok((await create(existing)).result);
  });

  it('refuses to attach an SR introduced at a system location', async () => {
    const sr = await call(srv.url, 'SR.introduce', root, '3b1e2f5c-0000-4000-8000-00000000e7c0', 'intro', '', 'file', 'user', false, {});
    const pbd = await call(srv.url, 'PBD.create', root, { host, SR: sr, device_config: { path: '/etc' }, other_config: {} });
    const r = await jsonRpc(srv.url, 'PBD.plug', [root, pbd]);
    assert.equal(r.error?.message, 'SR_BACKEND_FAILURE_61', JSON.stringify(r));
    assert.ok(!existsSync('/etc/.lock.last') && !existsSync('/etc/.active'));
  });
});
