/**
 * A running host serves its VDIs over NBD as `VDI.get_nbd_info` announces them, to real
 * clients: nbdinfo (map with holes, read-only flag, TLS against the host certificate),
 * nbdcopy and qemu-img over nbd://. A write through NBD, a VM snapshot and another write
 * leave the VM's disk and the snapshot holding exactly what was written (checked through
 * `GET /export_raw_vdi`); the snapshot refuses writes; a bad or logged-out session opens
 * nothing; a client cut off in the middle of a write harms nothing.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../../src/client/xapi-client.js';
import {
  diskOf, exportDigest, startStorageFixture, vmWithDisk, type StorageFixture,
} from '../acceptance/storage-fixture.js';
import { MiniClient, NBD } from './mini-client.js';
import { MiB, missingTools, makeRawFile, makeTempDir, pattern, run, runOk, sha256 } from './nbd-fixture.js';

type Info = { exportname: string; address: string; port: number; cert: string; subject: string };
type MapEntry = { offset: number; length: number; type: number; description: string };

const TOOLS = ['nbdinfo', 'nbdcopy', 'qemu-img'];
const missing = await missingTools(TOOLS);
const skip = missing.length ? `missing ${missing.join(', ')}` : false;

const SIZE = 64 * MiB;
const HOST_NAME = 'nbd-test-host';

/** libnbd and qemu take the export name from the URI path, percent-decoded. */
const uriOf = (i: Info, scheme = 'nbd', query = ''): string =>
  `${scheme}://${i.address}:${i.port}/${encodeURIComponent(i.exportname)}${query}`;

describe('NBD exports of a running host', { skip }, () => {
  let fx: StorageFixture;
  let dir: string;
  let vm: string;
  let vdi: string;
  let snapVdi: string;
  let net: string;
  let disk: Info;
  let file1: string;
  let file2: string;
  const held: MiniClient[] = [];
  const tlsUriOf = (i: Info): string => uriOf(i, 'nbds', `?tls-certificates=${join(dir, 'pki')}`);

  /**
   * Keeps a connection to the disk open, idle, between the clients of a test, so that the
   * disk stays active across them (the file SR closes a disk's chain when its last handle
   * closes, and an activation that lands meanwhile waits for that close: `activate` in
   * `storage/file/file-sr.ts`), and so that the snapshot happens under an open NBD
   * connection.
   */
  const hold = async (i: Info): Promise<void> => {
    held.push(await MiniClient.connect(i.port, { exportName: i.exportname }, i.address));
  };

  const nbdInfo = async (ref: string, api: XapiClient = fx.api): Promise<Info> => {
    const infos = (await api.call('VDI.get_nbd_info', ref)) as Info[];
    assert.equal(infos.length, 1, 'one host, one address');
    return infos[0]!;
  };

  before(async () => {
    fx = await startStorageFixture({ ISLET_HOST_NAME: HOST_NAME });
    dir = await makeTempDir();
    ({ vm, vdi } = await vmWithDisk(fx.api, fx.sr, 'nbd-vm', SIZE));
  });

  after(async () => {
    for (const c of held) await c.disconnect().catch(() => undefined);
    await fx?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('announces nothing until a network has an NBD purpose, then this host with its port and certificate', async () => {
    assert.deepEqual(await fx.api.call('VDI.get_nbd_info', vdi), []);
    net = String(await fx.api.call('network.create', {
      name_label: 'nbd-net', name_description: '', MTU: 1500, other_config: {}, bridge: 'xenbr-nbd', managed: true, tags: [],
    }));
    const netUuid = String(await fx.api.call('network.get_uuid', net));
    await fx.xeOk('network-param-add', `uuid=${netUuid}`, 'param-name=purpose', 'param-key=insecure_nbd');
    assert.equal(await fx.xeOk('network-param-get', `uuid=${netUuid}`, 'param-name=purpose'), 'insecure_nbd');

    disk = await nbdInfo(vdi);
    const uuid = String(await fx.api.call('VDI.get_uuid', vdi));
    assert.equal(disk.exportname, `/${uuid}?session_id=${fx.api.sessionId}`);
    assert.equal(disk.address, '127.0.0.1');
    assert.ok(Number.isInteger(disk.port) && disk.port > 0 && disk.port !== fx.islet.port, `own port ${disk.port}`);
    assert.equal(disk.cert, await readFile(join(fx.islet.dataDir, 'tls', 'host-cert.pem'), 'utf8'));
    assert.equal(disk.subject, HOST_NAME);

    // As in XenServer, NBD networks all require TLS or none does.
    await assert.rejects(fx.api.call('network.add_purpose', net, 'nbd'), /NETWORK_INCOMPATIBLE_PURPOSES/);
  });

  it('nbdinfo --map shows a fresh thin disk as one hole', async () => {
    const map = JSON.parse(await runOk('nbdinfo', ['--map', '--json', uriOf(disk)])) as MapEntry[];
    assert.equal(map.reduce((n, e) => n + e.length, 0), SIZE);
    assert.ok(map.every((e) => e.type === 3), JSON.stringify(map));
    assert.equal((await runOk('nbdinfo', ['--size', uriOf(disk)])).trim(), String(SIZE));
  });

  it('a write, a VM snapshot, another write: the disk and the snapshot hold exactly what was written', async () => {
    file1 = join(dir, 'one.raw');
    file2 = join(dir, 'two.raw');
    await makeRawFile(file1, SIZE, [
      { offset: 0, data: pattern(MiB, 1) },
      { offset: 10 * MiB, data: pattern(3 * MiB, 2) },
      { offset: 40 * MiB + 4096, data: pattern(4096, 3) },
    ]);
    await makeRawFile(file2, SIZE, [
      { offset: 512 * 1024, data: pattern(MiB, 4) },
      { offset: 20 * MiB, data: pattern(2 * MiB, 5) },
      { offset: SIZE - 8192, data: pattern(8192, 6) },
    ]);
    await hold(disk);
    await runOk('nbdcopy', [file1, uriOf(disk)]);
    const map = JSON.parse(await runOk('nbdinfo', ['--map', '--json', uriOf(disk)])) as MapEntry[];
    const dataAt = (off: number) => map.some((e) => e.offset <= off && off < e.offset + e.length && (e.type & 1) === 0);
    assert.ok(dataAt(0) && dataAt(11 * MiB) && dataAt(40 * MiB + 4096), JSON.stringify(map));
    assert.ok(!dataAt(30 * MiB), 'an unwritten range stays a hole');
    // The write session's end refreshes the disk's space figures (no sr-scan needed).
    const deadline = Date.now() + 10_000;
    let used = 0;
    while ((used = Number(await fx.api.call('VDI.get_physical_utilisation', vdi))) < 4 * MiB && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(used >= 4 * MiB, `physical_utilisation after writing 4 MiB over NBD: ${used}`);

    const snapVm = String(await fx.api.callAsync('VM.snapshot', vm, 'after-one'));
    snapVdi = await diskOf(fx.api, snapVm);
    await hold(await nbdInfo(snapVdi));
    // The second write goes through qemu-img, also over nbd://.
    await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', file2, uriOf(disk)]);

    assert.equal((await exportDigest(fx.api, vdi)).sha, await sha256(file2));
    assert.equal((await exportDigest(fx.api, snapVdi)).sha, await sha256(file1));
    // And back out through NBD: qemu-img compare and nbdcopy.
    const snap = await nbdInfo(snapVdi);
    const r = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', file1, uriOf(snap)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = join(dir, 'out.raw');
    await runOk('nbdcopy', [uriOf(disk), out]);
    assert.equal(await sha256(out), await sha256(file2));
  });

  it('serves the snapshot read-only and the VM disk read-write', async () => {
    const snap = await nbdInfo(snapVdi);
    assert.equal((await run('nbdinfo', ['--is', 'read-only', uriOf(snap)])).code, 0);
    assert.notEqual((await run('nbdinfo', ['--is', 'read-only', uriOf(disk)])).code, 0);
    const w = await run('nbdcopy', [file2, uriOf(snap)]);
    assert.notEqual(w.code, 0, 'writing a snapshot fails');
    assert.equal((await exportDigest(fx.api, snapVdi)).sha, await sha256(file1));
  });

  it('opens nothing for a bad, logged-out or missing session, nor for a name it cannot parse', async () => {
    const bogus = { ...disk, exportname: disk.exportname.replace(/session_id=.*/, 'session_id=OpaqueRef:00000000-0000-0000-0000-000000000000') };
    assert.notEqual((await run('nbdinfo', [uriOf(bogus)])).code, 0);
    assert.notEqual((await run('nbdinfo', [uriOf({ ...disk, exportname: disk.exportname.split('?')[0]! })])).code, 0);
    assert.notEqual((await run('nbdinfo', [uriOf({ ...disk, exportname: 'garbage' })])).code, 0);

    const other = new XapiClient({ url: fx.islet.url });
    await other.login('root', fx.islet.rootPassword);
    const mine = await nbdInfo(vdi, other);
    assert.equal((await runOk('nbdinfo', ['--size', uriOf(mine)])).trim(), String(SIZE));
    await other.logout();
    other.close();
    assert.notEqual((await run('nbdinfo', ['--size', uriOf(mine)])).code, 0, 'a logged-out session opens nothing more');
    assert.equal((await runOk('nbdinfo', ['--size', uriOf(disk)])).trim(), String(SIZE), 'other sessions still do');
  });

  it('keeps serving after a client is cut off in the middle of a write, and the disk is unchanged', async () => {
    for (let i = 0; i < 3; i++) {
      const c = await MiniClient.connect(disk.port, { exportName: disk.exportname }, disk.address);
      assert.equal(c.size, SIZE);
      const h = Buffer.alloc(28);
      h.writeUInt32BE(NBD.REQUEST_MAGIC, 0);
      h.writeUInt16BE(NBD.CMD.WRITE, 6);
      h.writeBigUInt64BE(99n, 8);
      h.writeBigUInt64BE(BigInt(i * 4 * MiB), 16);
      h.writeUInt32BE(2 * MiB, 24);
      // Half of the payload, then the connection dies.
      await new Promise<void>((r) => c.socket.write(Buffer.concat([h, pattern(MiB, 7 + i)]), () => r()));
      c.socket.destroy();
    }
    assert.equal((await runOk('nbdinfo', ['--size', uriOf(disk)])).trim(), String(SIZE));
    assert.equal((await exportDigest(fx.api, vdi)).sha, await sha256(file2));
  });

  it('with purpose nbd, requires TLS, verified against the certificate get_nbd_info gives', async () => {
    await fx.api.call('network.remove_purpose', net, 'insecure_nbd');
    assert.deepEqual(await fx.api.call('VDI.get_nbd_info', vdi), [], 'no NBD network, nothing announced');
    await fx.api.call('network.add_purpose', net, 'nbd');
    const info = await nbdInfo(vdi);

    const plain = await run('nbdinfo', [uriOf(info)]);
    assert.notEqual(plain.code, 0, 'a client without TLS is refused');

    // libnbd's layout: the CA to trust in DIR/ca-cert.pem; the host's certificate is its own CA.
    await mkdir(join(dir, 'pki'), { recursive: true });
    await writeFile(join(dir, 'pki', 'ca-cert.pem'), info.cert);
    const tlsUri = tlsUriOf(info);
    const shown = JSON.parse(await runOk('nbdinfo', ['--json', tlsUri]));
    assert.equal(shown.TLS, true);
    assert.equal(shown.exports[0]['export-size'], SIZE);
    const out = join(dir, 'tls-out.raw');
    await runOk('nbdcopy', [tlsUri, out]);
    assert.equal(await sha256(out), await sha256(file2));
  });

  it('serves a disk that a running VM has plugged read-write read-only, and read-write again once it halts', async () => {
    const readOnly = async () => (await run('nbdinfo', ['--is', 'read-only', tlsUriOf(await nbdInfo(vdi))])).code === 0;
    await fx.api.callAsync('VM.start', vm, false, false);
    try {
      assert.equal(await readOnly(), true);
    } finally {
      await fx.api.callAsync('VM.hard_shutdown', vm);
    }
    assert.equal(await readOnly(), false);
  });
});
