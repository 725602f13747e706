/**
 * @module
 * Host administration as XenServer 6.0.2 offers it, each call run on the host it names
 * (`on-host.ts`): the host's name (`set_hostname_live`, the host process being the machine
 * whose name it models), syslog forwarding (`syslog_reconfigure`, applying
 * `host.logging`'s syslog_destination to the toolstack's log router), the status-report
 * capabilities and upload (what `host-logs-download` collects here), the management
 * interface, remote power-on settings, the hypervisor's debug keys, RRD backups and the
 * small calls xapi answers trivially (`sync_data`, `refresh_pack_info`,
 * `get_uncooperative_resident_VMs`) or refuses (`dmesg_clear`, `emergency_ha_disable`
 * with HA off, `local_management_reconfigure` outside emergency mode).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { BASE_STEP } from '../../core/rrd/rrd.js';
import { buildXport, xportXml } from '../../core/rrd/rrd-updates.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { mustRow } from '../common/storage-access.js';
import { domainsOn } from './host-domains.js';
import { isMaster, onHost, thePool } from './on-host.js';

/** xapi's rule: 1 to 255 letters, digits, dots and hyphens, not starting or ending with a hyphen. */
function assertValidHostname(name: string): void {
  if (name.length === 0) throw new ApiError('HOST_NAME_INVALID', ['hostname empty']);
  if (name.length > 255) throw new ApiError('HOST_NAME_INVALID', ['hostname is too long']);
  if (!/^[A-Za-z0-9.-]+$/.test(name) || name.startsWith('-') || name.endsWith('-')) {
    throw new ApiError('HOST_NAME_INVALID', ['hostname contains invalid characters']);
  }
}

const DOM0_PREFIX = 'Control domain on host: ';

function setHostname(ctx: ActionContext, host: Ref<'host'>, name: string): void {
  const row = mustRow(ctx, 'host', host);
  const old = String(row.hostname ?? '');
  ctx.db.transaction(() => {
    // software_version names the host too (see main/product.ts): it follows the new name.
    const sv = { ...(row.software_version ?? {}) } as Record<string, string>;
    if ('hostname' in sv) sv.hostname = name;
    ctx.db.update('host', host, { hostname: name, software_version: sv });
    // The control domain is named after its host unless someone renamed it (as xapi does).
    const dom0 = ctx.db.get('VM', row.control_domain);
    if (dom0 && (dom0.name_label === `${DOM0_PREFIX}${old}` || dom0.name_label === `${DOM0_PREFIX}${String(row.name_label)}`)) {
      ctx.db.update('VM', row.control_domain, { name_label: `${DOM0_PREFIX}${name}` });
    }
  });
}

/**
 * The parts a status report of this host can hold, in xen-bugtool's `--capabilities`
 * form: what host-logs-download and the diagnostics here really collect (the toolstack's
 * log, the hypervisor's console ring, the pool database, the machine's CPU facts).
 */
const CAPABILITIES: ReadonlyArray<{ key: string; pii: 'yes' | 'no' | 'maybe'; checked: boolean; type: string }> = [
  { key: 'xenserver-logs', pii: 'maybe', checked: true, type: 'text/plain' },
  { key: 'xen-info', pii: 'maybe', checked: true, type: 'text/plain' },
  { key: 'xenserver-databases', pii: 'yes', checked: true, type: 'text/plain' },
  { key: 'hardware-info', pii: 'maybe', checked: true, type: 'text/plain' },
];

export function systemStatusCapabilities(): string {
  const lines = CAPABILITIES.map((c) => `\t<capability content-type="${c.type}" default-checked="${c.checked ? 'yes' : 'no'}" key="${c.key}" `
    + `max-size="-1" max-time="-1" min-size="-1" min-time="-1" pii="${c.pii}"/>`);
  return `<?xml version="1.0" ?>\n<system-status-capabilities>\n${lines.join('\n')}\n</system-status-capabilities>\n`;
}

/** Writes this host's RRDs (its own and its running VMs') to `<dataDir>/rrds/<uuid>.xml`. */
async function backupRrds(ctx: ActionContext): Promise<void> {
  const m = ctx.services.metrics;
  if (!m) return;
  const dir = join(ctx.services.dataDir, 'rrds');
  await mkdir(dir, { recursive: true });
  for (const rrd of m.archives?.() ?? []) {
    if (rrd.lastUpdate <= 0) continue;
    await writeFile(join(dir, `${rrd.uuid}.xml`), xportXml(buildXport([rrd], { start: 0, interval: BASE_STEP })));
  }
}

/** How long a status report upload may take, answer included. */
const UPLOAD_TIMEOUT_MS = 120_000;

/** What the status report holds here: the toolstack's recent log (as host-logs-download saves it). */
async function uploadReport(ctx: ActionContext, url: string, options: Record<string, string>): Promise<void> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new ApiError('INTERNAL_ERROR', ['URL not recognised']);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new ApiError('INTERNAL_ERROR', ['URL not recognised']);
  if (options.http_proxy) throw new ApiError('INTERNAL_ERROR', ['Failed to resolve proxy or host']);
  let status: number;
  try {
    // Bounded: a server that accepts the connection and never answers would hold the task.
    const res = await fetch(target, {
      method: 'PUT', body: ctx.services.recentLog?.() ?? '', headers: { 'content-type': 'text/plain' }, signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
    });
    status = res.status;
    await res.arrayBuffer();
  } catch {
    throw new ApiError('INTERNAL_ERROR', ['Failed to connect to host']);
  }
  if (status >= 400) throw new ApiError('INTERNAL_ERROR', [`Upload failed: the server answered HTTP ${status}`]);
}

export const hostAdminActions = {
  set_hostname_live: (ctx, a) => onHost(ctx, a.host, 'host.set_hostname_live', [a.host, a.hostname], () => {
    assertValidHostname(a.hostname);
    setHostname(ctx, a.host, a.hostname);
    return '';
  }),
  syslog_reconfigure: (ctx, a) => onHost(ctx, a.host, 'host.syslog_reconfigure', [a.host], async () => {
    const control = ctx.services.logControl;
    if (!control) throw new ApiError('VALUE_NOT_SUPPORTED', ['host', a.host, 'this toolstack does not route its log']);
    const logging = (mustRow(ctx, 'host', a.host).logging ?? {}) as Record<string, string>;
    await control.setRemoteSyslog(logging.syslog_destination || undefined);
    return '';
  }),
  get_system_status_capabilities: (ctx, a) => onHost(ctx, a.host, 'host.get_system_status_capabilities', [a.host], systemStatusCapabilities),
  management_disable: (ctx) => {
    if (thePool(ctx)[1].ha_enabled === true) throw new ApiError('HA_IS_ENABLED', []);
    // A member must stay reachable by its master.
    if (!isMaster(ctx)) throw new ApiError('SLAVE_REQUIRES_MANAGEMENT_INTERFACE', []);
    const me = ctx.services.hostRef;
    ctx.db.transaction(() => {
      for (const [ref, pif] of ctx.db.all('PIF')) if (pif.host === me && pif.management === true) ctx.db.update('PIF', ref, { management: false });
    });
    return '';
  },
  // Only a member cut off from its master may do this; the pool link does not report such a
  // state to the actions, and the master is never in it.
  local_management_reconfigure: () => {
    throw new ApiError('NOT_IN_EMERGENCY_MODE', []);
  },
  set_power_on_mode: (ctx, a) => {
    const row = mustRow(ctx, 'host', a.self);
    const old = (row.power_on_config ?? {}) as Record<string, string>;
    const kept = new Set(Object.values(a.power_on_config));
    ctx.db.transaction(() => {
      ctx.db.update('host', a.self, { power_on_mode: a.power_on_mode, power_on_config: a.power_on_config });
      // Secrets the old settings held passwords in go with them, as xapi cleans them out.
      for (const [k, uuid] of Object.entries(old)) {
        if (!k.endsWith('password_secret') || kept.has(uuid)) continue;
        const secret = ctx.db.refByUuid('secret', uuid);
        if (secret) ctx.db.remove('secret', secret);
      }
    });
    return '';
  },
  dmesg_clear: (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    throw new ApiError('NOT_IMPLEMENTED', ['dmesg_clear']);
  },
  send_debug_keys: async (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    const host = a.host;
    await mapHypervisorErrors({ host }, () => domainsOn(ctx, host).debugKeys(a.keys));
    return '';
  },
  // The database reaches every host by replication as it changes; RRDs stay with the host
  // that samples them; blob data stays on the master (docs/compatibility.md). Nothing is
  // left to copy.
  sync_data: (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    return '';
  },
  backup_rrds: (ctx, a) => onHost(ctx, a.host, 'host.backup_rrds', [a.host, a.delay], () => {
    // Scheduled, as xapi does: the call returns at once, and a failed backup has no caller
    // left to tell (xapi only logs it).
    const timer = setTimeout(() => void backupRrds(ctx).catch(() => undefined), Math.max(0, a.delay) * 1000);
    timer.unref();
    return '';
  }),
  // software_version lists installed supplemental packs; none can be installed here.
  refresh_pack_info: (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    return '';
  },
  // Obsolete in xapi, which answers an empty list.
  get_uncooperative_resident_VMs: (ctx, a) => {
    mustRow(ctx, 'host', a.self);
    return [];
  },
  emergency_ha_disable: (ctx) => {
    if (thePool(ctx)[1].ha_enabled !== true) throw new ApiError('HA_NOT_ENABLED', []);
    return '';
  },
  bugreport_upload: async (ctx, a) => {
    if (a.url === '') throw new ApiError('INVALID_VALUE', ['url', '']);
    return onHost(ctx, a.host, 'host.bugreport_upload', [a.host, a.url, a.options], async () => {
      await uploadReport(ctx, a.url, a.options);
      return '';
    });
  },
} satisfies ActionsOf<'host'>;
