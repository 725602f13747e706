/**
 * @module
 * Fuzz target for update archives: the bytes of a signed `.xsupdate` (built in setup with a
 * fresh Ed25519 key, payload, hooks) are mutated and verified as an upload is. A refusal
 * must be a typed `ApiError` (never `INTERNAL_ERROR`). A mutated archive that still verifies
 * must carry exactly the original's manifest and file hashes: anything else means a
 * change got past the signature, which is a finding too.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { ApiError } from '../../src/core/api-error.js';
import { buildUpdate } from '../../src/updates/package/build-update.js';
import { verifyUpdateFile } from '../../src/updates/package/verify-update.js';
import { Finding, unexpected, type FuzzTarget } from './fuzz-target.js';

interface Ctx { dir: string; publicKey: string; original: string; seed: Buffer; n: number }

const digest = (v: { manifest: unknown; entries: ReadonlyArray<{ path: string; sha256?: string; size: number }> }) =>
  JSON.stringify([v.manifest, v.entries.map((e) => [e.path, e.sha256, e.size])]);

export const updateTarget: FuzzTarget<Ctx> = {
  name: 'update-archive',
  about: 'signed update archives: zip reader, manifest, signature, content hashes',
  async setup(dir) {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Fuzz', email: 'fuzz@example.com' }], format: 'armored' });
    const src = join(dir, 'src');
    await mkdir(join(src, 'payload/opt/islet'), { recursive: true });
    await mkdir(join(src, 'hooks'), { recursive: true });
    await writeFile(join(src, 'payload/opt/islet/VERSION'), 'FUZZ001\n');
    await writeFile(join(src, 'hooks/apply'), '#!/bin/sh\nexit 0\n');
    await chmod(join(src, 'hooks/apply'), 0o755);
    const out = join(dir, 'seed.xsupdate');
    await buildUpdate({ sourceDir: src, manifest: { name_label: 'FUZZ001', version: '1.0' }, signingKey: privateKey, out });
    const original = digest(await verifyUpdateFile(out, [publicKey]) as never);
    return { dir, publicKey, original, seed: await readFile(out), n: 0 };
  },
  seeds: async (ctx) => [ctx.seed],
  async check(input, ctx) {
    const path = join(ctx.dir, `in-${ctx.n++ % 4}.xsupdate`);
    await writeFile(path, input);
    let verified;
    try {
      verified = await verifyUpdateFile(path, [ctx.publicKey]);
    } catch (e) {
      if (e instanceof ApiError && e.code !== 'INTERNAL_ERROR') return;
      throw unexpected('verifyUpdateFile', e);
    }
    if (digest(verified as never) !== ctx.original) throw new Finding('a mutated update verified with a different manifest or content');
  },
};
