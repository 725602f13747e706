/**
 * @module
 * VDIs over NBD, the toolstack's side: `VDI.get_nbd_info` (one entry per host that has the
 * disk's SR plugged and serves NBD, as xapi answers it), the export name it hands out
 * (`/<vdi-uuid>?session_id=<session ref>`, so the caller's session authorises the
 * connection), and what a connection to that name may do. Each host's NBD server resolves
 * names through `api/nbd-exports.ts`; this module only holds the policy.
 *
 * Access, decided when a connection asks for the export: snapshots, read-only disks, hidden
 * base copies and disks the storage holds read-only are served read-only; so is a disk a
 * running VM has plugged read-write (reading it is safe; a second writer would corrupt the
 * guest's file system). Any other disk is served read-write. NBD is off until a network has purpose `nbd` (TLS required) or
 * `insecure_nbd` (TLS optional); see `network.ts`.
 */
import { ApiError } from '../../core/api-error.js';
import type { NbdEndpointInfo } from '../../core/ports/nbd-endpoint.js';
import type { Row } from '../../core/ports/pool-db.js';
import type { RecordOf } from '../../core/record-of.js';
import type { Ref } from '../../core/ref.js';
import type { ActionArgs, ActionContext } from '../../core/action-context.js';
import { NbdMode, nbdMode } from '../network/index.js';
import { mustRow } from '../common/storage-access.js';
import type { ActionsOf } from '../../core/actions-of.js';

export { NbdMode, nbdMode };

/** The export name that opens `vdiUuid` with the rights of `session`. */
export function nbdExportName(vdiUuid: string, session: string): string {
  return `/${vdiUuid}?session_id=${session}`;
}

/** The VDI uuid and session an export name carries (the leading slash is optional). */
export function parseNbdExportName(name: string): { vdiUuid: string; session: string } | undefined {
  const q = name.indexOf('?');
  if (q < 0) return undefined;
  const vdiUuid = name.slice(0, q).replace(/^\/+/, '');
  const session = new URLSearchParams(name.slice(q + 1)).get('session_id');
  if (!vdiUuid || !session) return undefined;
  return { vdiUuid, session };
}

const RUNNING = new Set(['Running', 'Paused']);

/** Why a connection to `vdi` is served read-only, or undefined when it may write. */
export function nbdReadOnlyReason(db: ActionContext['db'], vdi: RecordOf<'VDI'>): string | undefined {
  if (vdi.is_a_snapshot === true) return 'a snapshot';
  if (vdi.read_only === true) return 'a read-only disk';
  if (vdi.managed === false) return 'a base copy';
  for (const vbdRef of vdi.VBDs ?? []) {
    const vbd = db.get('VBD', vbdRef);
    if (!vbd || vbd.currently_attached !== true || vbd.mode !== 'RW') continue;
    const vm = db.get('VM', vbd.VM);
    if (vm && RUNNING.has(String(vm.power_state))) return `in use by running VM ${String(vm.uuid)}`;
  }
  return undefined;
}

/** This host's endpoint as a map, the form `VDI.islet_nbd_endpoint` answers with. */
function endpointHere(ctx: ActionContext): Record<string, string> {
  const info = ctx.services.nbd?.info();
  if (!info) return {};
  return { port: String(info.port), address: info.address, cert: info.cert, subject: info.subject };
}

async function endpointOf(ctx: ActionContext, host: Ref<'host'>): Promise<NbdEndpointInfo | undefined> {
  let m: Record<string, string>;
  if (host === ctx.services.hostRef) m = endpointHere(ctx);
  else {
    const link = ctx.services.pool;
    if (!link) return undefined;
    try {
      m = (await link.callOnHost(host, 'VDI.islet_nbd_endpoint', [host])) as Record<string, string>;
    } catch {
      return undefined; // an unreachable host serves nobody: leave it out, as for a host without NBD
    }
  }
  const port = Number(m?.port);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return { port, address: m.address ?? '', cert: m.cert ?? '', subject: m.subject ?? '' };
}

async function getNbdInfo(ctx: ActionContext, a: ActionArgs): Promise<Row[]> {
  const self = a.self;
  const vdi = mustRow(ctx, 'VDI', self);
  if (vdi.type === 'cbt_metadata') throw new ApiError('VDI_INCOMPATIBLE_TYPE', [self, 'cbt_metadata']);
  if (nbdMode(ctx.db) === NbdMode.off || !ctx.session) return [];
  const exportname = nbdExportName(String(vdi.uuid), ctx.session.ref);
  const sr = mustRow(ctx, 'SR', vdi.SR);
  const hosts = new Set<Ref<'host'>>();
  for (const p of sr.PBDs) {
    const pbd = ctx.db.get('PBD', p);
    if (pbd?.currently_attached === true) hosts.add(pbd.host);
  }
  const out: Row[] = [];
  for (const host of hosts) {
    const ep = await endpointOf(ctx, host);
    const row = ctx.db.get('host', host);
    if (!ep || !row) continue;
    const address = ep.address || String(row.address || '');
    if (!address) continue;
    out.push({ exportname, address, port: ep.port, cert: ep.cert, subject: ep.subject || String(row.hostname ?? '') });
  }
  return out;
}

export const vdiNbdActions = {
  get_nbd_info: getNbdInfo,
  islet_nbd_endpoint: (ctx) => endpointHere(ctx),
} satisfies ActionsOf<'VDI'>;
