/**
 * @module
 * Authentication and task plumbing shared by the HTTP resource handlers (update upload
 * and download, database dump, disk import and export): a session from the `session_id`
 * query parameter or cookie, or HTTP Basic credentials turned into a short-lived session;
 * a role check; the optional `task_id` task to report through; and the redirect a pool
 * member answers with when only the master serves a resource.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionInfo } from '../../core/ports/sessions.js';
import type { TaskHandle } from '../../core/ports/tasks.js';
import { ApiError } from '../../core/api-error.js';
import type { PoolDb } from '../../core/ports/pool-db.js';
import type { PoolLink } from '../../core/ports/pool-link.js';
import type { Ref } from '../../core/ref.js';
import { rolesFrom, type Role } from '../../datamodel/roles.js';

/** The parts of the session store and task runner the handlers use. */
export interface HandlerSessions {
  validate(ref: unknown): SessionInfo;
  login(uname: string, pwd: string, originator: string, peer: string): Promise<SessionInfo>;
  logout(ref: string): void;
}
export interface HandlerTasks {
  handle(ref: Ref<'task'>): TaskHandle;
  succeed(ref: Ref<'task'>, resultXml: string): void;
  fail(ref: Ref<'task'>, err: ApiError): void;
}

export interface HandlerDeps {
  readonly db: PoolDb;
  readonly sessions: HandlerSessions;
  readonly tasks: HandlerTasks;
  readonly pool?: PoolLink;
  readonly dataDir: string;
  readonly log?: (msg: string) => void;
}

export interface Authed {
  readonly session: SessionInfo;
  /** Ends a session opened from Basic credentials; a no-op for the caller's own session. */
  done(): void;
}

function cookieSession(req: IncomingMessage): string | undefined {
  const m = /(?:^|;\s*)session_id=([^;]+)/.exec(req.headers.cookie ?? '');
  return m ? decodeURIComponent(m[1]!) : undefined;
}

export async function authenticate(d: HandlerDeps, req: IncomingMessage, query: URLSearchParams, least: Role): Promise<Authed> {
  let session: SessionInfo;
  let opened = false;
  const sid = query.get('session_id') ?? cookieSession(req);
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (sid) session = d.sessions.validate(sid);
  else if (basic) {
    const text = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const i = text.indexOf(':');
    session = await d.sessions.login(text.slice(0, i < 0 ? undefined : i), i < 0 ? '' : text.slice(i + 1), 'http', req.socket.remoteAddress ?? '');
    opened = true;
  } else throw new ApiError('SESSION_INVALID', ['']);
  if (!session.internal && !rolesFrom(least).includes(session.role)) {
    if (opened) d.sessions.logout(session.ref);
    throw new ApiError('RBAC_PERMISSION_DENIED', [req.url?.split('?')[0] ?? '', 'No permission in the session\'s role to do this']);
  }
  return { session, done: () => { if (opened) d.sessions.logout(session.ref); } };
}

/** The task named by `task_id`, if any and known. */
export function taskFor(d: HandlerDeps, query: URLSearchParams): { ref: Ref<'task'>; handle: TaskHandle } | undefined {
  const ref = query.get('task_id') as Ref<'task'> | null;
  if (!ref || !d.db.get('task', ref)) return undefined;
  return { ref, handle: d.tasks.handle(ref) };
}

/**
 * On a member, answers with a redirect to the master (what Xen Orchestra's probe PUT is
 * for) and returns true; on the master returns false.
 */
export function redirectToMaster(d: HandlerDeps, req: IncomingMessage, res: ServerResponse): boolean {
  if (!d.pool || d.pool.isMaster()) return false;
  const addr = d.pool.masterAddress();
  const scheme = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  const base = /^https?:\/\//.test(addr) ? addr.replace(/\/+$/, '') : `${scheme}://${addr}`;
  req.resume();
  res.writeHead(302, { location: `${base}${req.url ?? '/'}`, 'content-length': 0 });
  res.end();
  return true;
}

/** The status an error answered before any header went out gets. */
export function statusFor(e: ApiError): number {
  switch (e.code) {
    case 'SESSION_INVALID': case 'SESSION_AUTHENTICATION_FAILED': return 401;
    case 'RBAC_PERMISSION_DENIED': return 403;
    case 'HOST_IS_SLAVE': return 503;
    case 'REQUEST_ENTITY_TOO_LARGE': return 413;
    case 'INTERNAL_ERROR': return 500;
    default: return 400;
  }
}

/**
 * Answers with the error: as a line of text, or to a client that accepts JSON (xe, whose
 * transfers may make no XenAPI call to learn the outcome from) as XenAPI's failure object,
 * `{"Status":"Failure","ErrorDescription":[code, ...params]}`, whose parameters keep their
 * bounds where the line joins them with spaces. `status` overrides {@link statusFor}'s.
 */
export function sendError(res: ServerResponse, e: ApiError, status?: number): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.end(writeErrorHead(res, e, {}, status));
}

/** Writes the error's status and headers; returns the body to send. */
function writeErrorHead(res: ServerResponse, e: ApiError, extra: Record<string, string> = {}, status = statusFor(e)): string {
  const json = /\bapplication\/json\b/.test(res.req?.headers.accept ?? '');
  const body = json ? `${JSON.stringify({ Status: 'Failure', ErrorDescription: e.toWire() })}\n` : `${e.toWire().join(' ')}\n`;
  res.writeHead(status, { ...extra, 'content-type': json ? 'application/json' : 'text/plain', 'content-length': Buffer.byteLength(body) });
  return body;
}

/**
 * Refuses a request whose body is still arriving: the answer goes out whole at once (its
 * length given, so a client can read it, and stop sending, as soon as it comes), but the
 * response ends, and the connection closes, only once what the client still sends has been
 * read and dropped (`discard`) or the client has gone. Node closes a connection whose
 * request is unfinished the moment its response ends, and a socket closed with bytes unread
 * resets the connection: the client, still sending, gets a broken pipe and can lose the
 * answer it had not read yet.
 */
export function refuseWhileReceiving(req: IncomingMessage, res: ServerResponse, e: ApiError, discard: () => void, status?: number): void {
  if (res.headersSent || req.complete) {
    sendError(res, e, status);
    return;
  }
  res.write(writeErrorHead(res, e, { connection: 'close' }, status));
  const end = () => { if (!res.writableEnded) res.end(); };
  req.once('end', end);
  req.once('close', end);
  discard();
}
