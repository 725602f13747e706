/**
 * @module
 * Talking to a pool supervisor over its control socket (HTTP on a unix socket inside the
 * pool's directory): a toolstack asking for its own restart, reboot or shutdown, and
 * tools and tests asking what runs or starting a host that is down. The socket's path
 * is in `<pool dir>/supervisor.json`, and in the environment of the processes it starts.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

export const SUPERVISOR_FILE = 'supervisor.json';
/** Environment of supervised toolstacks: the control socket and which host they are. */
export const ENV_SOCKET = 'ISLET_SUPERVISOR_SOCKET';
export const ENV_HOST_INDEX = 'ISLET_SUPERVISOR_HOST';

export type HostState = 'starting' | 'up' | 'stopping' | 'down' | 'crashed';

export interface HostStatus {
  readonly index: number;
  readonly state: HostState;
  readonly dataDir: string;
  readonly address: string;
  readonly port: number;
  readonly url: string;
  readonly toolstackPid?: number;
  readonly hypervisorPid?: number;
  /** Epoch seconds at which the host's hypervisor (re)started. */
  readonly bootTime?: number;
  /** How many times each process has been started. */
  readonly toolstackStarts: number;
  readonly hypervisorStarts: number;
}

export interface SupervisorStatus {
  readonly pid: number;
  readonly dir: string;
  readonly hosts: HostStatus[];
}

export type HostAction = 'restart-agent' | 'reboot' | 'shutdown' | 'start' | 'kill';

/** The control socket of the pool in `dir`. */
export function supervisorSocket(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, SUPERVISOR_FILE), 'utf8')) as { socket: string }).socket;
}

export function supervisorRequest(socket: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 120_000): Promise<unknown> {
  const data = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath: socket, method, path,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      timeout: timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* plain text */ }
        if ((res.statusCode ?? 500) >= 300) {
          const msg = typeof parsed === 'object' && parsed && 'error' in parsed ? String((parsed as { error: unknown }).error) : text;
          reject(new Error(`supervisor: ${method} ${path}: ${res.statusCode} ${msg}`));
        } else resolve(parsed);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`supervisor: ${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

export function supervisorStatus(socket: string): Promise<SupervisorStatus> {
  return supervisorRequest(socket, 'GET', '/status') as Promise<SupervisorStatus>;
}

/** Asks for an action on host `index`; `start` answers once the host is up again. */
export function supervisorHostAction(socket: string, index: number, action: HostAction, opts: { delayMs?: number } = {}): Promise<unknown> {
  return supervisorRequest(socket, 'POST', `/hosts/${index}/${action}`, opts);
}
