/**
 * @module
 * Islet's software iSCSI initiator, the adapter behind the `IscsiInitiator` port. One
 * session per (portal, target, initiator name) is shared by every LUN opened through it
 * and logged out when the last of them closes. Discovery opens a short Discovery session
 * for SendTargets.
 */
import type { IscsiCredentials, IscsiInitiator, IscsiLunAddress, IscsiLunDevice } from '../../core/ports/iscsi-initiator.js';
import { IscsiError } from '../../core/ports/iscsi-initiator.js';
import { IscsiBlockDevice } from './iscsi-block-device.js';
import { IscsiSession, type SessionOptions, type SessionTuning } from './initiator-session.js';

/** The sessions' tuning: digests, recovery, keep-alive and login limits, the log. */
export type IsletIscsiInitiatorOptions = SessionTuning;

interface Shared {
  session: IscsiSession;
  users: number;
  opening: Promise<void>;
}

export class IsletIscsiInitiator implements IscsiInitiator {
  private readonly sessions = new Map<string, Shared>();
  private closed = false;

  constructor(private readonly opts: IsletIscsiInitiatorOptions = {}) {}

  private sessionOptions(portal: string, creds: IscsiCredentials, type: 'Normal' | 'Discovery', targetIqn?: string): SessionOptions {
    checkIqn(creds.initiatorIqn, 'initiator');
    return {
      portal, sessionType: type, creds, ...(targetIqn ? { targetIqn } : {}),
      ...(this.opts.digests !== undefined ? { digests: this.opts.digests } : {}),
      ...(this.opts.recoveryTimeoutMs !== undefined ? { recoveryTimeoutMs: this.opts.recoveryTimeoutMs } : {}),
      ...(this.opts.nopIntervalMs !== undefined ? { nopIntervalMs: this.opts.nopIntervalMs } : {}),
      ...(this.opts.nopTimeoutMs !== undefined ? { nopTimeoutMs: this.opts.nopTimeoutMs } : {}),
      ...(this.opts.loginTimeoutMs !== undefined ? { loginTimeoutMs: this.opts.loginTimeoutMs } : {}),
      ...(this.opts.log ? { log: this.opts.log } : {}),
    };
  }

  async discover(portal: string, creds: IscsiCredentials): Promise<{ targetIqn: string; portals: string[] }[]> {
    const s = new IscsiSession(this.sessionOptions(portal, creds, 'Discovery'));
    await s.open();
    try {
      const pairs = await s.text([['SendTargets', 'All']]);
      const out: { targetIqn: string; portals: string[] }[] = [];
      for (const [k, v] of pairs) {
        if (k === 'TargetName') out.push({ targetIqn: v, portals: [] });
        else if (k === 'TargetAddress' && out.length > 0) out[out.length - 1]!.portals.push(v);
      }
      return out;
    } finally {
      await s.logout();
    }
  }

  async openLun(addr: IscsiLunAddress, creds: IscsiCredentials, opts: { readOnly?: boolean } = {}): Promise<IscsiLunDevice> {
    if (this.closed) throw new IscsiError('CLOSED', 'the initiator is shut down');
    checkIqn(addr.targetIqn, 'target');
    if (!Number.isInteger(addr.lun) || addr.lun < 0 || addr.lun > 16383) throw new IscsiError('NOT_FOUND', `LUN ${addr.lun} is out of range`);
    const key = `${addr.portal}|${addr.targetIqn.toLowerCase()}|${creds.initiatorIqn.toLowerCase()}`;
    let shared = this.sessions.get(key);
    if (!shared || shared.session.finished) {
      const session = new IscsiSession(this.sessionOptions(addr.portal, creds, 'Normal', addr.targetIqn));
      shared = { session, users: 0, opening: session.open() };
      this.sessions.set(key, shared);
      shared.opening.catch(() => {
        if (this.sessions.get(key) === shared) this.sessions.delete(key);
      });
    }
    const s = shared;
    s.users++;
    let released = false;
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      s.users--;
      if (s.users === 0) {
        if (this.sessions.get(key) === s) this.sessions.delete(key);
        await s.session.logout();
      }
    };
    try {
      await s.opening;
      return await IscsiBlockDevice.open(s.session, addr.lun, opts.readOnly === true, release);
    } catch (e) {
      await release();
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.session.logout()));
  }
}

function checkIqn(name: string, what: string): void {
  if (!/^(iqn\.[0-9]{4}-[0-9]{2}\.[^\s]+|eui\.[0-9a-f]{16}|naa\.[0-9a-f]{16}([0-9a-f]{16})?)$/i.test(name) || Buffer.byteLength(name) > 223) {
    throw new IscsiError('LOGIN_FAILED', `"${name}" is not a valid iSCSI ${what} name`);
  }
}
