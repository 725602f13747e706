/**
 * @module
 * A simulated Dell EqualLogic PS group: the Group Manager CLI over SSH (`ssh-cli-server`),
 * the group's rules and state (`group-model`), volume blocks in the shared copy-on-write
 * array store, all kept in the data directory so the group can be stopped and started
 * again, on a new address if need be, with every volume, snapshot and access record.
 * `startEqualLogicSim` runs it in-process (tests); `islet sim equallogic` runs it as a
 * process.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';

const { utils } = ssh2;
import { ArrayStore } from '../array-store/array-store.js';
import { GroupModel, type Pool } from './group-model.js';
import { GroupIscsiPortal } from './iscsi-portal.js';
import { SshCliServer } from './ssh-cli-server.js';

export interface EqualLogicSimOptions {
  readonly ssh: { host: string; port: number };
  /** The group's iSCSI portal (3260 on a real group). */
  readonly iscsi?: { host: string; port: number };
  readonly username: string;
  readonly password: string;
  readonly groupName: string;
  readonly pools: readonly Pool[];
  readonly firmware: string;
  /** Keeps the group across restarts; a temporary directory (removed on close) when absent. */
  readonly dataDir?: string;
  readonly log?: (m: string) => void;
}

export interface RunningEqualLogicSim {
  readonly group: GroupModel;
  readonly store: ArrayStore;
  readonly ssh: SshCliServer;
  readonly sshAddress: { address: string; port: number };
  readonly iscsiAddress?: { address: string; port: number };
  readonly portal?: GroupIscsiPortal;
  close(): Promise<void>;
}

/**
 * A new ed25519 host key. ssh2's generator drops a leading zero byte of about one public key
 * in 300, and its own parser then refuses the key ("Malformed OpenSSH private key"): such a
 * key is drawn again rather than left to fail a start now and then.
 */
export function newHostKey(): string {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair.private;
  }
}

/** The group's host key, kept in its data directory (one an older simulator wrote unreadable is replaced). */
async function hostKey(dir: string): Promise<string> {
  const file = join(dir, 'ssh_host_ed25519_key');
  try {
    const kept = await readFile(file, 'utf8');
    if (!(utils.parseKey(kept) instanceof Error)) return kept;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = newHostKey();
  await writeFile(file, key, { mode: 0o600 });
  return key;
}

export async function startEqualLogicSim(o: EqualLogicSimOptions): Promise<RunningEqualLogicSim> {
  const temporary = o.dataDir ? undefined : mkdtempSync(join(tmpdir(), 'eql-sim-'));
  try {
    return await startIn(o.dataDir ?? temporary!, o, temporary);
  } catch (e) {
    if (temporary) rmSync(temporary, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Starts the group in `dir`; `temporary` (the directory made for it, if any) goes at close.
 * A start that fails part-way closes what it had opened: a listening portal left behind would
 * keep the process (a test file) alive for good.
 */
async function startIn(dir: string, o: EqualLogicSimOptions, temporary: string | undefined): Promise<RunningEqualLogicSim> {
  await mkdir(dir, { recursive: true });
  const store = await ArrayStore.open(join(dir, 'blocks'));
  const opened: Array<() => Promise<void>> = [() => store.close()];
  try {
    const group = GroupModel.open({ dataDir: dir, groupName: o.groupName, firmware: o.firmware, pools: [...o.pools], store });
    store.setAllocationGuard((lunId, _n, blockSize, d) => group.beforeAllocate(lunId, d.fresh * blockSize, d.copies * blockSize));
    const portal = o.iscsi ? new GroupIscsiPortal(group, store, o.log) : undefined;
    if (portal) opened.push(() => portal.close());
    const iscsiAddress = portal && o.iscsi ? await portal.listen(o.iscsi.host, o.iscsi.port) : undefined;
    if (portal) group.onChange = () => void portal.sync();
    group.iscsiPort = iscsiAddress?.port;
    const ssh = new SshCliServer({
      group, username: o.username, password: o.password, hostKey: await hostKey(dir),
      ...(portal ? { connections: (iqn: string) => portal.connections(iqn) } : {}), ...(o.log ? { log: o.log } : {}),
    });
    opened.push(() => ssh.close());
    const sshAddress = await ssh.listen(o.ssh.host, o.ssh.port);
    group.address = sshAddress.address;
    return {
      group, store, ssh, sshAddress, ...(iscsiAddress ? { iscsiAddress } : {}), ...(portal ? { portal } : {}),
      close: async () => {
        try {
          await ssh.close();
          await portal?.close();
          await store.close();
        } finally {
          if (temporary) rmSync(temporary, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw e;
  }
}
