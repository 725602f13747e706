/**
 * @module
 * The toolstack's own logging, as `xe log-set-output`, `log-get-keys` and `log-reopen`
 * steer it: every part of the toolstack logs under a key (`session`, `nbd`, `storage`…),
 * and each key's lines go to one output (nothing, stderr, only the in-memory recent log,
 * syslog, or a file in the host's log directory) from a lowest level up. xapi does this in
 * its CLI server, inside the process; here xe reaches it through XenAPI, so the checks on
 * what a client may ask (which files) live behind this port, in `src/main/`.
 */

/** Levels, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogControl {
  /** The keys the toolstack logs under, sorted. */
  keys(): string[];
  /** The directory file outputs must be in. */
  readonly logDir: string;
  /**
   * Sends the lines of `key` (every key when absent) from `level` up (every level when
   * absent) to `output`: `nil`, `stderr`, `string`, `syslog[:facility]` or `file:<path>`.
   * Throws an ApiError for an output, key, level or file a client may not ask for.
   */
  setOutput(output: string, key?: string, level?: string): Promise<void>;
  /** Closes and opens again every file output (after logrotate moved the files). */
  reopen(): Promise<void>;
  /**
   * Also sends every line to a remote syslog server (`host` or `host:port`, UDP, port 514
   * by default), as host.syslog_reconfigure applies `host.logging`'s syslog_destination;
   * undefined stops that. Throws an ApiError for a destination that is not host[:port].
   */
  setRemoteSyslog(destination: string | undefined): Promise<void>;
}
