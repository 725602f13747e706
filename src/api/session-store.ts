/**
 * @module
 * Logins and live sessions. Users and their password hashes live in the pool database's
 * internal store; sessions live in memory only (and as memory-only `session` rows that
 * clients can read), so a toolstack restart invalidates them, as in xapi. Failed logins
 * are answered more slowly each time, per user and per peer, in a bounded table nobody can
 * flush (`login-throttle.ts`), and a login naming no account costs the same password hash
 * as one naming a real account, so answer times do not tell which names exist. A right
 * password scrypt accepted less than a minute ago is recognised without hashing again
 * (`verified-logins.ts`): the throttle, the role check and the session are as for any login.
 */
import { ApiError } from '../core/api-error.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import { newRef, newUuid, xapiDate, type Ref } from '../core/ref.js';
import { permissionsOf } from '../core/role-catalogue.js';
import { Roles, type Role } from '../datamodel/roles.js';
import type { SessionInfo } from '../core/ports/sessions.js';
import { LoginThrottle } from './login-throttle.js';
import { hashPassword, verifyPassword } from './password-hash.js';
import { VerifiedLogins } from './verified-logins.js';

export interface LocalUser {
  readonly name: string;
  readonly hash: string;
  readonly role: Role;
  /** The subject record that carries this user's role, when not root. */
  readonly subject?: string;
}

const USER_KEY = (name: string) => `user:${name}`;
const IDLE_MS = 24 * 3600 * 1000;

export class SessionStore {
  /** Live sessions; `user` is kept for subject-backed users, whose role is looked up per call. */
  private readonly sessions = new Map<string, SessionInfo & { lastActive: number; role: Role; user?: LocalUser }>();
  private readonly throttle = new LoginThrottle();
  /** Recently verified (user, stored hash, password) triples, as keyed MACs; memory only. */
  readonly verified = new VerifiedLogins();
  /** A hash no password matches, checked for unknown names so that they cost as much as known ones. */
  private dummyHash: Promise<string> | undefined;
  /** Passwords checked with scrypt so far, the dummy checks included (for tests and diagnostics). */
  hashChecks = 0;
  /** Where failed logins are reported (the host's log). */
  log: (msg: string) => void = () => undefined;

  constructor(
    private readonly db: PoolDb,
    private readonly hostRef: () => Ref<'host'>,
    private readonly now: () => number = Date.now,
  ) {}

  getUser(name: string): LocalUser | undefined {
    const raw = this.db.getMeta(USER_KEY(name));
    return raw ? (JSON.parse(raw) as LocalUser) : undefined;
  }

  async setUser(name: string, password: string, role: Role, subject?: string): Promise<void> {
    if (!Roles.includes(role)) throw new ApiError('INVALID_VALUE', ['role', role]);
    const user: LocalUser = { name, hash: await hashPassword(password), role, ...(subject ? { subject } : {}) };
    this.db.setMeta(USER_KEY(name), JSON.stringify(user));
    this.verified.forget(name);
  }

  removeUser(name: string): void {
    this.db.setMeta(USER_KEY(name), undefined);
    this.verified.forget(name);
  }

  /** A role given to or taken from a user's subject: its next login is checked in full. */
  rolesChanged(name: string): void {
    this.verified.forget(name);
  }

  async login(uname: string, pwd: string, originator: string, peer: string, internal = false): Promise<SessionInfo> {
    const user = this.getUser(uname);
    const delay = this.throttle.delayMs(uname, user !== undefined, peer);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    this.dummyHash ??= hashPassword(`no account ${Math.random()}`);
    // Only the right password for this very stored hash can be in the cache; anything else
    // (a wrong password, an unknown name) pays the full hash, so failures all cost the same.
    const ok = user !== undefined
      ? this.verified.has(uname, user.hash, pwd) || await this.verifyAndRemember(uname, user.hash, pwd)
      : (this.hashChecks++, await verifyPassword(pwd, await this.dummyHash), false);
    if (!ok || !user) {
      const n = this.throttle.fail(uname, user !== undefined, peer);
      // One line per power of two: a flood is visible without flooding the log.
      if ((n & (n - 1)) === 0) {
        this.log(`login: ${n} failed attempt(s) ${user ? `for ${JSON.stringify(uname.slice(0, 64))}` : 'for unknown names'} from ${peer}`);
      }
      throw new ApiError('SESSION_AUTHENTICATION_FAILED', [uname, 'Authentication failure']);
    }
    this.throttle.succeed(uname, peer);
    const role = this.effectiveRole(user);
    // As xapi: a subject must hold a role to log in at all.
    if (!role) throw new ApiError('SESSION_AUTHORIZATION_FAILED', [uname, 'The subject holds no role in this pool']);
    return this.open({ ...user, role }, originator, internal);
  }

  private async verifyAndRemember(uname: string, hash: string, pwd: string): Promise<boolean> {
    this.hashChecks++;
    const ok = await verifyPassword(pwd, hash);
    if (ok) this.verified.remember(uname, hash, pwd);
    return ok;
  }

  /**
   * A user's role now: for a subject-backed user, the strongest role its subject holds in
   * the database, none when it holds none or is gone (looked up at every call, so a role
   * added or removed reaches open sessions at once); root is pool-admin.
   */
  effectiveRole(user: LocalUser): Role | undefined {
    if (!user.subject) return user.role;
    const subj = this.db.get('subject', user.subject);
    if (!subj) return undefined;
    const names = ((subj.roles ?? []) as string[]).map((r) => String(this.db.get('role', r)?.name_label ?? ''));
    return Roles.find((r) => names.includes(r));
  }

  /** Opens a session without a password check, for pool-internal logins already authenticated. */
  open(user: LocalUser, originator: string, internal = false, poolHost?: SessionInfo['poolHost']): SessionInfo {
    const ref = newRef<'session'>();
    const info = {
      ref, userName: user.name, role: user.role, isLocalSuperuser: user.name === 'root',
      originator, internal, lastActive: this.now(), ...(poolHost ? { poolHost } : {}),
      ...(user.subject ? { user } : {}),
    };
    this.sessions.set(ref, info);
    const nowStr = xapiDate(new Date(this.now()));
    this.db.create('session', ref, {
      uuid: newUuid(),
      this_host: this.hostRef(),
      last_active: nowStr,
      validation_time: nowStr,
      pool: internal,
      is_local_superuser: info.isLocalSuperuser,
      subject: user.subject ?? 'OpaqueRef:NULL',
      auth_user_name: user.name,
      // As xapi: a subject's session lists the permissions its role holds (XenCenter reads
      // them to grey out what the user may not do); root's and a host's list none, as
      // nothing is refused to them.
      rbac_permissions: user.subject && !internal ? permissionsOf(user.role).map((p) => p.name) : [],
      originator,
    });
    return info;
  }

  /** The live session for a ref, refreshed; SESSION_INVALID otherwise. */
  validate(ref: unknown): SessionInfo {
    const s = typeof ref === 'string' ? this.sessions.get(ref) : undefined;
    if (!s) throw new ApiError('SESSION_INVALID', [String(ref)]);
    const t = this.now();
    if (!s.internal && t - s.lastActive > IDLE_MS) {
      this.logout(s.ref);
      throw new ApiError('SESSION_INVALID', [String(ref)]);
    }
    if (s.user) {
      const role = this.effectiveRole(s.user);
      if (!role) {
        this.logout(s.ref);
        throw new ApiError('SESSION_INVALID', [String(ref)]);
      }
      s.role = role;
    }
    s.lastActive = t;
    return s;
  }

  logout(ref: string): void {
    if (!this.sessions.delete(ref)) return;
    if (this.db.get('session', ref)) this.db.remove('session', ref);
  }

  /** Ends every session of a user (after a password change, say), but the one given. */
  logoutUser(name: string, except?: string): void {
    for (const [ref, s] of this.sessions) if (s.userName === name && ref !== except) this.logout(ref);
  }

  get size(): number {
    return this.sessions.size;
  }
}
