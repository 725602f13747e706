/**
 * @module
 * The PoolLink port as the pool layer fills it: membership questions answered from this
 * host's role, host-local work run on the host that must do it (through the local
 * dispatcher for this host, over a pooled pool-internal connection for the others; a host
 * that is not live or does not answer gives HOST_OFFLINE), and files fetched from the
 * master with this host's credential.
 */
import { createWriteStream } from 'node:fs';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../core/api-error.js';
import { HOST_CREDENTIAL_HEADER, HOST_UUID_HEADER, POOL_FILE_PATH, type PoolLink } from '../core/ports/pool-link.js';
import type { PoolMembership } from '../core/ports/pool-membership.js';
import type { Ref } from '../core/ref.js';
import { peerUrl } from './host-address.js';
import { poolMembership } from './pool-membership-service.js';
import type { PoolNode } from './pool-node.js';

/** How long a member's answer waits for the master to take its writes. */
const WRITES_APPLIED_MS = 10_000;

export class PoolLinkImpl implements PoolLink {
  readonly membership: PoolMembership;

  constructor(readonly node: PoolNode) {
    this.membership = poolMembership(node);
  }

  isMaster(): boolean {
    return this.node.isMaster();
  }

  masterAddress(): string {
    return this.node.masterAddressForClients();
  }

  callOnHost(host: Ref<'host'>, method: string, params: readonly unknown[], opts: { readonly timeoutMs?: number } = {}): Promise<unknown> {
    return this.node.callOnHost(host, method, params, opts);
  }

  writesBarrier(): () => Promise<void> {
    // The link of the call's start: a call that made this host follow a new master (its
    // old link stopped) has nothing to wait for. Bounded: the writes stay queued.
    const link = this.node.member;
    return () => link?.whenApplied(WRITES_APPLIED_MS) ?? Promise.resolve();
  }

  /**
   * Copies a file kept under the master's data directory (`path` relative to it) to `dest`
   * on this host: how a member gets an uploaded update before applying it.
   */
  async fetchFromMaster(path: string, dest: string): Promise<void> {
    const url = new URL(POOL_FILE_PATH, peerUrl(this.node.masterHostPort()));
    url.searchParams.set('path', path);
    const cred = this.node.credential;
    if (!cred) throw new ApiError('INTERNAL_ERROR', ['this host holds no pool credential']);
    await new Promise<void>((resolve, reject) => {
      const headers = { [HOST_UUID_HEADER]: cred.hostUuid, [HOST_CREDENTIAL_HEADER]: cred.token };
      const req = https.get(url, { rejectUnauthorized: false, headers, timeout: 30_000 }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new ApiError('INTERNAL_ERROR', [`fetching ${path} from the master: HTTP ${res.statusCode}`]));
          return;
        }
        pipeline(res, createWriteStream(dest)).then(resolve, reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer from the master')));
      req.on('error', (e) => reject(new ApiError('INTERNAL_ERROR', [`fetching ${path} from the master: ${e.message}`])));
    });
  }
}
