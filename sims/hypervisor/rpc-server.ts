/**
 * @module
 * Serves a `SimHost` over the simulator protocol on TCP or a unix socket. A connection
 * is either a toolstack's (it says `hello` with the host's secret first, then calls the
 * port's methods and may `watch`) or another simulator's incoming migration (it opens
 * with `migrate.incoming` and a one-time token, then commits; if it drops before
 * committing, what the migration reserved is released).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { HypervisorError, HypervisorErrorCode, type ShutdownReason } from '../../src/core/ports/hypervisor.js';
import { JsonLines } from '../../src/hypervisor/json-lines.js';
import {
  SimMethod, errorToWire, formatSimAddress,
  type GuestBehaviour, type MigratingDomain, type SimAddress, type SimRequest,
} from '../../src/hypervisor/sim-protocol.js';
import type { IncomingMigration, SimHost } from './sim-host.js';

type Params = Record<string, any>;
type Handler = (p: Params, progress: (f: number) => void, conn: Conn) => Promise<unknown>;

interface Conn {
  readonly lines: JsonLines;
  role?: 'toolstack' | 'migration';
  incoming?: IncomingMigration;
  unwatch?: () => void;
}

function denied(why: string): HypervisorError {
  return new HypervisorError(HypervisorErrorCode.authFailed, why);
}

export class SimRpcServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly secret: Buffer;
  private readonly methods: Record<string, Handler>;
  private boundAddress?: SimAddress;

  constructor(private readonly host: SimHost, secret: string) {
    this.secret = Buffer.from(secret);
    this.server = createServer((s) => this.accept(s));
    const h = host;
    this.methods = {
      [SimMethod.info]: () => h.info(),
      [SimMethod.list]: () => h.list(),
      [SimMethod.stats]: () => h.stats(),
      [SimMethod.dmesg]: () => h.dmesg(),
      [SimMethod.debugKeys]: (p) => h.debugKeys(String(p.keys ?? '')),
      [SimMethod.create]: (p) => h.create({ vmUuid: p.vmUuid, memory: p.memory, vcpus: p.vcpus, paused: !!p.paused, nics: p.nics }),
      [SimMethod.plugNic]: (p) => h.plugNic(p.vmUuid, p.nic),
      [SimMethod.unplugNic]: (p) => h.unplugNic(p.vmUuid, p.device, { force: !!p.force }),
      [SimMethod.destroy]: (p) => h.destroy(p.vmUuid),
      [SimMethod.shutdown]: (p) => h.shutdown(p.vmUuid, { timeoutMs: Number(p.timeoutMs ?? 0) }),
      [SimMethod.reboot]: (p) => h.reboot(p.vmUuid, { clean: !!p.clean, timeoutMs: p.timeoutMs }),
      [SimMethod.pause]: (p) => h.pause(p.vmUuid),
      [SimMethod.unpause]: (p) => h.unpause(p.vmUuid),
      [SimMethod.suspend]: (p) => h.suspend(p.vmUuid, { path: p.path }),
      [SimMethod.resume]: (p) => h.resume({ vmUuid: p.vmUuid, path: p.path, paused: !!p.paused }),
      [SimMethod.prepareReceive]: (p) => h.prepareReceive(p.vmUuid),
      [SimMethod.migrateSend]: (p, progress) => h.migrateSend(p.vmUuid, p.dest, { onProgress: progress }),
      [SimMethod.watch]: async (_p, _progress, conn) => {
        conn.unwatch ??= await h.watch((event) => conn.lines.send({ event }));
        return null;
      },
      [SimMethod.guestConfigure]: async (p) => h.configureGuest(p.vmUuid, pickBehaviour(p.behaviour)),
      [SimMethod.guestShutdown]: async (p) => h.guestShutdown(p.vmUuid, p.reason as ShutdownReason),
    };
  }

  /** Listens and resolves with the address actually bound (port 0 picks one). */
  listen(addr: SimAddress): Promise<SimAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        const a = this.server.address();
        this.boundAddress = typeof a === 'object' && a ? { host: a.address, port: a.port } : addr;
        resolve(this.boundAddress);
      };
      if ('path' in addr) this.server.listen(addr.path, done);
      else this.server.listen(addr.port, addr.host, done);
    });
  }

  get address(): string {
    if (!this.boundAddress) throw new Error('not listening');
    return formatSimAddress(this.boundAddress);
  }

  /** Stops serving and cuts every connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const conn: Conn = { lines: new JsonLines(socket, (m) => void this.receive(conn, m)) };
    conn.lines.onClose(() => {
      this.sockets.delete(socket);
      conn.unwatch?.();
      conn.incoming?.abort();
    });
  }

  private async receive(conn: Conn, m: unknown): Promise<void> {
    const req = m as SimRequest;
    if (typeof req !== 'object' || req === null || typeof req.id !== 'number' || typeof req.method !== 'string') {
      conn.lines.destroy();
      return;
    }
    const p: Params = req.params && typeof req.params === 'object' ? req.params : {};
    try {
      const result = await this.dispatch(conn, req.method, p, (progress) => conn.lines.send({ id: req.id, progress }));
      conn.lines.send({ id: req.id, result: result ?? null });
    } catch (e) {
      conn.lines.send({ id: req.id, error: errorToWire(e) });
      if (e instanceof HypervisorError && e.code === HypervisorErrorCode.authFailed) conn.lines.end();
    }
  }

  private dispatch(conn: Conn, method: string, p: Params, progress: (f: number) => void): Promise<unknown> {
    if (!conn.role) return this.authenticate(conn, method, p);
    if (conn.role === 'migration') {
      if (method !== SimMethod.migrateCommit || !conn.incoming) throw denied(`${method} not allowed on a migration connection`);
      const incoming = conn.incoming;
      delete conn.incoming;
      return Promise.resolve(incoming.commit());
    }
    const handler = this.methods[method];
    if (!handler) throw new HypervisorError(HypervisorErrorCode.invalidArgument, `unknown method ${method}`);
    return handler(p, progress, conn);
  }

  private async authenticate(conn: Conn, method: string, p: Params): Promise<unknown> {
    if (method === SimMethod.hello) {
      const given = Buffer.from(typeof p.secret === 'string' ? p.secret : '');
      if (given.length !== this.secret.length || !timingSafeEqual(given, this.secret)) throw denied('wrong secret');
      conn.role = 'toolstack';
      return { bootId: this.host.bootId };
    }
    if (method === SimMethod.migrateIncoming) {
      conn.incoming = this.host.acceptIncoming(p.token, p.domain as MigratingDomain);
      conn.role = 'migration';
      return { accepted: true };
    }
    throw denied('say hello with the host secret first');
  }
}

function pickBehaviour(b: unknown): Partial<GuestBehaviour> {
  const o = (b && typeof b === 'object' ? b : {}) as Record<string, unknown>;
  const out: { -readonly [K in keyof GuestBehaviour]?: GuestBehaviour[K] } = {};
  if (typeof o.pvDrivers === 'boolean') out.pvDrivers = o.pvDrivers;
  if (typeof o.acknowledges === 'boolean') out.acknowledges = o.acknowledges;
  if (typeof o.shutdownMs === 'number' && o.shutdownMs >= 0) out.shutdownMs = o.shutdownMs;
  if (typeof o.cpuLoad === 'number' && o.cpuLoad >= 0 && o.cpuLoad <= 1) out.cpuLoad = o.cpuLoad;
  if (typeof o.netRate === 'number' && o.netRate >= 0 && Number.isFinite(o.netRate)) out.netRate = o.netRate;
  return out;
}
