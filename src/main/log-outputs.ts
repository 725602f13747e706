/**
 * @module
 * The places the toolstack's log lines can go, as `xe log-set-output` names them: `nil`,
 * `stderr`, `string` (only the in-memory recent log that `xe log-get` prints),
 * `syslog[:facility]` (a `logger` process writing to the syslog socket) and `file:<path>`.
 * A client names files, and the toolstack runs as root: a file must sit directly in the
 * host's log directory, is opened without following a symbolic link (so a link planted
 * there cannot point it elsewhere), and must be a regular file. Anything else is refused
 * with VALUE_NOT_SUPPORTED naming the directory, before anything is opened or created.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, constants, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { ApiError } from '../core/api-error.js';
import type { LogLevel } from '../core/ports/log-control.js';

export interface LogOutput {
  /** As the client named it (`file:/var/log/islet/toolstack.log`). */
  readonly name: string;
  write(key: string, level: LogLevel, message: string): void;
  /** Files: close and open the path again. */
  reopen(): void;
  close(): void;
}

const refuse = (output: string, reason: string) => new ApiError('VALUE_NOT_SUPPORTED', ['output', output, reason]);

/** A file directly in `logDir`, appended to; each line stamped with its UTC time and key. */
class FileOutput implements LogOutput {
  private fd: number;

  constructor(readonly name: string, private readonly path: string) {
    this.fd = FileOutput.open(name, path);
  }

  private static open(name: string, path: string): number {
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO planted under the name must not hang the toolstack.
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o640);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw refuse(name, code === 'ELOOP' ? 'the log file is a symbolic link' : code === 'ENXIO' ? 'the log file is not a regular file' : `cannot open the log file: ${code ?? String(e)}`);
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw refuse(name, 'the log file is not a regular file');
    }
    return fd;
  }

  write(key: string, level: LogLevel, message: string): void {
    const stamp = new Date().toISOString();
    const text = message.split('\n').map((l) => `${stamp} ${level} [${key}] ${l}\n`).join('');
    try {
      writeSync(this.fd, text);
    } catch {
      // A full disk loses log lines, never the call that logged them.
    }
  }

  reopen(): void {
    const fd = FileOutput.open(this.name, this.path);
    closeSync(this.fd);
    this.fd = fd;
  }

  close(): void {
    closeSync(this.fd);
  }
}

const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
const SEVERITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/** One `logger` process fed a line per message, each with its own priority (`--prio-prefix`). */
class SyslogOutput implements LogOutput {
  private readonly child: ChildProcess;

  constructor(readonly name: string, private readonly facility: number, socket: string) {
    this.child = spawn('logger', ['-u', socket, '--prio-prefix', '-t', 'islet', `--id=${process.pid}`],
      { stdio: ['pipe', 'ignore', 'ignore'] });
    this.child.on('error', () => undefined);
    this.child.stdin!.on('error', () => undefined);
  }

  write(key: string, level: LogLevel, message: string): void {
    if (this.child.exitCode !== null || !this.child.stdin!.writable) return;
    const pri = this.facility * 8 + SEVERITY[level];
    this.child.stdin!.write(message.split('\n').map((l) => `<${pri}>[${key}] ${l}\n`).join(''));
  }

  reopen(): void {}

  close(): void {
    this.child.stdin!.end();
  }
}

class FunctionOutput implements LogOutput {
  constructor(readonly name: string, private readonly sink: ((m: string) => void) | undefined) {}
  write(_key: string, _level: LogLevel, message: string): void {
    this.sink?.(message);
  }
  reopen(): void {}
  close(): void {}
}

export interface OutputPlaces {
  /** Where `stderr` lines go (the process's stderr, or a test's log function). */
  readonly stderr: (m: string) => void;
  readonly logDir: string;
  /** The syslog socket (`/dev/log`). */
  readonly syslogSocket: string;
}

/** Opens the output a client named, or throws the ApiError saying why it may not. */
export function openLogOutput(output: string, places: OutputPlaces): LogOutput {
  if (output === 'nil') return new FunctionOutput(output, undefined);
  if (output === 'stderr') return new FunctionOutput(output, places.stderr);
  if (output === 'string') return new FunctionOutput(output, undefined);
  if (output === 'syslog' || output.startsWith('syslog:')) {
    const facility = output === 'syslog' ? 'daemon' : output.slice('syslog:'.length);
    if (FACILITIES[facility] === undefined) throw refuse(output, `unknown syslog facility; one of ${Object.keys(FACILITIES).join(', ')}`);
    const isSocket = (() => {
      try {
        return statSync(places.syslogSocket).isSocket();
      } catch {
        return false;
      }
    })();
    if (!isSocket) throw refuse(output, `no syslog socket at ${places.syslogSocket}`);
    return new SyslogOutput(output, FACILITIES[facility]!, places.syslogSocket);
  }
  if (output.startsWith('file:')) {
    const asked = output.slice('file:'.length);
    const dir = resolve(places.logDir);
    const path = isAbsolute(asked) ? resolve(asked) : resolve(dir, asked);
    if (asked === '' || asked.includes('\0') || dirname(path) !== dir || basename(path).startsWith('.')) {
      throw refuse(output, `log files must be directly in the host's log directory ${dir}`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    return new FileOutput(output, path);
  }
  throw refuse(output, 'one of nil, stderr, string, syslog, syslog:<facility>, file:<file in the host\'s log directory>');
}

/**
 * A remote syslog server, as XenServer's syslog forwards to `syslog_destination`: one UDP
 * datagram per line (RFC 3164 form, facility daemon), sent and forgotten. A server that is
 * down or a name that does not resolve loses lines, never the call that logged them.
 */
export class RemoteSyslogOutput implements LogOutput {
  private readonly socket: Socket;
  readonly host: string;
  readonly port: number;

  constructor(readonly name: string) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(name);
    const port = m?.[3] === undefined ? 514 : Number(m[3]);
    if (!m || port < 1 || port > 65535) throw new ApiError('VALUE_NOT_SUPPORTED', ['syslog_destination', name, 'a host name or address, with :port if not 514']);
    this.host = m[1] ?? m[2]!;
    this.port = port;
    this.socket = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    this.socket.on('error', () => undefined);
    this.socket.unref();
  }

  write(key: string, level: LogLevel, message: string): void {
    const pri = FACILITIES.daemon! * 8 + SEVERITY[level];
    for (const line of message.split('\n')) {
      this.socket.send(`<${pri}>islet[${process.pid}]: [${key}] ${line}`, this.port, this.host, () => undefined);
    }
  }

  reopen(): void {}

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
