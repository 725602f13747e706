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

/** The largest update file taken by default: 4 GiB, the package format's own bound. */
export const DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * Where the HTTP handlers keep and find update files, so that they reach the updates
 * subsystem through this port and never its internals.
 */
export interface UpdateStore {
  /** The directory uploads are received into (on the same file system as the store). */
  readonly incomingDir: string;
  /**
   * Verifies a received update file against the pool's trusted keys, keeps it and makes
   * its `pool_patch` and `pool_update` records; returns the `pool_patch` ref. The file at
   * `path` is consumed either way. Refusals are XenAPI errors (`INVALID_PATCH…`,
   * `PATCH_ALREADY_EXISTS`).
   */
  accept(path: string, size: number): Promise<string>;
  /** The path of a kept update file, by its uuid (the file may not exist). */
  storedPath(uuid: string): string;
}
