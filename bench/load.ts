/**
 * @module
 * A small closed-loop HTTP load generator: `connections` keep-alive connections, each
 * sending its next request as soon as the previous answer arrived, for `seconds`.
 */
import { Agent, request } from 'node:http';

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
}

export async function closedLoop(
  url: string,
  body: () => string,
  opts: { connections: number; seconds: number; check?: (status: number, text: string) => boolean },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const u = new URL(url);
  const deadline = performance.now() + opts.seconds * 1000;
  let requests = 0;
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const b = body();
      const req = request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ok = opts.check ? opts.check(res.statusCode ?? 0, Buffer.concat(chunks).toString()) : res.statusCode === 200;
            if (ok) requests++;
            else errors++;
            resolve();
          });
        },
      );
      req.on('error', () => { errors++; resolve(); });
      req.end(b);
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { requests, errors, seconds, perSecond: requests / seconds };
}
