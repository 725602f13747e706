/**
 * @module
 * A host's API port, bound once by the supervisor and handed to each toolstack it starts
 * (as file descriptor 3). The supervisor only binds it; the toolstack listens and accepts.
 * Once listened on, the socket keeps listening while the supervisor holds it, so during a
 * toolstack restart new connections wait in the kernel's queue and the new toolstack takes
 * them: clients (Xen Orchestra's reconnect, `xe`) see a pause, never a refusal, as they do
 * when xapi restarts behind its port. A host that goes down lets go of it, so connections
 * to a rebooting or halted host are refused as they should be.
 *
 * Node offers no public way to bind without listening (a listening server in the
 * supervisor would accept connections itself), hence the internal TCP handle. libuv defers
 * a bind's EADDRINUSE to the listen, so a taken port shows only when the bound name is read
 * back: an unbound socket handed on would be listened on at a port the kernel picks, and
 * the host would silently serve somewhere clients do not look.
 */
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';

interface TcpHandle {
  readonly fd: number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  getsockname(out: Record<string, unknown>): number;
  close(): void;
}

interface TcpWrap {
  TCP: new (type: number) => TcpHandle;
  constants: { SERVER: number };
}

export interface HeldListenSocket {
  /** The descriptor to hand to a child. */
  readonly fd: number;
  /** The port bound (the one asked for, or the one the system chose for 0). */
  readonly port: number;
  close(): void;
}

export function bindListenSocket(host: string, port: number): HeldListenSocket {
  const binding = (process as unknown as { binding(name: string): unknown }).binding('tcp_wrap') as TcpWrap;
  const handle = new binding.TCP(binding.constants.SERVER);
  const v6 = host.includes(':');
  const where = `${v6 ? `[${host}]` : host}:${port}`;
  const fail = (err: number): never => {
    handle.close();
    const code = err < 0 ? getSystemErrorName(err) : String(err);
    const why = code === 'EADDRINUSE' ? 'the address and port are already in use' : `bind failed`;
    throw Object.assign(new Error(`cannot listen on ${where}: ${why} (${code})`), { code });
  };
  const err = v6 ? handle.bind6(host, port, 0) : handle.bind(host, port);
  if (err !== 0) fail(err);
  const name: Record<string, unknown> = {};
  const nameErr = handle.getsockname(name);
  if (nameErr !== 0) fail(nameErr);
  if (port !== 0 && Number(name.port) !== port) fail(-constants.errno.EADDRINUSE);
  let open = true;
  return {
    fd: handle.fd,
    port: Number(name.port),
    close: () => {
      if (!open) return;
      open = false;
      handle.close();
    },
  };
}
