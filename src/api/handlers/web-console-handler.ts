/**
 * @module
 * Serves the built web console (a static single-page app) at `/` on the API port, as
 * XenServer serves its welcome page there. Only GET and HEAD; the XML-RPC POST on `/` is
 * handled before this. Paths are decoded, normalised and must stay inside the console's
 * folder; anything else, or a file that does not exist, is a 404. Files are read per
 * request (the folder is small) so a rebuilt console is served without a restart. The
 * console talks to other hosts of the pool too (the master after HOST_IS_SLAVE or a
 * change of master, a member for its `/rrd_updates`), so its connect-src names them.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** `host:port` as a CSP source (names, IPv4, ports); anything else is left out. */
const SOURCE = /^[A-Za-z0-9.-]+(?::\d{1,5})?$/;

function security(connect: readonly string[]): Record<string, string> {
  const others = connect.filter((c) => SOURCE.test(c));
  return {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    // The console loads nothing from elsewhere; echarts and React set styles through the DOM.
    'content-security-policy': `default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src ${['\'self\'', ...others].join(' ')}; frame-ancestors 'none'`,
  };
}

/** The file under `root` a request path names, or undefined when it would leave `root`. */
export function resolveConsolePath(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  if (decoded.split('/').some((part) => part === '..')) return undefined;
  const rel = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const full = normalize(join(root, rel));
  const base = normalize(root.endsWith(sep) ? root : root + sep);
  return full.startsWith(base) ? full : undefined;
}

/**
 * @param poolHosts the `host:port` of every host of the pool, given the port this request
 *   came in on (for addresses that name no port).
 */
export function createWebConsoleHandler(root: string, poolHosts: (port: number) => string[] = () => []): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  return async (req, res, pathname) => {
    req.resume();
    const SECURITY = security(poolHosts(req.socket.localPort ?? 0));
    const notFound = () => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY });
      res.end('Not found\n');
    };
    const file = resolveConsolePath(root, pathname);
    if (!file) return notFound();
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return notFound();
    const body = await readFile(file);
    const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    // Vite names assets by content hash: they may be cached for good; index.html may not.
    const cache = pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': cache, ...SECURITY });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
