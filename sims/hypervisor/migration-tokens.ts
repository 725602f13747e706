/**
 * @module
 * One-time tokens authorising an incoming migration of one VM, issued on the
 * destination toolstack's request. A token is consumed by the first connection that
 * presents it and lapses after a while if none does.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { HypervisorError, HypervisorErrorCode } from '../../src/core/ports/hypervisor.js';

export class MigrationTokens {
  private readonly tokens = new Map<string, { vmUuid: string; expiresAt: number }>();

  constructor(private readonly ttlMs = 10 * 60_000) {}

  issue(vmUuid: string): string {
    this.prune();
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, { vmUuid, expiresAt: Date.now() + this.ttlMs });
    return token;
  }

  /** Consumes a token for `vmUuid`, or refuses with BAD_TOKEN. */
  consume(token: unknown, vmUuid: string): void {
    this.prune();
    const entry = typeof token === 'string' ? this.lookup(token) : undefined;
    if (!entry || entry[1].vmUuid !== vmUuid) {
      throw new HypervisorError(HypervisorErrorCode.badToken, `no valid migration token for VM ${vmUuid}`, { vmUuid });
    }
    this.tokens.delete(entry[0]);
  }

  private lookup(token: string): [string, { vmUuid: string; expiresAt: number }] | undefined {
    const given = Buffer.from(token);
    for (const e of this.tokens) {
      const known = Buffer.from(e[0]);
      if (known.length === given.length && timingSafeEqual(known, given)) return e;
    }
    return undefined;
  }

  private prune(): void {
    const now = Date.now();
    for (const [t, e] of this.tokens) if (e.expiresAt <= now) this.tokens.delete(t);
  }
}
