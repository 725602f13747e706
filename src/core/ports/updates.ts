/**
 * @module
 * What the update actions need from the host beyond the database: a pool-internal session
 * (members fetch update files from the master with it; a resumed rolling update has no
 * caller's session), a time limit for package hooks, a log, and the rolling-update runs
 * this process is driving, so that an abort reaches a run in flight.
 */

export interface InternalSession {
  readonly ref: string;
  close(): void;
}

export interface UpdatesPort {
  internalSession(): InternalSession;
  readonly hookTimeoutMs: number;
  log(msg: string): void;
  /** Rolling update runs executing in this process, by run ref. */
  readonly activeRuns: Map<string, AbortController>;
  /**
   * A XenAPI call on this host as the pool's internal user (no session argument), with a
   * decoded result: how a rolling update disables, evacuates and restarts hosts.
   */
  call(method: string, params: readonly unknown[]): Promise<unknown>;
  /** Creates a task that no client started (a rolling update resumed at start-up). */
  createTask(nameLabel: string): { readonly ref: string; setProgress(f: number): void; succeed(resultXml: string): void; fail(code: string, params: readonly string[]): void };
}
