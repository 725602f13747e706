/**
 * @module
 * Turns the export name a client asks this host's NBD server for into a disk: the name is
 * what `VDI.get_nbd_info` handed out (`/<vdi-uuid>?session_id=<ref>`), so the session in it
 * must be live (a logged-out session opens nothing more), hold at least vm-admin, and the
 * VDI's SR must be plugged here. The disk is activated for the connection alone, read-only
 * when `actions/vdi-nbd.ts` says so, and its handle closed when the connection ends:
 * closing the handle, not deactivating the disk, releases it, since a running VM or
 * another connection may hold the same disk.
 *
 * On a pool member the session was opened on the master (clients log in there), and
 * sessions live in the memory of the host that opened them, so a session this host does
 * not know is looked up on the master. Every refusal looks the same to the client ("no
 * such export") and is logged here with its reason.
 */
import type { Services } from '../core/action-context.js';
import type { SessionInfo } from '../core/ports/sessions.js';
import { NbdMode, nbdMode, nbdReadOnlyReason, parseNbdExportName } from '../actions/vdi/vdi-nbd.js';
import { onVdiData } from '../actions/vdi/vdi-ops.js';
import type { BlockDevice } from '../core/ports/block-device.js';
import type { ExportContext, ExportHandle } from '../core/ports/nbd-export.js';
import { VdiInUseError, VdiReadOnlyError } from '../core/ports/storage-errors.js';
import type { PoolDb, Row } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import { rolesFrom, type Role } from '../datamodel/roles.js';

/** The parts of the session store the resolver uses. */
export interface NbdSessions {
  validate(ref: unknown): SessionInfo;
  getUser(name: string): { name: string; hash: string; role: Role; subject?: string } | undefined;
  effectiveRole(user: { name: string; hash: string; role: Role; subject?: string }): Role | undefined;
}

export interface NbdExportDeps {
  readonly db: PoolDb;
  readonly sessions: NbdSessions;
  readonly services: Services;
  readonly log?: (msg: string) => void;
}

/** The least role that may open a disk over NBD (that of VDI.get_nbd_info). */
const LEAST: Role = 'vm-admin';

class Refused extends Error {}


/** An export name without its token, for logs. */
export function redactExportName(name: string): string {
  return name.replace(/(session_id=)[^&]*/g, '$1…');
}

async function roleOf(d: NbdExportDeps, sessionRef: string): Promise<{ role: Role; internal: boolean }> {
  try {
    const s = d.sessions.validate(sessionRef);
    return { role: s.role, internal: s.internal };
  } catch {
    // Not a session of this host: on a member, ask the master, which holds the clients' sessions.
  }
  const link = d.services.pool;
  if (!link || link.isMaster()) throw new Refused('the session is not valid');
  const pool = d.db.all('pool')[0]?.[1];
  const master = pool?.master;
  if (!master || master === d.services.hostRef) throw new Refused('the session is not valid');
  let rec: Row;
  try {
    rec = (await link.callOnHost(master, 'session.get_record', [sessionRef])) as Row;
  } catch {
    throw new Refused('the session is not valid on the master');
  }
  if (rec.pool === true) return { role: 'pool-admin', internal: true };
  if (rec.is_local_superuser === true) return { role: 'pool-admin', internal: false };
  const user = d.sessions.getUser(String(rec.auth_user_name ?? ''));
  if (!user) throw new Refused('the session\'s user is unknown here');
  const role = d.sessions.effectiveRole(user);
  if (!role) throw new Refused('the session\'s user holds no role');
  return { role, internal: false };
}

/**
 * Handles being closed, by disk. A connection that opens a disk waits for these first: the
 * last handle's close flushes and closes the disk's chain, and an activation that lands in
 * the middle of that gets a handle on a chain that is going away.
 */
type Releasing = Map<string, Set<Promise<void>>>;

async function open(d: NbdExportDeps, name: string, ctx: ExportContext, releasing: Releasing): Promise<ExportHandle> {
  const mode = nbdMode(d.db);
  if (mode === NbdMode.off) throw new Refused('no network has purpose nbd or insecure_nbd');
  if (mode === NbdMode.tls && !ctx.tls) throw new Refused('TLS is required (a network has purpose nbd)');
  const parsed = parseNbdExportName(name);
  if (!parsed) throw new Refused('the name is not /<vdi-uuid>?session_id=<session>');
  const who = await roleOf(d, parsed.session);
  if (!who.internal && !rolesFrom(LEAST).includes(who.role)) throw new Refused(`role ${who.role} may not open disks`);
  const ref = d.db.refByUuid('VDI', parsed.vdiUuid);
  const vdi = ref ? d.db.get('VDI', ref) : undefined;
  if (!ref || !vdi) throw new Refused(`no VDI ${parsed.vdiUuid}`);
  if (vdi.type === 'cbt_metadata' || vdi.missing === true) throw new Refused(`VDI ${parsed.vdiUuid} has no data to serve`);
  const sr = d.db.get('SR', vdi.SR);
  const attached = sr ? d.services.storage?.attached(String(sr.uuid)) : undefined;
  if (!attached) throw new Refused(`the SR of VDI ${parsed.vdiUuid} is not plugged on this host`);
  const reason = nbdReadOnlyReason(d.db, vdi);
  const uuid = String(vdi.uuid);
  let device: BlockDevice;
  let readOnly = reason !== undefined;
  await Promise.allSettled(releasing.get(uuid) ?? []);
  try {
    device = await attached.activate(uuid, { readOnly });
  } catch (e) {
    // The storage may know better: a disk it keeps read-only, or one another host writes.
    if (readOnly || !(e instanceof VdiReadOnlyError || e instanceof VdiInUseError)) throw e;
    device = await attached.activate(uuid, { readOnly: true });
    readOnly = true;
  }
  const dev = device;
  const release = (): Promise<void> => {
    const set = releasing.get(uuid) ?? new Set();
    releasing.set(uuid, set);
    const p: Promise<void> = dev.close().finally(() => {
      set.delete(p);
      if (!set.size && releasing.get(uuid) === set) releasing.delete(uuid);
    });
    // A write session changed the disk's allocation: bring its space figures up to date,
    // as an import does, rather than leave them until the next SR scan.
    if (!readOnly && !dev.readOnly) {
      const ctx = { services: d.services, db: d.db, session: undefined, task: undefined, peer: 'nbd' };
      void p.then(() => onVdiData(ctx, ref))
        .catch((e: unknown) => d.log?.(`nbd: space figures of VDI ${uuid} not refreshed: ${e instanceof Error ? e.message : String(e)}`));
    }
    set.add(p);
    return p;
  };
  return { device, readOnly: readOnly || device.readOnly, release };
}

/** The resolver to give `NbdServer` as `resolveExport`. */
export function createNbdExportResolver(d: NbdExportDeps): (name: string, ctx: ExportContext) => Promise<ExportHandle | undefined> {
  const releasing: Releasing = new Map();
  return async (name, ctx) => {
    try {
      return await open(d, name, ctx, releasing);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      d.log?.(`nbd: ${ctx.peer} asked for ${redactExportName(name)}: refused: ${why}`);
      return undefined;
    }
  };
}
