/**
 * @module
 * One Group Manager CLI session: the command subset Islet uses, read as the array reads
 * it (keywords, a volume context entered by `volume select NAME`, quoted arguments), with
 * the session settings (`cli-settings confirmation|paging|formatoutput|events|displayinMB`,
 * `stty columns`) and the array's messages and `% Error - …` lines. With confirmation on,
 * deletions ask `(y/n) [n]` first; with paging on, long output stops at a
 * `Press any key to continue (Q to quit)` line until a key comes.
 */
import { detailBlock, table } from './cli-output.js';
import { GroupError, type GroupModel, type Volume } from './group-model.js';
import { formatCliSize, parseCliSize } from './size-text.js';

export interface CliReply {
  readonly lines: string[];
  /** A question whose answer (the next line) decides; the session waits for it. */
  readonly ask?: { readonly prompt: string; readonly answer: (yes: boolean) => Promise<string[]> };
  readonly exit?: boolean;
}

export function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2]!);
  return out;
}

const err = (text: string): never => {
  throw new GroupError(text);
};

export class CliSession {
  context: string | undefined;
  readonly settings = { confirmation: true, paging: true, formatoutput: true, events: true, displayinMB: false };
  columns = 80;

  constructor(readonly group: GroupModel, readonly hooks: { connections?: (iqn: string) => number } = {}) {}

  prompt(): string {
    return this.context ? `${this.group.state.groupName} (volume_${this.context})> ` : `${this.group.state.groupName}> `;
  }

  size(bytes: number): string {
    return this.settings.displayinMB ? `${Math.ceil(bytes / 1048576)}MB` : formatCliSize(bytes);
  }

  async run(line: string): Promise<CliReply> {
    const t = tokenize(line);
    if (!t.length) return { lines: [] };
    try {
      if (this.context) {
        if (t[0] === 'exit') { this.context = undefined; return { lines: [] }; }
        // The volume may have gone (deleted by another session): leave its context.
        if (!this.group.state.volumes.some((v) => v.name === this.context)) { this.context = undefined; err('Volume does not exist.'); }
        return await this.volumeCommand(this.group.volume(this.context!), t);
      }
      return await this.topCommand(t);
    } catch (e) {
      if (e instanceof GroupError) return { lines: [`% Error - ${e.message}`] };
      throw e;
    }
  }

  private async topCommand(t: string[]): Promise<CliReply> {
    const [cmd, sub] = t;
    switch (cmd) {
      case 'exit': case 'logout': return { lines: [], exit: true };
      case 'cli-settings': {
        const key = sub as keyof CliSession['settings'];
        if (!(key in this.settings) || !['on', 'off'].includes(t[2] ?? '')) err('Invalid cli-settings argument.');
        this.settings[key] = t[2] === 'on';
        return { lines: [] };
      }
      case 'stty': {
        if (sub === 'columns' && /^\d+$/.test(t[2] ?? '')) this.columns = Number(t[2]);
        else if (sub !== 'hardwrap' && sub !== 'rows') err('Invalid stty argument.');
        return { lines: [] };
      }
      case 'grpparams':
        if (sub === 'info-messages') return { lines: [] };
        if (sub === 'show') return { lines: this.grpparams() };
        return err(`Invalid grpparams command ${sub ?? ''}.`.trim());
      case 'member': return { lines: this.member(t) };
      case 'pool': return { lines: this.poolCommand(t) };
      case 'volume': return this.volumeTop(t);
      case 'chapuser': return { lines: this.chapuser(t) };
      default: return err(`Unknown command ${cmd}.`);
    }
  }

  private grpparams(): string[] {
    const s = this.group.state;
    return detailBlock('Group Information', [
      ['Name', s.groupName], ['Group-Ipaddress', this.group.address], ['Def-Snap-Reserve', '100%'],
      ['Def-Snap-Warn', '10%'], ['Def-Snap-Depletion', 'delete-oldest'], ['Def-Thin-Growth-Warn', '60%'],
      ['Def-Thin-Growth-Max', '100%'], ['Description', ''], ['Location', 'default'], ['Info-Messages', 'disabled'],
      ['Def-Iscsi-Prefix', 'iqn.2001-05.com.equallogic'], ['Discovery-Use-Chap', 'disabled'],
      // A real group serves iSCSI on 3260; a simulated one on loopback says where it is.
      ...(this.group.iscsiPort && this.group.iscsiPort !== 3260 ? [['iSCSI-Port', String(this.group.iscsiPort)] as [string, string]] : []),
    ]);
  }

  private member(t: string[]): string[] {
    const s = this.group.state;
    const total = s.pools.reduce((a, p) => a + p.size, 0);
    const free = s.pools.reduce((a, p) => a + this.group.poolFree(p.name), 0);
    const version = /^[Vv]/.test(s.firmware) ? s.firmware : `V${s.firmware}`;
    if (t[1] === 'show' && t.length === 2) {
      return table(
        [{ header: 'Name', width: 15 }, { header: 'Status', width: 7 }, { header: 'Version', width: 10 }, { header: 'Disks', width: 5 }, { header: 'Capacity', width: 10 }, { header: 'FreeSpace', width: 10 }, { header: 'Connections', width: 11 }],
        [[s.memberName, 'online', version.split(' ')[0]!, '16', this.size(total), this.size(free), '0']],
      );
    }
    if (t[1] === 'select' && t[2] === s.memberName && (t[3] === 'show' || t.length === 3)) {
      return detailBlock('Member Information', [
        ['Name', s.memberName], ['Status', 'online'], ['TotalSpace', this.size(total)], ['UsedSpace', this.size(total - free)],
        ['SnapSpace', '0MB'], ['Description', ''], ['Def-Gateway', ''], ['Serial-Number', s.serial], ['Disks', '16'],
        ['Spares', '1'], ['Controllers', '2'], ['CacheMode', 'write-back'], ['Connections', '0'], ['RaidStatus', 'ok'],
        ['HealthStatus', 'normal'], ['Version', version], ['Pool', s.pools[0]?.name ?? 'default'],
      ]);
    }
    if (t[1] === 'select') return err(`Member ${t[2] ?? ''} does not exist.`);
    return err('Invalid member command.');
  }

  private poolCommand(t: string[]): string[] {
    const g = this.group;
    if (t[1] === 'show' && t.length === 2) {
      return table(
        [{ header: 'Name', width: 20 }, { header: 'Default', width: 7 }, { header: 'Members', width: 7 }, { header: 'Volumes', width: 7 }, { header: 'Capacity', width: 10 }, { header: 'FreeSpace', width: 10 }],
        g.state.pools.map((p, i) => [p.name, i === 0 ? 'true' : 'false', '1', String(g.state.volumes.filter((v) => v.pool === p.name).length), this.size(p.size), this.size(g.poolFree(p.name))]),
      );
    }
    if (t[1] === 'select' && t[2] && (t[3] === 'show' || t.length === 3)) {
      const p = g.pool(t[2]);
      const vols = g.state.volumes.filter((v) => v.pool === p.name);
      return detailBlock('Pool Information', [
        ['Name', p.name], ['Default', p === g.state.pools[0] ? 'true' : 'false'], ['Description', ''],
        ['TotalCapacity', this.size(p.size)], ['FreeSpace', this.size(g.poolFree(p.name))],
        ['VolumeReportedSpace', this.size(vols.reduce((a, v) => a + v.size, 0))],
        ['VolumeReserve', this.size(vols.reduce((a, v) => a + g.volReserve(v), 0))],
        ['VolumeInUse', this.size(vols.reduce((a, v) => a + g.inUse(v), 0))],
        ['SnapReserve', this.size(vols.reduce((a, v) => a + g.snapReserve(v), 0))],
        ['SnapInUse', this.size(vols.reduce((a, v) => a + g.snapInUse(v), 0))],
        ['TotalVolumes', String(vols.length)], ['TotalSnapshots', String(vols.reduce((a, v) => a + v.snapshots.length, 0))],
        ['Members', '1'],
      ]);
    }
    return err('Invalid pool command.');
  }

  private async volumeTop(t: string[]): Promise<CliReply> {
    const g = this.group;
    switch (t[1]) {
      case 'show':
        if (t[2]) return { lines: this.volumeDetail(g.volume(t[2])) };
        return {
          lines: table(
            [{ header: 'Name', width: 15 }, { header: 'Size', width: 10 }, { header: 'SnapShots', width: 9 }, { header: 'Status', width: 14 }, { header: 'Permission', width: 10 }, { header: 'Connections', width: 11 }, { header: 'T', width: 1 }],
            g.state.volumes.map((v) => [v.name, this.size(v.size), String(v.snapshots.length), v.online ? 'online' : 'offline', 'read-write', String(this.hooks.connections?.(v.iqn) ?? 0), v.thin ? 'Y' : 'N']),
          ),
        };
      case 'create': {
        const [name, sizeText, ...opts] = t.slice(2);
        if (!name || !sizeText) return err('Volume name and size are required.');
        const size = parseCliSize(sizeText);
        if (size === undefined) return err(`Invalid size ${sizeText}.`);
        let pool = g.state.pools[0]?.name ?? 'default';
        let thin = false;
        let description = '';
        let snapReservePct: number | undefined;
        for (let i = 0; i < opts.length; i++) {
          const o = opts[i];
          if (o === 'pool') pool = opts[++i] ?? err('pool needs a name.');
          else if (o === 'thin-provision') thin = true;
          else if (o === 'description') description = opts[++i] ?? '';
          else if (o === 'snap-reserve') snapReservePct = percent(opts[++i]);
          else return err(`Invalid argument ${o}.`);
        }
        const v = await g.createVolume({ name, size, pool, thin, description, ...(snapReservePct !== undefined ? { snapReservePct } : {}) });
        return { lines: ['Volume creation succeeded.', `iSCSI target name is ${v.iqn}.`] };
      }
      case 'delete': {
        const name = t[2] ?? err('Volume name is required.');
        const v = g.volume(name);
        const doit = async () => { await g.deleteVolume(v.name); return ['Volume deletion succeeded.']; };
        if (this.settings.confirmation) {
          return { lines: [], ask: { prompt: `Do you really want to delete the volume? (y/n) [n]`, answer: async (yes) => (yes ? doit() : []) } };
        }
        return { lines: await doit() };
      }
      case 'select': {
        const v = g.volume(t[2] ?? err('Volume name is required.'));
        if (t.length === 3) { this.context = v.name; return { lines: [] }; }
        return this.volumeCommand(v, t.slice(3));
      }
      default: return err('Invalid volume command.');
    }
  }

  volumeDetail(v: Volume): string[] {
    const g = this.group;
    const reserve = g.volReserve(v);
    const snapReserve = g.snapReserve(v, reserve);
    const fields: Array<[string, string]> = [
      ['Name', v.name], ['Size', this.size(v.size)], ['VolReserve', this.size(reserve)],
      ['VolReserveInUse', this.size(g.inUse(v))], ['ReplReserveInUse', '0MB'], ['iSCSI Alias', v.name], ['iSCSI Name', v.iqn],
      ['ActualMembers', '1'], ['Snap-Warn', `${v.snapWarnPct}%`], ['Snap-Depletion', v.snapDepletion], ['Description', v.description],
      ['Snap-Reserve', `${v.snapReservePct}%`],
      ['Snap-Reserve-Avail', `${snapReserve ? Math.floor(((snapReserve - g.snapInUse(v)) * 100) / snapReserve) : 0}% (${this.size(Math.max(0, snapReserve - g.snapInUse(v)))})`],
      ['Permission', 'read-write'], ['DesiredStatus', v.online ? 'online' : 'offline'], ['Status', v.online ? 'online' : 'offline'],
      ['Connections', String(this.hooks.connections?.(v.iqn) ?? 0)], ['Snapshots', String(v.snapshots.length)], ['Bind', ''],
      ['Type', 'not-replicated'], ['ReplicationReserveSpace', '0MB'], ['Pool', v.pool], ['MultiHost-Access', v.multihost ? 'enabled' : 'disabled'],
      ['Thin-Provision', v.thin ? 'enabled' : 'disabled'],
    ];
    if (v.thin) {
      const pct = (p: number) => `${p}% (${this.size(Math.ceil((v.size * p) / 100 / 1048576) * 1048576)})`;
      fields.push(['Thin-Min-Reserve', pct(v.thinMinReservePct)], ['Thin-Growth-Warn', pct(v.thinWarnPct)], ['Thin-Growth-Max', pct(100)]);
    }
    return detailBlock('Volume Information', fields);
  }

  private async volumeCommand(v: Volume, t: string[]): Promise<CliReply> {
    const g = this.group;
    switch (t[0]) {
      case 'show':
        if (t.length === 1) return { lines: this.volumeDetail(v) };
        return err('Invalid show argument.');
      case 'offline': v.online = false; g.save(); return { lines: [] };
      case 'online': v.online = true; g.save(); return { lines: [] };
      case 'size': {
        const size = parseCliSize(t[1] ?? '') ?? err(`Invalid size ${t[1] ?? ''}.`);
        await g.resizeVolume(v.name, size);
        return { lines: [] };
      }
      case 'multihost-access':
        if (t[1] !== 'enable' && t[1] !== 'disable') return err('Invalid multihost-access argument.');
        v.multihost = t[1] === 'enable'; g.save(); return { lines: [] };
      case 'snap-reserve': v.snapReservePct = percent(t[1]); g.save(); return { lines: [] };
      case 'snap-depletion':
        if (t[1] !== 'delete-oldest' && t[1] !== 'volume-offline') return err('Invalid snap-depletion argument.');
        v.snapDepletion = t[1]; g.save(); return { lines: [] };
      case 'description': v.description = t.slice(1).join(' '); g.save(); return { lines: [] };
      case 'clone': {
        const name = t[1] ?? err('Clone name is required.');
        const c = await g.clone(v, name, undefined, t[2] === 'description' ? (t[3] ?? '') : '');
        return { lines: ['Volume creation succeeded.', `iSCSI target name is ${c.iqn}.`] };
      }
      case 'snapshot': return this.snapshotCommand(v, t.slice(1));
      case 'access': return { lines: this.accessCommand(v, t.slice(1)) };
      default: return err(`Unknown command ${t[0]}.`);
    }
  }

  private async snapshotCommand(v: Volume, t: string[]): Promise<CliReply> {
    const g = this.group;
    switch (t[0]) {
      case 'create-now': {
        const s = await g.createSnapshot(v, t[1] === 'description' ? (t[2] ?? '') : '');
        return { lines: ['Snapshot creation succeeded.', `Snapshot name is ${s.name}.`] };
      }
      case 'rename': g.renameSnapshot(v, t[1] ?? err('Snapshot name is required.'), t[2] ?? err('New name is required.')); return { lines: [] };
      case 'delete': {
        const s = g.snapshot(v, t[1] ?? err('Snapshot name is required.'));
        const doit = async () => { await g.deleteSnapshot(v, s.name); return ['Snapshot deletion succeeded.']; };
        if (this.settings.confirmation) return { lines: [], ask: { prompt: 'Do you really want to delete the snapshot? (y/n) [n]', answer: async (yes) => (yes ? doit() : []) } };
        return { lines: await doit() };
      }
      case 'show':
        return {
          lines: table(
            [{ header: 'Name', width: 30 }, { header: 'Permission', width: 10 }, { header: 'Status', width: 14 }, { header: 'Connections', width: 11 }],
            v.snapshots.map((s) => [s.name, 'read-write', s.online ? 'online' : 'offline', String(this.hooks.connections?.(s.iqn) ?? 0)]),
          ),
        };
      case 'select': {
        const s = g.snapshot(v, t[1] ?? err('Snapshot name is required.'));
        switch (t[2]) {
          case 'show': return {
            lines: detailBlock('Snapshot Information', [
              ['Name', s.name], ['Timestamp', s.created], ['Description', s.description], ['Size', this.size(g.store.size(s.storeId))],
              ['iSCSI Name', s.iqn], ['Permission', 'read-write'], ['Status', s.online ? 'online' : 'offline'],
              ['Connections', String(this.hooks.connections?.(s.iqn) ?? 0)],
            ]),
          };
          case 'online': s.online = true; g.save(); return { lines: [] };
          case 'offline': s.online = false; g.save(); return { lines: [] };
          case 'clone': {
            const c = await g.clone(v, t[3] ?? err('Clone name is required.'), s, t[4] === 'description' ? (t[5] ?? '') : '');
            return { lines: ['Volume creation succeeded.', `iSCSI target name is ${c.iqn}.`] };
          }
          default: return err('Invalid snapshot select command.');
        }
      }
      default: return err('Invalid snapshot command.');
    }
  }

  private accessCommand(v: Volume, t: string[]): string[] {
    const g = this.group;
    switch (t[0]) {
      case 'create': {
        const r = { initiator: '', ipaddress: '*.*.*.*', authmethod: 'none' as 'none' | 'chap', username: '', applyTo: 'both' as 'volume' | 'snapshot' | 'both' };
        for (let i = 1; i < t.length; i++) {
          const k = t[i];
          const val = t[++i] ?? err(`${k} needs a value.`);
          if (k === 'initiator') r.initiator = val;
          else if (k === 'ipaddress') r.ipaddress = val;
          else if (k === 'authmethod') { if (val !== 'chap' && val !== 'none') err('Invalid authmethod.'); r.authmethod = val as 'chap' | 'none'; }
          else if (k === 'username') { r.username = val; r.authmethod = 'chap'; }
          else if (k === 'apply-to') { if (!['volume', 'snapshot', 'both'].includes(val)) err('Invalid apply-to.'); r.applyTo = val as 'both'; }
          else err(`Invalid argument ${k}.`);
        }
        if (!r.initiator && !r.username && r.ipaddress === '*.*.*.*') err('An access control record needs an initiator, an IP address or a CHAP user.');
        const rec = g.addAccess(v, r);
        return [`Access control record created with ID ${rec.id}.`];
      }
      case 'delete': g.deleteAccess(v, Number(t[1])); return ['Access control record deletion succeeded.'];
      case 'show':
        return table(
          [{ header: 'ID', width: 3 }, { header: 'Initiator', width: 15 }, { header: 'Ipaddress', width: 13 }, { header: 'AuthMethod', width: 10 }, { header: 'UserName', width: 10 }, { header: 'Apply-To', width: 8 }],
          v.access.map((a) => [String(a.id), a.initiator, a.ipaddress, a.authmethod, a.username, a.applyTo]),
        );
      default: return err('Invalid access command.');
    }
  }

  private chapuser(t: string[]): string[] {
    const s = this.group.state;
    if (t[1] === 'create' && t[2]) {
      if (s.chapUsers.some((u) => u.name === t[2])) err(`CHAP user ${t[2]} already exists.`);
      const password = t[3] === 'password' && t[4] ? t[4] : Math.random().toString(36).slice(2, 14);
      s.chapUsers.push({ name: t[2], password, enabled: true });
      this.group.save();
      return [`Password is ${password}`];
    }
    if (t[1] === 'delete' && t[2]) {
      if (!s.chapUsers.some((u) => u.name === t[2])) err(`CHAP user ${t[2]} does not exist.`);
      s.chapUsers = s.chapUsers.filter((u) => u.name !== t[2]);
      this.group.save();
      return ['CHAP user deletion succeeded.'];
    }
    if (t[1] === 'show') return table([{ header: 'Name', width: 20 }, { header: 'Password', width: 20 }, { header: 'Status', width: 8 }], s.chapUsers.map((u) => [u.name, u.password, u.enabled ? 'enable' : 'disable']));
    return err('Invalid chapuser command.');
  }
}

function percent(text: string | undefined): number {
  const m = /^(\d{1,4})%?$/.exec(text ?? '');
  if (!m) throw new GroupError(`Invalid percentage ${text ?? ''}.`);
  return Number(m[1]);
}
