/**
 * @module
 * The simulated array's REST API: HTTPS under `/api`, HTTP Basic auth, JSON in and out,
 * collections as `{records, num_records, _links}`, filters as query parameters on dotted
 * field paths (with ONTAP's `*` wildcard and `|` alternatives), errors as
 * `{"error":{message, code, target}}`, and volume and Snapshot copy changes as 202 + job
 * (honouring `return_timeout`). LUNs, igroups and LUN maps answer synchronously (201/200),
 * as ONTAP's API reference lists them.
 */
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import type { OntapArray } from './ontap-array.js';
import { badRequest, OntapCode, OntapError } from './ontap-errors.js';
import { JobRunner } from './ontap-jobs.js';
import {
  aggregateRecord, clusterRecord, igroupRecord, iscsiServiceRecord, lifRecord, lunMapRecord, lunRecord, nodeRecord,
  snapshotRecord, svmRecord, volumeRecord,
} from './ontap-records.js';
import { addInitiators, createIgroup, createLunMap, deleteIgroup, deleteLunMap, igroup, removeInitiator } from './ontap-san.js';

type Json = Record<string, unknown>;

const RESERVED = new Set(['fields', 'max_records', 'return_records', 'return_timeout', 'order_by', 'allow_delete_while_mapped', 'force']);

interface Reply {
  status: number;
  body?: unknown;
}

export interface OntapRestOptions {
  readonly username: string;
  readonly password: string;
  readonly iscsi?: () => { address: string; port: number } | undefined;
  readonly jobStartDelayMs?: number;
  readonly log?: (m: string) => void;
}

export class OntapRestServer {
  readonly jobs: JobRunner;
  private server?: Server;
  fingerprint = '';

  constructor(private readonly array: OntapArray, private readonly opts: OntapRestOptions) {
    this.jobs = new JobRunner(opts.jobStartDelayMs ?? 10);
  }

  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    const pems = await generate([{ name: 'commonName', value: this.array.state.cluster.name }], {
      keySize: 2048, days: 3650, algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: host }, { type: 2, value: 'localhost' }] }],
    } as Parameters<typeof generate>[1]);
    this.fingerprint = new X509Certificate(pems.cert).fingerprint256;
    this.server = createServer({ cert: pems.cert, key: pems.private }, (req, res) => void this.handle(req, res));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const a = this.server.address() as AddressInfo;
    return { address: a.address, port: a.port };
  }

  async close(): Promise<void> {
    this.jobs.close();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private authorised(req: IncomingMessage): boolean {
    const m = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const given = createHash('sha256').update(Buffer.from(m[1]!, 'base64')).digest();
    const want = createHash('sha256').update(`${this.opts.username}:${this.opts.password}`).digest();
    return timingSafeEqual(given, want);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > 1024 * 1024) throw badRequest(OntapCode.invalidField, 'Request body too large.');
        chunks.push(c as Buffer);
      }
      if (!this.authorised(req)) {
        reply = { status: 401, body: new OntapError(401, OntapCode.notAuthorized, 'not authorized for that command').body() };
      } else {
        const url = new URL(req.url ?? '/', 'https://array');
        let body: Json = {};
        if (chunks.length > 0) {
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
          } catch {
            throw badRequest(OntapCode.invalidField, 'The request body is not valid JSON.');
          }
        }
        reply = await this.route(req.method ?? 'GET', url, body);
      }
    } catch (e) {
      const err = e instanceof OntapError ? e : new OntapError(500, '1', e instanceof Error ? e.message : String(e));
      reply = { status: err.status, body: err.body() };
    }
    this.opts.log?.(`${req.method} ${req.url} -> ${reply.status}`);
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/hal+json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async route(method: string, url: URL, body: Json): Promise<Reply> {
    const a = this.array;
    const p = url.pathname.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent);
    const q = url.searchParams;
    const allowMapped = q.get('allow_delete_while_mapped') === 'true';
    const path = p.join('/');
    const is = (pattern: string): boolean => {
      const parts = pattern.split('/');
      return parts.length === p.length && parts.every((x, i) => x === '*' || x === p[i]);
    };
    const get = method === 'GET';
    if (get && path === 'api/cluster') return { status: 200, body: clusterRecord(a) };
    if (get && path === 'api/cluster/nodes') return collection(url, [nodeRecord(a)]);
    if (get && is('api/cluster/nodes/*')) return one(p[3] === a.state.node.uuid ? nodeRecord(a) : undefined);
    if (get && path === 'api/svm/svms') return collection(url, [svmRecord(a)]);
    if (get && is('api/svm/svms/*')) return one(p[3] === a.state.svm.uuid ? svmRecord(a) : undefined);
    if (get && path === 'api/storage/aggregates') return collection(url, a.state.aggregates.map((g) => aggregateRecord(a, g)));
    if (get && is('api/storage/aggregates/*')) return one(a.state.aggregates.filter((g) => g.uuid === p[3]).map((g) => aggregateRecord(a, g))[0]);
    if (get && path === 'api/protocols/san/iscsi/services') return collection(url, [iscsiServiceRecord(a)]);
    if (get && path === 'api/network/ip/interfaces') return collection(url, lifRecord(a, this.opts.iscsi?.()));
    if (get && is('api/cluster/jobs/*')) {
      const job = this.jobs.get(p[3]!);
      if (!job) throw new OntapError(404, OntapCode.jobNotFound, `Job "${p[3]}" not found.`);
      return { status: 200, body: { ...job, _links: { self: { href: `/api/cluster/jobs/${job.uuid}` } } } };
    }
    // volumes
    if (path === 'api/storage/volumes') {
      if (get) return collection(url, a.state.volumes.map((v) => volumeRecord(a, v)));
      if (method === 'POST') return this.job(q, 201, `POST /api/storage/volumes`, async () => void (await a.createVolume(body)));
    }
    if (is('api/storage/volumes/*')) {
      if (get) return one(volumeRecord(a, a.volume({ uuid: p[3]! })));
      const vol = () => a.volume({ uuid: p[3]! });
      a.volume({ uuid: p[3]! });
      if (method === 'PATCH') return this.job(q, 200, `PATCH /api/storage/volumes/${p[3]}`, () => a.patchVolume(vol(), body));
      if (method === 'DELETE') return this.job(q, 200, `DELETE /api/storage/volumes/${p[3]}`, () => a.deleteVolume(vol()));
    }
    if (is('api/storage/volumes/*/snapshots')) {
      const vol = a.volume({ uuid: p[3]! });
      if (get) return collection(url, a.state.snapshots.filter((s) => s.volume === vol.uuid).map((s) => snapshotRecord(a, vol, s)));
      if (method === 'POST') return this.job(q, 201, `POST /api/storage/volumes/${vol.uuid}/snapshots`, async () => void (await a.createSnapshot(a.volume({ uuid: vol.uuid }), body)));
    }
    if (is('api/storage/volumes/*/snapshots/*')) {
      const vol = a.volume({ uuid: p[3]! });
      const snap = a.snapshot(vol, { uuid: p[5]! });
      if (get) return one(snapshotRecord(a, vol, snap));
      if (method === 'DELETE') return this.job(q, 200, `DELETE /api/storage/volumes/${vol.uuid}/snapshots/${snap.uuid}`, () => a.deleteSnapshot(a.volume({ uuid: vol.uuid }), a.snapshot(vol, { uuid: snap.uuid })));
    }
    // LUNs
    if (path === 'api/storage/luns') {
      if (get) return collection(url, a.state.luns.map((l) => lunRecord(a, l)));
      if (method === 'POST') return this.created(q, () => a.createLun(body).then((l) => lunRecord(a, l)));
    }
    if (is('api/storage/luns/*')) {
      if (get) return one(lunRecord(a, a.lun({ uuid: p[3]! })));
      if (method === 'PATCH') return this.jobs.serial(async () => (await a.patchLun(a.lun({ uuid: p[3]! }), body), { status: 200, body: {} }));
      if (method === 'DELETE') return this.jobs.serial(async () => (await a.deleteLun(a.lun({ uuid: p[3]! }), allowMapped), { status: 200, body: {} }));
    }
    // igroups and maps
    if (path === 'api/protocols/san/igroups') {
      if (get) return collection(url, a.state.igroups.map((g) => igroupRecord(a, g)));
      if (method === 'POST') return this.created(q, () => createIgroup(a, body).then((g) => igroupRecord(a, g)));
    }
    if (is('api/protocols/san/igroups/*')) {
      if (get) return one(igroupRecord(a, igroup(a, { uuid: p[4]! })));
      if (method === 'DELETE') return this.jobs.serial(async () => (await deleteIgroup(a, igroup(a, { uuid: p[4]! }), allowMapped), { status: 200, body: {} }));
    }
    if (is('api/protocols/san/igroups/*/initiators')) {
      const g = igroup(a, { uuid: p[4]! });
      if (get) return collection(url, g.initiators.map((name) => ({ name })));
      if (method === 'POST') return this.jobs.serial(async () => (await addInitiators(a, igroup(a, { uuid: g.uuid }), body), { status: 201, body: {} }));
    }
    if (is('api/protocols/san/igroups/*/initiators/*') && method === 'DELETE') {
      return this.jobs.serial(async () => (await removeInitiator(a, igroup(a, { uuid: p[4]! }), p[6]!, allowMapped), { status: 200, body: {} }));
    }
    if (path === 'api/protocols/san/lun-maps') {
      if (get) return collection(url, a.state.lunMaps.map((m) => lunMapRecord(a, m)));
      if (method === 'POST') return this.created(q, () => createLunMap(a, body).then((m) => lunMapRecord(a, m)));
    }
    if (is('api/protocols/san/lun-maps/*/*')) {
      const m = a.state.lunMaps.find((x) => x.lun === p[4] && x.igroup === p[5]);
      if (get) return one(m && lunMapRecord(a, m));
      if (method === 'DELETE') return this.jobs.serial(async () => (await deleteLunMap(a, p[4]!, p[5]!), { status: 200, body: {} }));
    }
    throw new OntapError(404, OntapCode.entryNotFound, `API not found: ${method} ${url.pathname}`);
  }

  private async created(q: URLSearchParams, fn: () => Promise<Json>): Promise<Reply> {
    const record = await this.jobs.serial(fn);
    return { status: 201, body: q.get('return_records') === 'true' ? { num_records: 1, records: [record] } : {} };
  }

  private async job(q: URLSearchParams, doneStatus: number, description: string, fn: () => Promise<void>): Promise<Reply> {
    const job = this.jobs.start(description, fn);
    const link = { job: { uuid: job.uuid, _links: { self: { href: `/api/cluster/jobs/${job.uuid}` } } } };
    const timeout = Number(q.get('return_timeout') ?? 0);
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 120) throw badRequest(OntapCode.invalidField, 'return_timeout must be between 0 and 120.', 'return_timeout');
    if (timeout > 0) {
      const ended = await this.jobs.wait(job.uuid, timeout);
      if (ended?.state === 'success') return { status: doneStatus, body: link };
      if (ended?.state === 'failure') return { status: 400, body: { error: { message: ended.message, code: String(ended.code) } } };
    }
    return { status: 202, body: link };
  }
}

function one(record: Json | undefined): Reply {
  if (!record) throw new OntapError(404, OntapCode.entryNotFound, 'entry doesn\'t exist');
  return { status: 200, body: record };
}

function collection(url: URL, records: Json[]): Reply {
  const filters = [...url.searchParams].filter(([k]) => !RESERVED.has(k));
  const kept = records.filter((r) => filters.every(([k, v]) => matches(fieldValues(r, k.split('.')), v)));
  const max = Number(url.searchParams.get('max_records') ?? Infinity);
  const page = kept.slice(0, Number.isFinite(max) && max >= 0 ? max : undefined);
  return { status: 200, body: { records: page, num_records: page.length, _links: { self: { href: url.pathname + url.search } } } };
}

/** Every value at a dotted path (arrays fan out, as ONTAP filters on `initiators.name`). */
function fieldValues(v: unknown, path: string[]): unknown[] {
  if (path.length === 0) return Array.isArray(v) ? v : [v];
  if (Array.isArray(v)) return v.flatMap((x) => fieldValues(x, path));
  if (v === null || typeof v !== 'object') return [];
  return fieldValues((v as Json)[path[0]!], path.slice(1));
}

function matches(values: unknown[], query: string): boolean {
  return query.split('|').some((alt) => {
    const negate = alt.startsWith('!');
    const pat = negate ? alt.slice(1) : alt;
    const re = new RegExp(`^${pat.split('*').map((s) => s.replace(/[.+?^${}()[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
    const hit = values.some((x) => x !== undefined && x !== null && typeof x !== 'object' && re.test(String(x)));
    return negate ? !hit : hit;
  });
}
