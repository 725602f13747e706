/**
 * @module
 * The EqualLogic group as Islet uses it, over a small pool of CLI sessions (each runs one
 * command at a time; a lost session is dropped and a new one opened for the next call).
 * Every answer is read by field names (`parseDetail`, `parseTable`).
 */
import { field, parseDetail, parseEqlSize, parseTable } from './cli-parse.js';
import { EqlError } from './eql-errors.js';
import { EqlShell, type EqlConnectOptions } from './eql-shell.js';

export interface EqlVolume {
  readonly name: string;
  readonly size: number;
  readonly reserve: number;
  readonly inUse: number;
  readonly iqn: string;
  readonly thin: boolean;
  readonly online: boolean;
  readonly snapshots: number;
  readonly snapReservePct: number;
  readonly description: string;
  readonly pool: string;
}

export interface EqlSnapshot { readonly name: string; readonly status: string; readonly iqn?: string }
export interface EqlAccess { readonly id: number; readonly initiator: string; readonly authMethod: string; readonly userName: string; readonly applyTo: string }
export interface EqlGroupInfo {
  readonly groupName: string;
  readonly address: string;
  readonly firmware: string;
  readonly serial: string;
  /** The iSCSI portal's port when the group says (a simulator on loopback); 3260 otherwise. */
  readonly iscsiPort?: number;
}
export interface EqlPoolInfo { readonly name: string; readonly total: number; readonly free: number; readonly volumes: number }

const q = (s: string) => (/^[A-Za-z0-9._:@-]+$/.test(s) ? s : `"${s.replace(/"/g, '')}"`);

export class EqlClient {
  private readonly idle: EqlShell[] = [];
  private open = 0;
  private readonly waiting: Array<(s: EqlShell | undefined) => void> = [];
  private closed = false;

  constructor(readonly conn: EqlConnectOptions, private readonly maxSessions = 2) {}

  /** Runs one command on a pooled session. */
  async run(command: string): Promise<string> {
    const shell = await this.take();
    try {
      return await shell.run(command);
    } finally {
      this.give(shell);
    }
  }

  private async take(): Promise<EqlShell> {
    if (this.closed) throw new EqlError('dropped', 'the EqualLogic client is closed');
    for (;;) {
      const s = this.idle.pop();
      if (!s) break;
      if (s.alive) return s;
      this.open--;
    }
    if (this.open < this.maxSessions) {
      this.open++;
      try {
        return await EqlShell.open(this.conn);
      } catch (e) {
        this.open--;
        throw e;
      }
    }
    const s = await new Promise<EqlShell | undefined>((r) => this.waiting.push(r));
    return s ?? this.take();
  }

  private give(s: EqlShell): void {
    if (!s.alive || this.closed) {
      this.open--;
      if (this.closed) s.close();
      this.waiting.shift()?.(undefined);
      return;
    }
    const w = this.waiting.shift();
    if (w) w(s);
    else this.idle.push(s);
  }

  close(): void {
    this.closed = true;
    for (const s of this.idle.splice(0)) s.close();
    for (const w of this.waiting.splice(0)) w(undefined);
  }

  // ---- the group --------------------------------------------------------------------

  async groupInfo(): Promise<EqlGroupInfo> {
    const g = parseDetail(await this.run('grpparams show'));
    const members = parseTable(await this.run('member show'));
    const first = members[0]?.Name;
    if (!first) throw new EqlError('cli', 'the group lists no member');
    const m = parseDetail(await this.run(`member select ${q(first)} show`));
    const iscsiPort = Number(g.get('iSCSI-Port') ?? '');
    return {
      groupName: field(g, 'Name'), address: g.get('Group-Ipaddress') ?? '', firmware: field(m, 'Version'), serial: m.get('Serial-Number') ?? '',
      ...(Number.isInteger(iscsiPort) && iscsiPort > 0 ? { iscsiPort } : {}),
    };
  }

  async poolInfo(pool: string): Promise<EqlPoolInfo> {
    const p = parseDetail(await this.run(`pool select ${q(pool)} show`));
    return { name: field(p, 'Name'), total: parseEqlSize(field(p, 'TotalCapacity')), free: parseEqlSize(field(p, 'FreeSpace')), volumes: Number(p.get('TotalVolumes') ?? 0) };
  }

  async pools(): Promise<string[]> {
    return parseTable(await this.run('pool show')).map((r) => r.Name!).filter(Boolean);
  }

  // ---- volumes ----------------------------------------------------------------------

  async volumeNames(): Promise<string[]> {
    return parseTable(await this.run('volume show')).map((r) => r.Name!).filter(Boolean);
  }

  async volume(name: string): Promise<EqlVolume> {
    const d = parseDetail(await this.run(`volume select ${q(name)} show`));
    return {
      name: field(d, 'Name'), size: parseEqlSize(field(d, 'Size')), reserve: parseEqlSize(field(d, 'VolReserve')),
      inUse: parseEqlSize(field(d, 'VolReserveInUse')), iqn: field(d, 'iSCSI Name'), thin: d.get('Thin-Provision') === 'enabled',
      online: field(d, 'Status') === 'online', snapshots: Number(field(d, 'Snapshots')),
      snapReservePct: Number(/^(\d+)/.exec(field(d, 'Snap-Reserve'))?.[1] ?? 0), description: d.get('Description') ?? '', pool: d.get('Pool') ?? '',
    };
  }

  /** Creates a volume; resolves with its target IQN. */
  async createVolume(o: { name: string; sizeMiB: number; pool: string; thin: boolean; description?: string; snapReservePct?: number }): Promise<string> {
    const out = await this.run(
      `volume create ${q(o.name)} ${o.sizeMiB}MB pool ${q(o.pool)}${o.thin ? ' thin-provision' : ''}` +
        `${o.snapReservePct !== undefined ? ` snap-reserve ${o.snapReservePct}%` : ''}${o.description ? ` description ${q(o.description)}` : ''}`,
    );
    return iqnFrom(out);
  }

  async setVolume(name: string, setting: string): Promise<void> {
    await this.run(`volume select ${q(name)} ${setting}`);
  }

  async deleteVolume(name: string): Promise<void> {
    await this.run(`volume select ${q(name)} offline`);
    await this.run(`volume delete ${q(name)}`);
  }

  async cloneVolume(name: string, newName: string, description?: string): Promise<string> {
    return iqnFrom(await this.run(`volume select ${q(name)} clone ${q(newName)}${description ? ` description ${q(description)}` : ''}`));
  }

  // ---- snapshots --------------------------------------------------------------------

  /** Takes a snapshot now and gives it `newName`; resolves with the name the array gave first if renaming failed. */
  async snapshot(volume: string, newName: string, description?: string): Promise<void> {
    const out = await this.run(`volume select ${q(volume)} snapshot create-now${description ? ` description ${q(description)}` : ''}`);
    const made = /Snapshot name is (\S+?)\.?$/m.exec(out)?.[1];
    if (!made) throw new EqlError('cli', `the group did not name the new snapshot: ${out.trim()}`);
    try {
      await this.run(`volume select ${q(volume)} snapshot rename ${q(made)} ${q(newName)}`);
    } catch (e) {
      await this.run(`volume select ${q(volume)} snapshot delete ${q(made)}`).catch(() => undefined);
      throw e;
    }
  }

  async snapshots(volume: string): Promise<EqlSnapshot[]> {
    return parseTable(await this.run(`volume select ${q(volume)} snapshot show`)).map((r) => ({ name: r.Name!, status: r.Status ?? '' }));
  }

  async snapshotDetail(volume: string, snap: string): Promise<{ iqn: string; online: boolean; description: string; size: number; timestamp?: string }> {
    const d = parseDetail(await this.run(`volume select ${q(volume)} snapshot select ${q(snap)} show`));
    const ts = d.get('Timestamp');
    return {
      iqn: field(d, 'iSCSI Name'), online: field(d, 'Status') === 'online', description: d.get('Description') ?? '', size: parseEqlSize(field(d, 'Size')),
      ...(ts ? { timestamp: ts } : {}),
    };
  }

  async setSnapshot(volume: string, snap: string, setting: 'online' | 'offline'): Promise<void> {
    await this.run(`volume select ${q(volume)} snapshot select ${q(snap)} ${setting}`);
  }

  async deleteSnapshot(volume: string, snap: string): Promise<void> {
    await this.run(`volume select ${q(volume)} snapshot delete ${q(snap)}`);
  }

  async cloneSnapshot(volume: string, snap: string, newName: string, description?: string): Promise<string> {
    return iqnFrom(await this.run(`volume select ${q(volume)} snapshot select ${q(snap)} clone ${q(newName)}${description ? ` description ${q(description)}` : ''}`));
  }

  // ---- access -----------------------------------------------------------------------

  async access(volume: string): Promise<EqlAccess[]> {
    return parseTable(await this.run(`volume select ${q(volume)} access show`)).map((r) => ({
      id: Number(r.ID), initiator: r.Initiator ?? '', authMethod: r.AuthMethod ?? '', userName: r.UserName ?? '', applyTo: r['Apply-To'] ?? '',
    }));
  }

  async addAccess(volume: string, initiator: string, chapUser?: string): Promise<number> {
    const out = await this.run(`volume select ${q(volume)} access create initiator ${q(initiator)}${chapUser ? ` authmethod chap username ${q(chapUser)}` : ''} apply-to both`);
    const id = /ID (\d+)/.exec(out)?.[1];
    if (!id) throw new EqlError('cli', `the group did not number the access record: ${out.trim()}`);
    return Number(id);
  }

  async deleteAccess(volume: string, id: number): Promise<void> {
    await this.run(`volume select ${q(volume)} access delete ${id}`);
  }
}

function iqnFrom(out: string): string {
  const iqn = /iSCSI target name is (\S+?)\.?$/m.exec(out)?.[1];
  if (!iqn) throw new EqlError('cli', `the group did not give the new volume's target name: ${out.trim()}`);
  return iqn;
}
