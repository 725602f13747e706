/**
 * @module
 * pool.certificate_install/uninstall/list, crl_install/uninstall/list and certificate_sync:
 * CA certificates and revocation lists every host of the pool holds, as xapi keeps them.
 * The host answering (the master) changes its own store first, then brings every other
 * host's store in line with its own (certificate_sync: extra files removed, missing ones
 * copied); when that fails an install is undone here and the failure reported. The PEM is
 * checked before anything is stored: a certificate must parse as X.509
 * (CERTIFICATE_CORRUPT), a CRL must be a PEM "X509 CRL" block holding a DER sequence
 * (CRL_CORRUPT).
 */
import { X509Certificate } from 'node:crypto';
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { type CaKind, assertCaName, caError, localGet, localInstall, localList, localUninstall } from '../host/host-ca-store.js';

function pemBlocks(text: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** A DER SEQUENCE whose length covers the whole block. */
function isDerSequence(der: Buffer): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const first = der[1]!;
  if (first < 0x80) return der.length === 2 + first;
  const n = first & 0x7f;
  if (n < 1 || n > 4 || der.length < 2 + n) return false;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return der.length === 2 + n + len;
}

function assertPem(kind: CaKind, name: string, pem: string): void {
  if (kind === 'certificate') {
    if (pemBlocks(pem, 'CERTIFICATE').length === 0) throw caError(kind, 'corrupt', name);
    try {
      new X509Certificate(pem);
    } catch {
      throw caError(kind, 'corrupt', name);
    }
    return;
  }
  const blocks = pemBlocks(pem, 'X509 CRL');
  if (blocks.length === 0 || !blocks.every(isDerSequence)) throw caError(kind, 'corrupt', name);
}

/** Every host but this one. */
const otherHosts = (ctx: ActionContext): Ref<'host'>[] => ctx.db.all('host').map(([ref]) => ref).filter((h) => h !== ctx.services.hostRef);

/** Makes one host's store of `kind` hold exactly this host's files. */
async function syncHost(ctx: ActionContext, kind: CaKind, host: Ref<'host'>, mine: readonly string[]): Promise<void> {
  const link = ctx.services.pool;
  if (!link) throw new ApiError('HOST_OFFLINE', [host]);
  const theirs = (await link.callOnHost(host, 'host.islet_ca_list', [host, kind])) as string[];
  for (const name of theirs) if (!mine.includes(name)) await link.callOnHost(host, 'host.islet_ca_uninstall', [host, kind, name]);
  for (const name of mine) {
    if (!theirs.includes(name)) await link.callOnHost(host, 'host.islet_ca_install', [host, kind, name, await localGet(ctx, kind, name)]);
  }
}

/** Every other host tried; the last failure is reported after, as xapi does. */
async function poolSync(ctx: ActionContext): Promise<void> {
  let failure: unknown;
  for (const kind of ['certificate', 'crl'] as const) {
    const mine = await localList(ctx, kind);
    for (const host of otherHosts(ctx)) {
      try {
        await syncHost(ctx, kind, host, mine);
      } catch (e) {
        failure = e;
      }
    }
  }
  if (failure) throw failure;
}

async function poolInstall(ctx: ActionContext, kind: CaKind, name: string, pem: string): Promise<string> {
  assertCaName(kind, name);
  assertPem(kind, name, pem);
  await localInstall(ctx, kind, name, pem);
  try {
    await poolSync(ctx);
  } catch (e) {
    await localUninstall(ctx, kind, name).catch(() => undefined);
    throw e;
  }
  return '';
}

async function poolUninstall(ctx: ActionContext, kind: CaKind, name: string): Promise<string> {
  await localUninstall(ctx, kind, name);
  await poolSync(ctx);
  return '';
}

export const poolCertificateActions = {
  certificate_install: (ctx, a) => poolInstall(ctx, 'certificate', a.name, a.cert),
  certificate_uninstall: (ctx, a) => poolUninstall(ctx, 'certificate', a.name),
  certificate_list: (ctx) => localList(ctx, 'certificate'),
  crl_install: (ctx, a) => poolInstall(ctx, 'crl', a.name, a.cert),
  crl_uninstall: (ctx, a) => poolUninstall(ctx, 'crl', a.name),
  crl_list: (ctx) => localList(ctx, 'crl'),
  certificate_sync: async (ctx) => {
    await poolSync(ctx);
    return '';
  },
} satisfies ActionsOf<'pool'>;
