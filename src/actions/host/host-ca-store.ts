/**
 * @module
 * The CA certificates and CRLs a host trusts, kept as xapi keeps them: one PEM file each,
 * named by the administrator, in the host's own store (`<dataDir>/ca/certificates/`,
 * `<dataDir>/ca/crls/`, as xapi's /etc/stunnel/certs and crls). pool.certificate_install
 * and friends (`pool/pool-certificates.ts`) put the same files on every host through the
 * `host.islet_ca_*` messages here, each answered by the host named.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { onHost } from './on-host.js';

export type CaKind = 'certificate' | 'crl';

export function caKind(kind: string): CaKind {
  if (kind !== 'certificate' && kind !== 'crl') throw new ApiError('VALUE_NOT_SUPPORTED', ['kind', kind, 'certificate or crl']);
  return kind;
}

const codes = {
  certificate: { invalid: 'CERTIFICATE_NAME_INVALID', exists: 'CERTIFICATE_ALREADY_EXISTS', missing: 'CERTIFICATE_DOES_NOT_EXIST', corrupt: 'CERTIFICATE_CORRUPT' },
  crl: { invalid: 'CRL_NAME_INVALID', exists: 'CRL_ALREADY_EXISTS', missing: 'CRL_DOES_NOT_EXIST', corrupt: 'CRL_CORRUPT' },
} as const;

export const caError = (kind: CaKind, which: keyof (typeof codes)['crl'], name: string) => new ApiError(codes[kind][which], [name]);

/** xapi's rule for a name: letters, digits, dots, hyphens and underscores, ending .pem, not starting with a dot. */
export function assertCaName(kind: CaKind, name: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.') || !name.endsWith('.pem')) throw caError(kind, 'invalid', name);
}

const dirOf = (ctx: ActionContext, kind: CaKind) => join(ctx.services.dataDir, 'ca', kind === 'certificate' ? 'certificates' : 'crls');

export async function localList(ctx: ActionContext, kind: CaKind): Promise<string[]> {
  const entries = await readdir(dirOf(ctx, kind), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
}

export async function localInstall(ctx: ActionContext, kind: CaKind, name: string, pem: string): Promise<void> {
  assertCaName(kind, name);
  const dir = dirOf(ctx, kind);
  if ((await localList(ctx, kind)).includes(name)) throw caError(kind, 'exists', name);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, name), pem, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw caError(kind, 'exists', name);
    throw new ApiError('CERTIFICATE_LIBRARY_CORRUPT', []);
  }
}

export async function localUninstall(ctx: ActionContext, kind: CaKind, name: string): Promise<void> {
  assertCaName(kind, name);
  if (!(await localList(ctx, kind)).includes(name)) throw caError(kind, 'missing', name);
  try {
    await rm(join(dirOf(ctx, kind), name));
  } catch {
    throw caError(kind, 'corrupt', name);
  }
}

export async function localGet(ctx: ActionContext, kind: CaKind, name: string): Promise<string> {
  assertCaName(kind, name);
  try {
    return await readFile(join(dirOf(ctx, kind), name), 'utf8');
  } catch {
    throw caError(kind, 'corrupt', name);
  }
}

/** Only hosts of the pool reach another host's store. */
function poolOnly(ctx: ActionContext): void {
  if (!ctx.session?.internal) throw new ApiError('RBAC_PERMISSION_DENIED', ['host internal', 'Only hosts of the pool may call this']);
}

export const hostCaActions = {
  islet_ca_list: (ctx, a) => {
    poolOnly(ctx);
    return onHost(ctx, a.host, 'host.islet_ca_list', [a.host, a.kind], () => localList(ctx, caKind(a.kind)));
  },
  islet_ca_install: (ctx, a) => {
    poolOnly(ctx);
    return onHost(ctx, a.host, 'host.islet_ca_install', [a.host, a.kind, a.name, a.cert], async () => {
      await localInstall(ctx, caKind(a.kind), a.name, a.cert);
      return '';
    });
  },
  islet_ca_uninstall: (ctx, a) => {
    poolOnly(ctx);
    return onHost(ctx, a.host, 'host.islet_ca_uninstall', [a.host, a.kind, a.name], async () => {
      await localUninstall(ctx, caKind(a.kind), a.name);
      return '';
    });
  },
  islet_ca_get: (ctx, a) => {
    poolOnly(ctx);
    return onHost(ctx, a.host, 'host.islet_ca_get', [a.host, a.kind, a.name], () => localGet(ctx, caKind(a.kind), a.name));
  },
} satisfies ActionsOf<'host'>;
