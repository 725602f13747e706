/**
 * @module
 * The supervisor's control socket: HTTP on a unix socket in the pool's directory (or in
 * the temporary directory when that path is too long for a socket), readable by its owner
 * only. `GET /status`; `POST /hosts/<i>/{restart-agent,reboot,shutdown}` (answered at
 * once, acted on after `delayMs`); `POST /hosts/<i>/start` (answered once the host is up).
 */
import { createHash } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostAction, SupervisorStatus } from './supervisor-client.js';

export interface ControlHandlers {
  status(): SupervisorStatus;
  hostAction(index: number, action: HostAction, delayMs: number): Promise<void>;
}

/** Unix socket paths are limited to about 100 bytes. */
export function socketPathFor(dir: string): string {
  const p = join(dir, 'supervisor.sock');
  if (Buffer.byteLength(p) <= 100) return p;
  return join(tmpdir(), `islet-sup-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.sock`);
}

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
        resolve(typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
      } catch {
        resolve({});
      }
    });
  });
}

const ACTIONS: readonly HostAction[] = ['restart-agent', 'reboot', 'shutdown', 'start', 'kill'];

export async function startControlServer(socket: string, h: ControlHandlers): Promise<{ close(): Promise<void> }> {
  await rm(socket, { force: true });
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body ?? {});
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const url = new URL(req.url ?? '/', 'http://supervisor');
    if (req.method === 'GET' && url.pathname === '/status') {
      req.resume();
      reply(200, h.status());
      return;
    }
    const m = /^\/hosts\/(\d+)\/([a-z-]+)$/.exec(url.pathname);
    if (req.method === 'POST' && m && ACTIONS.includes(m[2] as HostAction)) {
      void readJson(req).then(async (body) => {
        try {
          await h.hostAction(Number(m[1]), m[2] as HostAction, Number(body.delayMs ?? 0) || 0);
          reply(200, { ok: true });
        } catch (e) {
          reply(409, { error: e instanceof Error ? e.message : String(e) });
        }
      });
      return;
    }
    req.resume();
    reply(404, { error: `no such control call ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  await chmod(socket, 0o600);
  return {
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(socket, { force: true });
    },
  };
}
