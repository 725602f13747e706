/**
 * @module
 * The membership procedures, each run by the host the XenAPI call reaches: joining a pool
 * (the joining host authenticates to the master as a pool-admin, the master adds its host
 * records, never over an existing host, and issues it a credential bound to its uuid; the
 * joining host confirms with that credential, or the master takes the records back, then
 * drops its own database for a replica of the master's), ejecting a member, handing the
 * master role over in an orderly way, and the emergency takeover when the master is gone.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../core/api-error.js';
import type { Row } from '../core/ports/pool-db.js';
import { NULL_REF, isNullRef, type Ref } from '../core/ref.js';
import { XapiCallError } from '../client/xapi-call-error.js';
import { formatHostPort, isWildcard, parseHostPort, peerUrl, type HostPort } from './host-address.js';
import { PeerClient, PeerUnreachable } from './peer-client.js';
import {
  HOST_CREDENTIAL_FILE, credentialDigest, credentialKey, newCredential, saveHostCredential, writePoolRole,
  type HostCredential,
} from './pool-conf.js';
import { asApiError, type PoolNode } from './pool-node.js';
import { isReplicatedMeta, metaEntriesOf } from './replication.js';
import { addLocalObjects, localObjectsOf, parseLocalObjects, removeLocalObjects, type LocalObject } from './host-local-objects.js';

interface RecordOf {
  readonly ref: Ref;
  readonly row: Row;
}
export interface JoinRequest {
  readonly host: RecordOf;
  readonly metrics?: RecordOf;
  /** The host's control domain, CPUs and local SRs with their disks, which join with it. */
  readonly local?: readonly LocalObject[];
}
export interface JoinReply {
  /** The credential the master issued to the joining host, bound to its uuid. */
  readonly credential: string;
  readonly master: HostPort;
}

/** How long the master waits for a joining host to confirm before taking its records back. */
export const JOIN_CONFIRM_MS = 60_000;

/** Fields of a host record that point at objects of the joining host's old database. */
const LOCAL_REF_FIELDS = ['suspend_image_sr', 'crash_dump_sr', 'local_cache_sr', 'control_domain'];

function guard<T>(node: PoolNode, what: string, fn: () => Promise<T>): Promise<T> {
  if (node.busy) return Promise.reject(new ApiError('DESIGNATE_NEW_MASTER_IN_PROGRESS', []));
  node.busy = what;
  return fn().finally(() => { node.busy = undefined; });
}

/** pool.join, run on the joining host. */
export function joinPool(node: PoolNode, masterAddress: string, user: string, password: string): Promise<void> {
  return guard(node, 'join', async () => {
    if (!node.isMaster()) throw new ApiError('HOST_IS_SLAVE', [node.masterAddressForClients()]);
    const { db, self } = node;
    if (db.all('host').some(([r]) => r !== self)) throw new ApiError('JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS', []);
    const running = db.all('VM').some(([, v]) => v.resident_on === self && ['Running', 'Paused'].includes(String(v.power_state)) && v.is_control_domain !== true);
    if (running) throw new ApiError('JOINING_HOST_CANNOT_HAVE_RUNNING_VMS', []);
    let target = parseHostPort(masterAddress, node.port);
    if (formatHostPort(target) === formatHostPort(node.selfAddress())) throw new ApiError('HOST_ITS_OWN_SLAVE', []);

    let issued: HostCredential | undefined;
    const mk = (t: HostPort) => new PeerClient({ url: peerUrl(t), credential: () => issued, timeoutMs: 30_000, connectTimeoutMs: 5000 });
    let client = mk(target);
    try {
      let session = '';
      for (let attempt = 0; ; attempt++) {
        try {
          session = String(await client.rawCall('session.login_with_password', [user, password, '1.1', 'islet-pool-join']));
          break;
        } catch (e) {
          if (attempt === 0 && e instanceof XapiCallError && e.code === 'HOST_IS_SLAVE' && e.params[0]) {
            target = parseHostPort(e.params[0], target.port);
            client.close();
            client = mk(target);
            continue;
          }
          if (e instanceof PeerUnreachable) throw new ApiError('JOINING_HOST_CONNECTION_FAILED', []);
          throw asApiError(e, NULL_REF);
        }
      }
      const me = node.selfAddress();
      const address = isWildcard(node.o.listenHost) ? client.lastLocalAddress ?? me.host : me.host;
      const req = joinRequestOf(node, address);
      let reply: JoinReply;
      try {
        reply = JSON.parse(String(await client.rawCall('pool.islet_join_request', [session, JSON.stringify(req)]))) as JoinReply;
      } catch (e) {
        if (e instanceof PeerUnreachable) throw new ApiError('JOINING_HOST_SERVICE_FAILED', []);
        throw asApiError(e, NULL_REF);
      } finally {
        client.rawCall('session.logout', [session]).catch(() => undefined);
      }
      if (typeof reply?.credential !== 'string' || !reply.credential) throw new ApiError('JOINING_HOST_SERVICE_FAILED', []);
      issued = { hostUuid: node.selfUuid(), token: reply.credential };
      try {
        // The explicit second step: the master keeps our records only once we prove we hold
        // the credential it issued.
        await client.call('pool.islet_join_confirm', [], { timeoutMs: 30_000 });
      } catch (e) {
        node.o.log(`pool: the master did not accept the join confirmation: ${e instanceof Error ? e.message : String(e)}`);
        throw new ApiError('JOINING_HOST_SERVICE_FAILED', []);
      }
      saveHostCredential(node.o.dataDir, issued);
      node.credential = issued;
      node.o.log(`pool: joined the pool of ${formatHostPort(target)}`);
      node.becomeMember(target);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          node.member!.synced(),
          new Promise((_, reject) => { timer = setTimeout(() => reject(new ApiError('JOINING_HOST_SERVICE_FAILED', [])), 30_000); }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      client.close();
    }
  });
}

function joinRequestOf(node: PoolNode, address: string): JoinRequest {
  const row = node.db.get('host', node.self);
  if (!row) throw new ApiError('INTERNAL_ERROR', ['this host has no record']);
  const host: Row = pick(row, node.fields.get('host')!);
  const local = localObjectsOf(node.db, node.self, node.fields);
  const carried = new Set(local.map((o) => String(o.ref)));
  for (const f of LOCAL_REF_FIELDS) if (f in host && !carried.has(String(host[f]))) host[f] = NULL_REF;
  host.address = address;
  host.other_config = { ...((row.other_config ?? {}) as Record<string, string>), islet_port: String(node.port) };
  const metricsRef = row.metrics;
  const metricsRow = node.db.get('host_metrics', metricsRef);
  return {
    host: { ref: node.self, row: host },
    ...(metricsRow ? { metrics: { ref: metricsRef, row: pick(metricsRow, node.fields.get('host_metrics')!) } } : {}),
    local,
  };
}

function pick(row: Row, fields: readonly string[]): Row {
  const out: Row = {};
  for (const f of fields) if (f in row) out[f] = row[f];
  return out;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REF_RE = /^OpaqueRef:[0-9a-zA-Z-]{1,64}$/;
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The join request as sent, checked field by field: a malformed one is INVALID_VALUE. */
export function parseJoinRequest(raw: unknown): JoinRequest {
  const bad = (why: string) => new ApiError('INVALID_VALUE', ['member', why]);
  const record = (x: unknown, what: string): RecordOf => {
    if (!isObject(x) || typeof x.ref !== 'string' || !isObject(x.row)) throw bad(`${what} must be {"ref": ..., "row": {...}}`);
    if (!REF_RE.test(x.ref) || x.ref === NULL_REF) throw bad(`${what} ref ${JSON.stringify(x.ref.slice(0, 80))} is not a reference`);
    if (typeof x.row.uuid !== 'string' || !UUID_RE.test(x.row.uuid)) throw bad(`${what} has no valid uuid`);
    return { ref: x.ref, row: x.row };
  };
  if (!isObject(raw)) throw bad('not a JSON object');
  const host = record(raw.host, 'host');
  return {
    host,
    ...(raw.metrics !== undefined ? { metrics: record(raw.metrics, 'metrics') } : {}),
    local: parseLocalObjects(raw.local, host.ref as Ref<'host'>),
  };
}

/**
 * pool.islet_join_request, run on the master: adds the joining host's records and issues
 * its credential. A join never touches an existing host or metrics record; the records
 * stay pending until the host confirms with the credential (islet_join_confirm).
 */
export function acceptJoin(node: PoolNode, req: JoinRequest): JoinReply {
  node.assertMaster();
  const { db } = node;
  const hostRef = req.host.ref as Ref<'host'>;
  const uuid = String(req.host.row.uuid);
  if (hostRef === node.self || uuid === node.selfUuid()) throw new ApiError('HOST_ITS_OWN_SLAVE', []);
  if (db.get('host', hostRef) || db.refByUuid('host', uuid) || db.getMeta(credentialKey(uuid)) !== undefined) {
    throw new ApiError('INVALID_VALUE', ['host', `a host with uuid ${uuid} or reference ${hostRef} is already in the pool`]);
  }
  const metricsRef = req.metrics?.ref;
  if (metricsRef && db.get('host_metrics', metricsRef)) {
    throw new ApiError('INVALID_VALUE', ['host_metrics', `${metricsRef} already exists`]);
  }
  const credential = newCredential(uuid);
  db.transaction(() => {
    if (metricsRef) db.create('host_metrics', metricsRef, { ...pick(req.metrics!.row, node.fields.get('host_metrics')!), live: true });
    const hostRow = pick(req.host.row, node.fields.get('host')!);
    hostRow.metrics = metricsRef ?? NULL_REF;
    db.create('host', hostRef, hostRow);
    addLocalObjects(db, req.local ?? [], node.fields);
    db.setMeta(credentialKey(uuid), credentialDigest(credential.token));
  });
  const ms = Number(process.env.ISLET_JOIN_CONFIRM_MS) || JOIN_CONFIRM_MS;
  node.pendingJoins.set(uuid, setTimeout(() => rollbackJoin(node, hostRef, uuid), ms).unref());
  node.monitor?.heartbeat(hostRef);
  node.o.log(`pool: host ${String(req.host.row.name_label ?? uuid)} (${uuid}) asks to join from ${String(req.host.row.address)}`);
  return { credential: credential.token, master: node.selfAddress() };
}

/** pool.islet_join_confirm, run on the master for the session of the host that joined. */
export function confirmJoin(node: PoolNode, hostUuid: string): void {
  node.assertMaster();
  const timer = node.pendingJoins.get(hostUuid);
  if (!timer) return;
  clearTimeout(timer);
  node.pendingJoins.delete(hostUuid);
  node.o.log(`pool: host ${hostUuid} joined the pool`);
}

/** A join never confirmed: the records go, so no phantom host holds pool-wide work up. */
function rollbackJoin(node: PoolNode, hostRef: Ref<'host'>, uuid: string): void {
  if (!node.pendingJoins.delete(uuid)) return;
  const { db } = node;
  db.transaction(() => {
    const metrics = db.get('host', hostRef)?.metrics;
    removeLocalObjects(db, hostRef);
    if (db.get('host', hostRef)) db.remove('host', hostRef);
    if (metrics && !isNullRef(metrics) && db.get('host_metrics', metrics)) db.remove('host_metrics', metrics);
    db.setMeta(credentialKey(uuid), undefined);
  });
  node.dropPeer(hostRef);
  node.o.log(`pool: host ${uuid} never confirmed its join; its records were removed`);
}

/** pool.islet_heartbeat, run on the master. */
export function acceptHeartbeat(node: PoolNode, host: Ref<'host'>, status: Record<string, unknown>): void {
  node.assertMaster();
  const row = node.db.get('host', host);
  if (!row) throw new ApiError('HOST_UNKNOWN_TO_MASTER', [host]);
  const patch: Row = {};
  if (typeof status.address === 'string' && status.address && status.address !== row.address) patch.address = status.address;
  const oc = { ...((row.other_config ?? {}) as Record<string, string>) };
  let ocChanged = false;
  const keep = (key: string, v: unknown) => {
    if (v === undefined || v === null || v === '') return;
    if (oc[key] !== String(v)) { oc[key] = String(v); ocChanged = true; }
  };
  keep('islet_port', status.port);
  keep('agent_start_time', status.agent_start_time);
  keep('boot_time', status.boot_time);
  if (ocChanged) patch.other_config = oc;
  if (Object.keys(patch).length > 0) node.db.update('host', host, patch);
  node.monitor?.heartbeat(host);
}

/** pool.eject, run on the master. */
export function ejectHost(node: PoolNode, host: Ref<'host'>): Promise<void> {
  return guard(node, 'eject', async () => {
    node.assertMaster();
    const { db } = node;
    if (!db.get('host', host)) throw new ApiError('HANDLE_INVALID', ['host', host]);
    if (host === node.self) throw new ApiError('OPERATION_NOT_ALLOWED', ['The pool master cannot be ejected; designate another master first']);
    const resident = db.all('VM').filter(([, v]) => v.resident_on === host && ['Running', 'Paused'].includes(String(v.power_state)) && v.is_control_domain !== true);
    if (resident.length > 0) throw new ApiError('HOST_HAS_RESIDENT_VMS', [host]);
    await node.callOnHost(host, 'pool.islet_ejected', []);
    dropHostRecords(node, host);
  });
}

/** Removes a host and everything that is its alone from the pool database (eject, forget). */
function dropHostRecords(node: PoolNode, host: Ref<'host'>): void {
  const { db } = node;
  db.transaction(() => {
    removeLocalObjects(db, host);
    for (const cls of ['PBD', 'host_patch']) {
      for (const [ref, r] of db.all(cls)) if (r.host === host) db.remove(cls, ref);
    }
    for (const [ref, v] of db.all('VM')) {
      if (v.resident_on === host) db.update('VM', ref, { resident_on: NULL_REF });
      if (v.affinity === host) db.update('VM', ref, { affinity: NULL_REF });
    }
    const metrics = db.get('host', host)?.metrics;
    const uuid = String(db.get('host', host)?.uuid ?? '');
    db.remove('host', host);
    if (uuid) db.setMeta(credentialKey(uuid), undefined);
    if (metrics && db.get('host_metrics', metrics)) db.remove('host_metrics', metrics);
  });
  node.dropPeer(host);
}

/**
 * host.destroy, run on the master: forgets a host that is gone for good without asking it
 * (xapi's order of checks: still live, the master itself, user VMs still resident). Should
 * the host come back, its credential no longer lets it in.
 */
export function forgetHost(node: PoolNode, host: Ref<'host'>): Promise<void> {
  return guard(node, 'forget', async () => {
    node.assertMaster();
    const { db } = node;
    if (!db.get('host', host)) throw new ApiError('HANDLE_INVALID', ['host', host]);
    // The master is always live, so it gets HOST_IS_LIVE, as from xapi.
    if (node.isLive(host)) throw new ApiError('HOST_IS_LIVE', [host]);
    if (host === node.self) throw new ApiError('HOST_CANNOT_DESTROY_SELF', [host]);
    const resident = db.all('VM').filter(([, v]) => v.resident_on === host && v.is_control_domain !== true
      && ['Running', 'Paused', 'Suspended'].includes(String(v.power_state)));
    if (resident.length > 0) throw new ApiError('HOST_HAS_RESIDENT_VMS', [host]);
    dropHostRecords(node, host);
    node.o.log(`pool: forgot host ${host}`);
  });
}

/**
 * pool.islet_ejected, run on the ejected member: forget the pool (database, secret, role)
 * and start over as a pool of one; as xapi reboots an ejected host, the toolstack restarts.
 */
export function leavePool(node: PoolNode): void {
  node.member?.stop();
  const inner = node.db.inner;
  node.db.unforwarded(() => {
    const keep: Record<string, string> = {};
    for (const [k, v] of metaEntriesOf(inner)) if (isReplicatedMeta(k) && k.startsWith('user:')) keep[k] = v;
    inner.restoreJson(JSON.stringify({ format: 'islet-pool-db', version: 1, generation: 0, meta: keep, classes: {} }));
  });
  writePoolRole(node.o.dataDir, { role: 'master' });
  rmSync(join(node.o.dataDir, HOST_CREDENTIAL_FILE), { force: true });
  node.credential = undefined;
  node.o.log('pool: ejected from the pool; starting over as a pool of one');
  setTimeout(() => {
    node.o.lifecycle.request('restart-agent').catch(() => {
      // Nobody supervises this host: exit, and whoever starts it again gets a fresh pool.
      process.exit(0);
    });
  }, 200);
}

/** pool.designate_new_master, run on the master. */
export function designateNewMaster(node: PoolNode, host: Ref<'host'>): Promise<void> {
  return guard(node, 'designate', async () => {
    node.assertMaster();
    if (host === node.self) return;
    if (!node.db.get('host', host)) throw new ApiError('HANDLE_INVALID', ['host', host]);
    if (!node.isLive(host)) throw new ApiError('HOST_OFFLINE', [host]);
    const to = node.addressOf(host);
    await node.callOnHost(host, 'pool.islet_take_over', [], { timeoutMs: 60_000 });
    for (const [ref] of node.db.all('host')) {
      const h = ref;
      if (h === node.self || h === host || !node.isLive(h)) continue;
      await node.callOnHost(h, 'pool.islet_set_master', [formatHostPort(to)], { timeoutMs: 10_000 })
        .catch((e: unknown) => node.o.log(`pool: could not tell ${h} about the new master: ${String(e)}`));
    }
    node.o.log(`pool: handed the master role to ${formatHostPort(to)}`);
    node.becomeMember(to);
  });
}

/** pool.islet_take_over, run on the member chosen as new master. */
export async function takeOver(node: PoolNode): Promise<void> {
  if (node.isMaster()) return;
  await node.member?.syncNow();
  node.becomeMaster();
  node.o.log('pool: this host is master now');
}

/** pool.emergency_transition_to_master, run on a member whose master is gone. */
export function emergencyTransition(node: PoolNode): void {
  if (node.isMaster()) return;
  node.becomeMaster();
  node.o.log('pool: emergency transition: this host is master now');
}

/** pool.recover_slaves, run on the (new) master: points every other host at it. */
export async function recoverSlaves(node: PoolNode): Promise<Ref<'host'>[]> {
  node.assertMaster();
  const me = formatHostPort(node.selfAddress());
  const out: Ref<'host'>[] = [];
  for (const [ref] of node.db.all('host')) {
    const h = ref;
    if (h === node.self) continue;
    try {
      await node.peerFor(h).call('pool.islet_set_master', [me], { timeoutMs: 10_000 });
      out.push(h);
    } catch (e) {
      node.o.log(`pool: could not recover ${h}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}
