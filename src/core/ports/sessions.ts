/**
 * @module
 * Who is calling: a logged-in session as the toolstack knows it, and the login and user
 * bookkeeping the session actions need. The API layer's session store implements it.
 */
import type { Ref } from '../ref.js';
import type { Role } from '../../datamodel/roles.js';

/** A logged-in session as the toolstack knows it (the DB row holds the public part). */
export interface SessionInfo {
  readonly ref: Ref<'session'>;
  readonly userName: string;
  readonly role: Role;
  readonly isLocalSuperuser: boolean;
  readonly originator: string;
  /** Pool-internal sessions (member to master) are not subject to idle expiry. */
  readonly internal: boolean;
  /**
   * For a session another host opened with its pool credential: that host's uuid and the
   * digest of the credential it proved, re-checked on every call (eject or re-issue ends it).
   */
  readonly poolHost?: { readonly uuid: string; readonly digest: string };
}

/** Login and session bookkeeping, as the session actions need it. */
export interface SessionsPort {
  login(uname: string, pwd: string, originator: string, peer: string): Promise<SessionInfo>;
  logout(ref: string): void;
  logoutUser(name: string, except?: string): void;
  getUser(name: string): { name: string; hash: string; role: Role; subject?: string } | undefined;
  setUser(name: string, password: string, role: Role, subject?: string): Promise<void>;
  removeUser(name: string): void;
  /** A role given to or taken from the user's subject (recently verified logins are dropped). */
  rolesChanged(name: string): void;
}

/** Opening (and ending) a session for a caller authenticated another way (a host of the pool). */
export interface SessionOpener {
  logout(ref: string): void;
  open(user: { readonly name: string; readonly role: Role }, originator: string, internal?: boolean, poolHost?: SessionInfo['poolHost']): SessionInfo;
}
