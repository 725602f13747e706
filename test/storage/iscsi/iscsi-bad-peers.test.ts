/**
 * Bad peers both ways. Islet's initiator facing targets that send garbage, lie about
 * lengths, stall at login or stall in the middle of a session: each ends in a clear
 * IscsiError (or, for a stall after login, in a reconnection that completes the I/O), never
 * a crash or a hang. The simulated target facing initiators that do the same: it drops
 * only the offending connection while a well-behaved session keeps reading and writing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IscsiTarget } from '../../../sims/iscsi/iscsi-target.js';
import { SparseFileLunStore } from '../../../sims/iscsi/sparse-file-lun-store.js';
import { IscsiError, type IscsiLunDevice } from '../../../src/core/ports/iscsi-initiator.js';
import { IsletIscsiInitiator } from '../../../src/storage/iscsi/islet-iscsi-initiator.js';
import { encodePdu, encodeText, newBhs, Op } from '../../../src/storage/iscsi/pdu.js';

const MiB = 1024 * 1024;
const TARGET = 'iqn.2026-12.org.islet.test:bad';
const host = { initiatorIqn: 'iqn.2026-12.org.islet.test:host' };
const isKind = (...kinds: string[]) => (e: unknown): boolean => e instanceof IscsiError && kinds.includes(e.kind);

const accepted = new WeakMap<Server, Set<Socket>>();

async function fakeTarget(onConnect: (s: Socket) => void): Promise<{ server: Server; portal: string }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s)).on('error', () => undefined);
    onConnect(s);
  });
  accepted.set(server, sockets);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, portal: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

async function closeServer(s: Server): Promise<void> {
  const closed = new Promise<void>((r) => s.close(() => r()));
  for (const c of accepted.get(s) ?? []) c.destroy();
  await closed;
}

/** A Login Response header claiming `len` bytes of data. */
function loginResponse(len: number): Buffer {
  const b = newBhs(Op.LoginResp, 0x87);
  b[5] = (len >> 16) & 0xff;
  b[6] = (len >> 8) & 0xff;
  b[7] = len & 0xff;
  return b;
}

/** Resolves when the socket is closed by the other side, or fails after `ms`. */
function closedWithin(s: Socket, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error(`${what}: the target kept the connection open for ${ms} ms`)), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.on('error', () => undefined);
    s.resume();
  });
}

describe('an initiator facing bad targets', () => {
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await closeServer(s);
  });

  it('fails cleanly on garbage, on lying lengths and on a target that never answers', async () => {
    const garbage = await fakeTarget((s) => s.on('data', () => s.write(randomBytes(300))));
    const liar = await fakeTarget((s) => s.on('data', () => s.write(Buffer.concat([loginResponse(1_000_000), Buffer.alloc(64)]))));
    const wrongOp = await fakeTarget((s) => s.on('data', () => s.write(Buffer.concat(encodePdu(newBhs(Op.R2T, 0x80), undefined, { header: false, data: false })))));
    const silent = await fakeTarget(() => undefined);
    servers.push(garbage.server, liar.server, wrongOp.server, silent.server);
    // The targets that answer get a login timeout only a hang reaches: with 500 ms, an answer
    // that a loaded machine delayed past it turned the expected PROTOCOL into TIMEOUT. Only
    // the silent one, whose answer never comes, is given the short one.
    const ini = new IsletIscsiInitiator({ loginTimeoutMs: 60_000 });
    const impatient = new IsletIscsiInitiator({ loginTimeoutMs: 500 });
    try {
      const addr = (portal: string) => ({ portal, targetIqn: TARGET, lun: 0 });
      await assert.rejects(ini.openLun(addr(garbage.portal), host), isKind('PROTOCOL'));
      await assert.rejects(ini.openLun(addr(liar.portal), host), (e: unknown) => isKind('PROTOCOL')(e) && /exceeds the declared limit/.test((e as Error).message));
      await assert.rejects(ini.openLun(addr(wrongOp.portal), host), (e: unknown) => isKind('PROTOCOL')(e) && /expected a login response/.test((e as Error).message));
      await assert.rejects(impatient.openLun(addr(silent.portal), host), isKind('TIMEOUT'));
      await assert.rejects(impatient.discover(silent.portal, host), isKind('TIMEOUT'));
    } finally {
      await ini.close();
      await impatient.close();
    }
  });

  it('finds a target that stalls mid-session with NOP-Out pings and reconnects to finish the I/O', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iscsi-stall-'));
    const store = await SparseFileLunStore.open(join(dir, 'lun'), { size: 8 * MiB });
    const target = new IscsiTarget({ targetIqn: TARGET, allowAll: true });
    target.setLun(0, store);
    const real = await target.listen('127.0.0.1', 0);
    // A relay that, once frozen, stops passing the target's bytes on old connections.
    let frozen = false;
    const live = new Set<Socket>();
    const relay = await fakeTarget((client) => {
      const up = connect(real.port, '127.0.0.1');
      const born = frozen;
      live.add(client);
      client.on('data', (c) => up.write(c));
      up.on('data', (c) => {
        if (!frozen || born) client.write(c);
      });
      const end = (): void => {
        live.delete(client);
        client.destroy();
        up.destroy();
      };
      client.on('close', end).on('error', end);
      up.on('close', end).on('error', end);
    });
    servers.push(relay.server);
    const ini = new IsletIscsiInitiator({ nopIntervalMs: 100, nopTimeoutMs: 400, recoveryTimeoutMs: 20_000 });
    let dev: IscsiLunDevice | undefined;
    try {
      dev = await ini.openLun({ portal: relay.portal, targetIqn: TARGET, lun: 0 }, host);
      const data = randomBytes(MiB);
      await dev.write(0, data);
      frozen = true;
      // The read's answer never arrives on the frozen connection; a ping goes unanswered,
      // the session reconnects through a fresh (unfrozen) relay connection and re-issues it.
      const got = await dev.read(0, MiB);
      assert.ok(got.equals(data));
    } finally {
      await dev?.close();
      await ini.close();
      await target.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the simulated target facing bad initiators', () => {
  let dir = '';
  let target: IscsiTarget;
  let store: SparseFileLunStore;
  let port = 0;
  const ini = new IsletIscsiInitiator();
  let good: IscsiLunDevice;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iscsi-badini-'));
    store = await SparseFileLunStore.open(join(dir, 'lun'), { size: 16 * MiB });
    // Short enough that the bad peers below are dropped well inside their 5 s bound; long
    // enough that the good session (logging in and writing under the same limits) does not
    // miss them on a loaded machine.
    target = new IscsiTarget({ targetIqn: TARGET, allowAll: true, loginTimeoutMs: 1500, dataOutTimeoutMs: 1500 });
    target.setLun(0, store);
    port = (await target.listen('127.0.0.1', 0)).port;
    good = await ini.openLun({ portal: `127.0.0.1:${port}`, targetIqn: TARGET, lun: 0 }, host);
  });
  after(async () => {
    await good?.close();
    await ini.close();
    await target.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const raw = async (): Promise<Socket> => {
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return s;
  };
  const loginPdu = (): Buffer => {
    const bhs = newBhs(Op.LoginReq, 0x87, true);
    bhs[8] = 0x80;
    bhs.writeUInt32BE(1, 16);
    const text = encodeText([['InitiatorName', 'iqn.2026-12.org.islet.test:rogue'], ['TargetName', TARGET], ['SessionType', 'Normal']]);
    return Buffer.concat(encodePdu(bhs, text, { header: false, data: false }));
  };
  /** The good session still reads and writes. */
  const stillServing = async (seed: number): Promise<void> => {
    const data = Buffer.alloc(64 * 1024, seed);
    await good.write(seed * 64 * 1024, data);
    assert.ok((await good.read(seed * 64 * 1024, data.length)).equals(data));
  };

  it('drops a connection that sends garbage', async () => {
    const s = await raw();
    s.write(randomBytes(4096));
    await closedWithin(s, 5000, 'garbage');
    await stillServing(1);
  });

  it('drops a connection whose header lies about its data length', async () => {
    const s = await raw();
    const bhs = newBhs(Op.LoginReq, 0x87, true);
    bhs[5] = 0xff;
    bhs[6] = 0xff;
    bhs[7] = 0xff;
    s.write(bhs);
    await closedWithin(s, 5000, 'lying length');
    await stillServing(2);
  });

  it('drops a connection that stalls in the middle of a login header', async () => {
    const s = await raw();
    s.write(loginPdu().subarray(0, 20));
    await closedWithin(s, 5000, 'stalled login');
    await stillServing(3);
  });

  it('drops a session that announces a write and never sends its data, and one that sends data beyond it', async () => {
    for (const mode of ['stall', 'overrun'] as const) {
      const s = await raw();
      s.write(loginPdu());
      await new Promise((r) => setTimeout(r, 100));
      const cmd = newBhs(Op.ScsiCommand, 0xa1);
      cmd.writeUInt32BE(7, 16);
      cmd.writeUInt32BE(8192, 20);
      cmd.writeUInt32BE(0, 24);
      cmd[32] = 0x8a;
      cmd.writeUInt32BE(16, 42);
      s.write(Buffer.concat(encodePdu(cmd, undefined, { header: false, data: false })));
      if (mode === 'overrun') {
        const out = newBhs(Op.DataOut, 0x80);
        out.writeUInt32BE(7, 16);
        out.writeUInt32BE(0xffffffff, 20);
        out.writeUInt32BE(65536, 40);
        s.write(Buffer.concat(encodePdu(out, Buffer.alloc(4096), { header: false, data: false })));
      }
      await closedWithin(s, 5000, mode);
      await stillServing(mode === 'stall' ? 4 : 5);
    }
  });
});
