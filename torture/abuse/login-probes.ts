/**
 * @module
 * Login abuse: a flood of unknown-user failures must not flush root's throttle (the delay
 * root's failures had earned must be there after the flood, not reset), and a failure for
 * an unknown user must take as long as one for a known user (no user enumeration by
 * timing). Both compare times measured in the same run against each other, never against
 * a constant. The flood comes from many loopback source addresses, as a botnet's would.
 */
import { RpcClient } from '../rpc-client.js';
import type { SuiteRecorder } from '../suite-result.js';

async function failOnce(url: string, addr: string, user: string): Promise<{ ms: number; code: string }> {
  const c = new RpcClient(url, 'json', addr, 120_000);
  try {
    const r = await c.call('session.login_with_password', [user, 'wrong-password', '1.1', 'abuse']);
    return { ms: r.ms, code: r.ok ? 'SUCCEEDED' : (r.error[0] ?? r.transport ?? '?') };
  } finally {
    c.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** 127.1.x.y for the flood's n-th failure: a fresh peer each time. */
const floodAddr = (n: number) => `127.1.${(n >> 8) & 255}.${n & 255}`;

export async function loginProbes(rec: SuiteRecorder, url: string, root: RpcClient, rootSession: string, floodCount: number): Promise<number> {
  // Known user vs unknown user, each try from a fresh peer so no throttle is involved.
  const userRole = await root.call('role.get_by_name_label', [rootSession, 'read-only']);
  if (userRole.ok) await root.call('subject.islet_create_local_user', [rootSession, 'abuse-known', 'its-password', (userRole.value as string[])[0]]);
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 7; i++) {
    known.push((await failOnce(url, `127.2.0.${10 + i}`, 'abuse-known')).ms);
    unknown.push((await failOnce(url, `127.2.1.${10 + i}`, `abuse-nobody-${i}`)).ms);
  }
  const k = median(known);
  const u = median(unknown);
  rec.figure('probe login timing', `failed login, median of 7: known user ${k.toFixed(1)} ms, unknown user ${u.toFixed(1)} ms (ratio ${(k / u).toFixed(1)})`);
  rec.check(k / u <= 3 && u / k <= 3, `login timing tells users apart: known ${k.toFixed(1)} ms vs unknown ${u.toFixed(1)} ms`);

  // Root's throttle: five failures from one peer, then the delay of a sixth is the reference.
  const attacker = '127.3.0.1';
  for (let i = 0; i < 5; i++) await failOnce(url, attacker, 'root');
  const before = await failOnce(url, attacker, 'root');
  const started = performance.now();
  let next = 0;
  const codes = new Map<string, number>();
  await Promise.all(Array.from({ length: 32 }, async () => {
    for (let n = next++; n < floodCount; n = next++) {
      const r = await failOnce(url, floodAddr(n), `flood-${n}-${Math.random().toString(36).slice(2, 8)}`);
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    }
  }));
  const floodSeconds = (performance.now() - started) / 1000;
  const after = await failOnce(url, attacker, 'root');
  rec.figure('probe login flood', `${floodCount} unknown-user failures from ${floodCount} peers in ${floodSeconds.toFixed(1)} s (${[...codes].map(([c, n]) => `${c} x${n}`).join(', ')}); `
    + `root's 6th failure took ${before.ms.toFixed(0)} ms, its 7th after the flood ${after.ms.toFixed(0)} ms`);
  rec.check(before.code === 'SESSION_AUTHENTICATION_FAILED' && after.code === 'SESSION_AUTHENTICATION_FAILED', `root's failures answered ${before.code} / ${after.code}`);
  rec.check(after.ms >= 0.8 * before.ms, `the flood reset root's throttle: ${before.ms.toFixed(0)} ms before, ${after.ms.toFixed(0)} ms after`);
  rec.check((codes.get('SUCCEEDED') ?? 0) === 0, 'a flood login succeeded');
  return 2;
}
