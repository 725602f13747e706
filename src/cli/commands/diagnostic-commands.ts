/**
 * @module
 * xe's diagnostics and logs, all through XenAPI: `diagnostic-vm-status uuid=` (the VM's
 * state and possible hosts, each disk drive and whether it is attachable, whether the VM
 * can boot on each host and why not, whether it is agile), `diagnostic-vdi-status uuid=`
 * (the disk and its active and inactive drives), `log-get` (the recent log of the host xe
 * talks to, `host.get_log`), `log-set-output output= [key=] [level=]`, `log-get-keys` and
 * `log-reopen` (that toolstack's log outputs, `host.islet_log_*`), and `host-logs-download
 * [file-name=] <host-selectors>` (each selected host's recent log saved to a file:
 * `file-name`, or `logs-<UTC time>`, suffixed with the host's name when there are several). `diagnostic-timing-stats` (every host's
 * per-call timings), `diagnostic-gc-stats` and `diagnostic-compact` (the selected hosts'
 * toolstack heaps) and `diagnostic-db-stats` (the master's database) come from
 * `host.islet_diagnostics`: the toolstack is not OCaml, so its figures are its own.
 */
import { writeFile } from 'node:fs/promises';
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { fetchByUuid } from '../record-filter.js';
import { type CliClass, cliClass, fieldByName, prepare, qualifierSuffix } from '../records.js';
import type { PrintRecord } from '../printer.js';
import type { Row } from '../records.js';
import type { RefResolver } from '../ref-resolver.js';
import { forEachSelected, selectObjects } from '../select.js';
import { XapiCallError } from '../../client/xapi-call-error.js';
import { intoNewFile } from './export-file.js';

/** The named fields of a record as xe prints them (`name ( RO): value`), in that order. */
async function fields(cc: CliClass, row: Row, names: readonly string[], res: RefResolver): Promise<Array<[string, string]>> {
  const fs = names.map((n) => fieldByName(cc, n)).filter((f) => f !== undefined);
  await prepare(fs, [row], res);
  return fs.map((f) => [`${f.name}${qualifierSuffix(f)}`, f.get(row, res)]);
}

/** Why a VM cannot start on a host or be agile, in xe's words. */
async function why(ctx: CommandContext, e: unknown): Promise<string> {
  if (!(e instanceof XapiCallError)) return e instanceof Error ? e.message : String(e);
  const uuidOf = async (cls: string, ref: string | undefined) => String(await ctx.call(`${cls}.get_uuid`, ref).catch(() => ref ?? ''));
  const p = e.params;
  switch (e.code) {
    case 'VM_REQUIRES_SR': return `VM requires access to SR: ${await uuidOf('SR', p[1])}`;
    case 'HOST_DISABLED': return "Host disabled (use 'xe host-enable' to re-enable)";
    case 'HOST_NOT_LIVE': case 'HOST_OFFLINE': return 'Host down';
    case 'HOST_NOT_ENOUGH_FREE_MEMORY': return 'Not enough free memory';
    case 'VM_REQUIRES_NETWORK': return `VM requires access to network: ${await uuidOf('network', p[1])}`;
    case 'INVALID_VALUE': return `Field has invalid value: ${p[0]} = ${p[1]}`;
    case 'HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED':
      return `VM requires access to non-shared SR: ${await uuidOf('SR', p[0])}. SR must both be marked as shared and a properly configured PBD must be plugged-in on every host`;
    case 'HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED':
      return `VM requires access to non-shared Network: ${await uuidOf('network', p[0])}. Network must either be entirely virtual or there must be a PIF connecting to this Network on every host.`;
    default: return `${e.code}: [ ${p.join('; ')} ]`;
  }
}

const VBD_FIELDS = ['uuid', 'userdevice', 'device', 'vdi-uuid', 'empty', 'mode', 'type', 'storage-lock'];

async function vmStatus(ctx: CommandContext): Promise<void> {
  const vmCc = cliClass('vm')!;
  const vbdCc = cliClass('vbd')!;
  const res = ctx.resolver();
  const vm = await fetchByUuid(ctx, vmCc, getParam(ctx.params, 'uuid')!);
  const possible = await Promise.all(((await ctx.call('VM.get_possible_hosts', vm.ref)) as string[]).map((h) => ctx.call('host.get_uuid', h)));
  const head: PrintRecord = [...await fields(vmCc, vm, ['uuid', 'name-label', 'power-state'], res), ['possible-hosts ( RO)', possible.join('; ')]];
  ctx.printer.table([head]);
  ctx.printer.list(['Checking to see whether disks are attachable']);
  for (const vbd of (vm.rec.VBDs ?? []) as string[]) {
    const row = { ref: vbd, rec: (await ctx.call('VBD.get_record', vbd)) as Row['rec'] };
    const attachable = await ctx.call('VBD.assert_attachable', vbd).then(() => 'true', () => 'false');
    ctx.printer.table([[...await fields(vbdCc, row, VBD_FIELDS, res), ['attachable ( RO)', attachable]]]);
  }
  ctx.printer.list(['Checking to see whether VM can boot on each host']);
  const report: Array<[string, string]> = [];
  for (const host of (await ctx.call('host.get_all')) as string[]) {
    const name = String(await ctx.call('host.get_name_label', host));
    report.push([name, await ctx.call('VM.assert_can_boot_here', vm.ref, host).then(() => 'OK', async (e) => `Cannot start here [${await why(ctx, e)}]`)]);
  }
  ctx.printer.table([report]);
  ctx.printer.list([await ctx.call('VM.assert_agile', vm.ref).then(() => 'VM is agile.', async (e) => `VM is not agile because: ${await why(ctx, e)}`)]);
}

async function vdiStatus(ctx: CommandContext): Promise<void> {
  const vdiCc = cliClass('vdi')!;
  const vbdCc = cliClass('vbd')!;
  const res = ctx.resolver();
  const vdi = await fetchByUuid(ctx, vdiCc, getParam(ctx.params, 'uuid')!);
  ctx.printer.table([await fields(vdiCc, vdi, ['uuid', 'name-label', 'sr-uuid', 'mode', 'read-only', 'sharable', 'storage-lock'], res)]);
  const rows: Row[] = [];
  for (const vbd of (vdi.rec.VBDs ?? []) as string[]) rows.push({ ref: vbd, rec: (await ctx.call('VBD.get_record', vbd)) as Row['rec'] });
  const active = rows.filter((r) => r.rec.currently_attached === true);
  const inactive = rows.filter((r) => r.rec.currently_attached !== true);
  const show = async (rs: Row[]) => {
    for (const r of rs) ctx.printer.table([await fields(vbdCc, r, ['uuid', 'userdevice', 'device', 'empty', 'mode', 'type', 'storage-lock'], res)]);
  };
  if (active.length === 0) ctx.printer.list(['no active VBDs.']);
  else {
    ctx.printer.list(['active VBDs:']);
    await show(active);
  }
  if (inactive.length > 0) {
    ctx.printer.list(['inactive VBDs:']);
    await show(inactive);
  }
}

/** xe's default name for downloaded logs: `logs-2026-12-4T193012Z` (month and day unpadded). */
function defaultLogName(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `logs-${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

async function logsDownload(ctx: CommandContext): Promise<void> {
  const base = getParam(ctx.params, 'file-name') ?? defaultLogName();
  const sel = await selectObjects(ctx, 'host', { ignore: ['file-name'] });
  const several = sel.rows.length > 1;
  await forEachSelected(ctx, sel, async (row) => {
    const file = several ? `${base}-${String(row.rec.name_label)}` : base;
    // A new file, as every file xe saves a download in (export-file.ts).
    await intoNewFile(file, async () => writeFile(file, String(await ctx.client.callAsync('host.get_log', row.ref))));
  });
}

const asRecord = (m: unknown): Array<[string, string]> => Object.entries((m ?? {}) as Record<string, string>).map(([k, v]) => [k, String(v)]);

/** diagnostic-timing-stats: one record per host, its uuid and name first (or the error). */
async function timingStats(ctx: CommandContext): Promise<void> {
  const records: PrintRecord[] = [];
  for (const host of (await ctx.call('host.get_all')) as string[]) {
    const head: Array<[string, string]> = [['host-uuid', String(await ctx.call('host.get_uuid', host))],
      ['host-name-label', String(await ctx.call('host.get_name_label', host))]];
    try {
      records.push([...head, ...asRecord(await ctx.call('host.islet_diagnostics', host, 'timing'))]);
    } catch (e) {
      records.push([...head, ['Error', e instanceof XapiCallError ? `${e.code}: [ ${e.params.join('; ')} ]` : String(e)]]);
    }
  }
  ctx.printer.table(records);
}

/** diagnostic-gc-stats and diagnostic-compact on the selected hosts; db-stats on the master. */
async function processFigures(ctx: CommandContext, kind: 'gc' | 'compact' | 'db'): Promise<void> {
  if (kind === 'db') {
    const [pool] = (await ctx.call('pool.get_all')) as string[];
    ctx.printer.table([asRecord(await ctx.call('host.islet_diagnostics', await ctx.call('pool.get_master', pool), 'db'))]);
    return;
  }
  const sel = await selectObjects(ctx, 'host');
  await forEachSelected(ctx, sel, async (row) => {
    const figures = await ctx.call('host.islet_diagnostics', row.ref, kind);
    if (kind === 'gc') ctx.printer.table([asRecord(figures)]);
  });
}

export async function run(ctx: CommandContext): Promise<void> {
  switch (ctx.cmd) {
    case 'diagnostic-timing-stats': return timingStats(ctx);
    case 'diagnostic-gc-stats': return processFigures(ctx, 'gc');
    case 'diagnostic-compact': return processFigures(ctx, 'compact');
    case 'diagnostic-db-stats': return processFigures(ctx, 'db');
    case 'diagnostic-vm-status': return vmStatus(ctx);
    case 'diagnostic-vdi-status': return vdiStatus(ctx);
    case 'host-logs-download': return logsDownload(ctx);
    case 'log-set-output':
      await ctx.call('host.islet_log_set_output', await connectedHost(ctx), getParam(ctx.params, 'output'),
        getParam(ctx.params, 'key') ?? '', getParam(ctx.params, 'level') ?? '');
      return;
    case 'log-get-keys':
      ctx.printer.list((await ctx.call('host.islet_log_get_keys', await connectedHost(ctx))) as string[]);
      return;
    case 'log-reopen':
      await ctx.call('host.islet_log_reopen', await connectedHost(ctx));
      return;
    default:
      // log-get: the log of the host xe is connected to.
      ctx.printer.msg(String(await ctx.client.callAsync('host.get_log', await connectedHost(ctx))).replace(/\n$/, ''));
  }
}

/** The host xe talks to: the master (a member redirects xe to it). */
async function connectedHost(ctx: CommandContext): Promise<string> {
  const [pool] = (await ctx.call('pool.get_all')) as string[];
  return String(await ctx.call('pool.get_master', pool));
}
