/**
 * @module
 * Logins and live sessions. Users and their password hashes live in the pool database's
 * internal store; sessions live in memory only (and as memory-only `session` rows that
 * clients can read), so a toolstack restart invalidates them, as in xapi. Failed logins
 * are answered more slowly each time, per user and per peer, to blunt guessing.
 */
import { ApiError } from '../core/api-error.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import { newRef, newUuid, xapiDate, type Ref } from '../core/ref.js';
import { Roles, type Role } from '../datamodel/roles.js';
import type { SessionInfo } from '../core/ports/sessions.js';
import { hashPassword, verifyPassword } from './password-hash.js';

export interface LocalUser {
  readonly name: string;
  readonly hash: string;
  readonly role: Role;
  /** The subject record that carries this user's role, when not root. */
  readonly subject?: string;
}

const USER_KEY = (name: string) => `user:${name}`;
const IDLE_MS = 24 * 3600 * 1000;
const MAX_DELAY_MS = 4000;

export class SessionStore {
  private readonly sessions = new Map<string, SessionInfo & { lastActive: number }>();
  private readonly failures = new Map<string, { count: number; last: number }>();

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
  }

  removeUser(name: string): void {
    this.db.setMeta(USER_KEY(name), undefined);
  }

  async login(uname: string, pwd: string, originator: string, peer: string, internal = false): Promise<SessionInfo> {
    await this.throttle(uname, peer);
    const user = this.getUser(uname);
    const ok = user !== undefined && (await verifyPassword(pwd, user.hash));
    if (!ok) {
      this.recordFailure(uname, peer);
      throw new ApiError('SESSION_AUTHENTICATION_FAILED', [uname, 'Authentication failure']);
    }
    this.failures.delete(`${uname}|${peer}`);
    this.failures.delete(`${uname}|*`);
    return this.open({ ...user, role: this.effectiveRole(user) }, originator, internal);
  }

  /**
   * A user's role now: for a subject-backed user, the strongest role its subject holds in
   * the database (so `subject.add_to_roles` takes effect at the next login); root is
   * pool-admin.
   */
  effectiveRole(user: LocalUser): Role {
    if (!user.subject) return user.role;
    const subj = this.db.get('subject', user.subject as Ref);
    if (!subj) return 'read-only';
    const names = (subj.roles as string[]).map((r) => String(this.db.get('role', r as Ref)?.name_label ?? ''));
    return Roles.find((r) => names.includes(r)) ?? 'read-only';
  }

  /** Opens a session without a password check, for pool-internal logins already authenticated. */
  open(user: LocalUser, originator: string, internal = false, poolHost?: SessionInfo['poolHost']): SessionInfo {
    const ref = newRef<'session'>();
    const info = {
      ref, userName: user.name, role: user.role, isLocalSuperuser: user.name === 'root',
      originator, internal, lastActive: this.now(), ...(poolHost ? { poolHost } : {}),
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
    s.lastActive = t;
    return s;
  }

  logout(ref: string): void {
    if (!this.sessions.delete(ref)) return;
    if (this.db.get('session', ref as Ref)) this.db.remove('session', ref as Ref);
  }

  /** Ends every session of a user (after a password change, say), but the one given. */
  logoutUser(name: string, except?: string): void {
    for (const [ref, s] of this.sessions) if (s.userName === name && ref !== except) this.logout(ref);
  }

  get size(): number {
    return this.sessions.size;
  }

  private async throttle(uname: string, peer: string): Promise<void> {
    const f = Math.max(this.failures.get(`${uname}|${peer}`)?.count ?? 0, (this.failures.get(`${uname}|*`)?.count ?? 0) - 5);
    if (f <= 0) return;
    const delay = Math.min(MAX_DELAY_MS, 100 * 2 ** (f - 1));
    await new Promise((r) => setTimeout(r, delay));
  }

  private recordFailure(uname: string, peer: string): void {
    for (const key of [`${uname}|${peer}`, `${uname}|*`]) {
      const f = this.failures.get(key) ?? { count: 0, last: 0 };
      f.count++;
      f.last = this.now();
      this.failures.set(key, f);
    }
    if (this.failures.size > 10000) this.failures.clear();
  }
}
