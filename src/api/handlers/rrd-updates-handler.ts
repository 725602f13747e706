/**
 * @module
 * `GET /rrd_updates`, as xapi serves it: answered by the host that receives it, from its own
 * RRDs (the host's with `host=true`, and those of the VMs resident here: all of them, or the
 * ones named by `vm_uuid`). Session by `session_id` (query or cookie) or Basic, read-only
 * role; a `task_id` task is completed; a missing or malformed `start` is a 400. XML unless
 * the client prefers JSON (see `wantsJson`), with the CORS headers a browser console needs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../../core/api-error.js';
import { toWireError } from '../../core/wire-errors.js';
import type { MetricsSource } from '../../core/ports/metrics.js';
import type { Cf, Rrd } from '../../core/rrd/rrd.js';
import { buildXport, wantsJson, xportJson, xportXml } from '../../core/rrd/rrd-updates.js';
import type { Ref } from '../../core/ref.js';
import type { ResourceHandler } from '../http-api.js';
import { authenticate, sendError, taskFor, type HandlerDeps } from './http-auth.js';

const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'X-Requested-With' };

export function parseCf(v: string | null): Cf | undefined {
  return v === 'AVERAGE' || v === 'MIN' || v === 'MAX' ? v : undefined;
}

/**
 * A member keeps only its own sessions, but a client signed in at the master (the web
 * console, Xen Orchestra) reads a VM's figures from the member the VM runs on, with the
 * master's session, as xapi members accept any session of the pool. Every role may read
 * performance figures, so a session the master confirms it holds is enough here.
 */
async function authenticateInPool(d: HandlerDeps, req: IncomingMessage, query: URLSearchParams): Promise<{ done(): void }> {
  try {
    return await authenticate(d, req, query, 'read-only');
  } catch (e) {
    const sid = query.get('session_id');
    if (!(e instanceof ApiError) || e.code !== 'SESSION_INVALID' || !sid || !d.pool || d.pool.isMaster()) throw e;
    const master = d.db.all('pool')[0]?.[1].master;
    if (!master) throw e;
    const known = await d.pool.callOnHost(master, 'session.get_uuid', [sid]).then(() => true, () => false);
    if (!known) throw e;
    return { done: () => {} };
  }
}

export function createRrdUpdatesHandler(d: HandlerDeps, metrics: MetricsSource): ResourceHandler {
  return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    req.resume();
    const task = taskFor(d, query);
    try {
      const auth = await authenticateInPool(d, req, query);
      try {
        const startText = query.get('start');
        if (startText === null || !/^-?\d+$/.test(startText.trim())) {
          throw new ApiError('INVALID_VALUE', ['start', String(startText ?? '')]);
        }
        const interval = Number(query.get('interval') ?? 0);
        const rrds: Rrd[] = [];
        const hostRrd = metrics.hostRrd();
        if (query.get('host') === 'true' && hostRrd) rrds.push(hostRrd);
        const asked = query.getAll('vm_uuid');
        const resident = metrics.residentVmUuids();
        for (const uuid of asked.length ? asked : [...resident]) {
          if (!resident.has(uuid)) continue;
          const r = metrics.vmRrd(uuid);
          if (r) rrds.push(r);
        }
        let start = Number(startText);
        const last = Math.max(0, ...rrds.map((r) => r.lastUpdate), hostRrd?.lastUpdate ?? 0);
        if (start < 0) start = last + start;
        const cf = parseCf(query.get('cf'));
        const x = buildXport(rrds, { start, interval: Number.isFinite(interval) ? interval : 0, ...(cf ? { cf } : {}) });
        const json = wantsJson(req.headers.accept, query);
        const body = json ? xportJson(x) : xportXml(x);
        res.writeHead(200, { ...CORS, 'content-type': json ? 'application/json' : 'text/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        if (task) d.tasks.succeed(task.ref, '');
      } finally {
        auth.done();
      }
    } catch (e) {
      const err = toWireError(e);
      if (task) d.tasks.fail(task.ref, err);
      if (!res.headersSent) {
        const body = `${err.toWire().join(' ')}\n`;
        const status = err.code === 'INVALID_VALUE' ? 400 : undefined;
        if (status) {
          res.writeHead(status, { ...CORS, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
          res.end(body);
          return;
        }
      }
      sendError(res, err);
    }
  };
}
