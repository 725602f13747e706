/**
 * @module
 * The toolstack's log, by key: each part of the toolstack gets a log function for its key
 * (`router.logger('nbd')`), every line goes into the in-memory recent log (`xe log-get`),
 * and from there to the output its key is set to (stderr unless `xe log-set-output` said
 * otherwise), when its level is at or above the level set with it. Setting an output with
 * no key sets it for every key, as xapi's "set all loggers" does; with a key, that key
 * alone. An output no key uses any longer is closed. The change itself is logged (under the
 * key set, or `xapi`) so that the new output starts with a line saying where the log went.
 */
import { ApiError } from '../core/api-error.js';
import { LOG_LEVELS, type LogControl, type LogLevel } from '../core/ports/log-control.js';
import type { LogRing } from './log-ring.js';
import { type LogOutput, type OutputPlaces, RemoteSyslogOutput, openLogOutput } from './log-outputs.js';

interface Route { readonly output: LogOutput; readonly lowest: number }

export class LogRouter implements LogControl {
  private readonly known = new Set<string>(['xapi']);
  private fallback: Route;
  private readonly byKey = new Map<string, Route>();
  /** host.logging's syslog_destination, which gets every line besides its key's output. */
  private remote: RemoteSyslogOutput | undefined;

  constructor(private readonly ring: LogRing, private readonly places: OutputPlaces) {
    this.fallback = { output: openLogOutput('stderr', places), lowest: 0 };
  }

  get logDir(): string {
    return this.places.logDir;
  }

  /** The log function of one part of the toolstack. */
  logger(key: string, level: LogLevel = 'info'): (message: string) => void {
    this.known.add(key);
    return (message: string) => this.write(key, level, message);
  }

  write(key: string, level: LogLevel, message: string): void {
    this.ring.add(message);
    const route = this.byKey.get(key) ?? this.fallback;
    if (LOG_LEVELS.indexOf(level) >= route.lowest) route.output.write(key, level, message);
    this.remote?.write(key, level, message);
  }

  keys(): string[] {
    return [...this.known].sort();
  }

  async setOutput(output: string, key?: string, level?: string): Promise<void> {
    if (key !== undefined && !this.known.has(key)) {
      throw new ApiError('VALUE_NOT_SUPPORTED', ['key', key, `not a logging key; one of ${this.keys().join(', ')}`]);
    }
    const lowest = level === undefined ? 0 : LOG_LEVELS.indexOf(level as LogLevel);
    if (lowest < 0) throw new ApiError('VALUE_NOT_SUPPORTED', ['level', String(level), `one of ${LOG_LEVELS.join(', ')}`]);
    const route = { output: openLogOutput(output, this.places), lowest };
    const before = this.outputs();
    if (key === undefined) {
      this.fallback = route;
      this.byKey.clear();
    } else {
      this.byKey.set(key, route);
    }
    const now = this.outputs();
    for (const o of before) if (!now.has(o)) o.close();
    this.write(key ?? 'xapi', 'info', `log output of ${key === undefined ? 'every key' : `key ${key}`}${level ? ` from level ${level} up` : ''}: ${output}`);
  }

  async setRemoteSyslog(destination: string | undefined): Promise<void> {
    const next = destination ? new RemoteSyslogOutput(destination) : undefined;
    this.remote?.close();
    this.remote = next;
    this.write('xapi', 'info', `remote syslog: ${destination || 'none'}`);
  }

  async reopen(): Promise<void> {
    // Every file is tried; the first failure is reported after (its key keeps the old file).
    let failure: unknown;
    for (const o of this.outputs()) {
      try {
        o.reopen();
      } catch (e) {
        failure ??= e;
      }
    }
    this.write('xapi', 'info', 'log files reopened');
    if (failure) throw failure;
  }

  private outputs(): Set<LogOutput> {
    return new Set([this.fallback.output, ...[...this.byKey.values()].map((r) => r.output)]);
  }
}
