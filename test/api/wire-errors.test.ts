/**
 * Storage's typed failures reach clients as the XenAPI errors XenServer sends for them,
 * through the API's boundary every error leaves by (`toWireError`): sm-numbered backend
 * failures as `SR_BACKEND_FAILURE_<n>`, array failures as `SR_BACKEND_FAILURE` with their
 * status, and each typed failure with its own code and parameters. A number without a
 * declared code is refused rather than sent. No other code turns failures into XenAPI
 * errors with core's storage-blind `toApiError` (an action that did made a storage failure
 * INTERNAL_ERROR before it reached the boundary).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ApiError, toApiError } from '../../src/core/api-error.js';
import { toWireError } from '../../src/core/wire-errors.js';
import {
  SrFullError, SrNotAttachedError, SrOperationUnsupportedError, StorageBackendError, StorageValueError,
  UnknownSrDriverError, VdiInUseError, VdiMissingError, VdiReadOnlyError, VdiUuidInvalidError,
} from '../../src/core/ports/storage-errors.js';
import { SmError, smError } from '../../src/storage/sm-errors.js';
import { repoRoot } from '../helpers/repo-root.js';

test('each storage failure maps to its XenAPI error', () => {
  const cases: [Error, string[]][] = [
    [new StorageBackendError(47, '', 'The SR is not available [opterr=gone]'), ['SR_BACKEND_FAILURE_47', '', 'The SR is not available [opterr=gone]', '']],
    [new StorageBackendError(undefined, 'ARRAY_AUTH', 'EqualLogic: bad password'), ['SR_BACKEND_FAILURE', 'ARRAY_AUTH', 'EqualLogic: bad password', '']],
    [new SrFullError(100, 40), ['SR_FULL', '100', '40']],
    [new SrFullError(), ['SR_FULL', '0', '0']],
    [new SrFullError(100, -5), ['SR_FULL', '100', '0']],
    [new VdiMissingError('sr-1', 'vdi-1'), ['VDI_MISSING', 'sr-1', 'vdi-1']],
    [new VdiInUseError('vdi-1', 'destroy'), ['VDI_IN_USE', 'vdi-1', 'destroy']],
    [new VdiReadOnlyError('vdi-1'), ['VDI_READONLY', 'vdi-1']],
    [new SrNotAttachedError('sr-1'), ['SR_NOT_ATTACHED', 'sr-1']],
    [new SrOperationUnsupportedError('VDI.create on an ISO SR'), ['SR_OPERATION_NOT_SUPPORTED', 'VDI.create on an ISO SR']],
    [new UnknownSrDriverError('lvm'), ['SR_UNKNOWN_DRIVER', 'lvm']],
    [new StorageValueError('device-config:port', '0'), ['INVALID_VALUE', 'device-config:port', '0']],
    [new VdiUuidInvalidError('../x'), ['UUID_INVALID', 'VDI', '../x']],
  ];
  for (const [e, wire] of cases) {
    assert.ok(!(e instanceof ApiError), `${e.name} is storage's own error, not a XenAPI one`);
    assert.deepEqual(toWireError(e).toWire(), wire, e.name);
  }
});

test('an sm number without a declared SR_BACKEND_FAILURE code is refused, not sent', () => {
  assert.throws(() => toWireError(new StorageBackendError(9999, '', 'made up')), /undeclared XenAPI error code SR_BACKEND_FAILURE_9999/);
});

test('every sm error number the drivers use has its SR_BACKEND_FAILURE_<n> code declared', () => {
  for (const [name, [n, text]] of Object.entries(SmError)) {
    assert.equal(toWireError(smError(name as keyof typeof SmError)).code, `SR_BACKEND_FAILURE_${n}`, name);
    assert.deepEqual(toWireError(smError(name as keyof typeof SmError, 'why')).params, ['', `${text} [opterr=why]`, ''], name);
  }
});

test('core\'s toApiError knows nothing of storage: toWireError is the mapping', () => {
  assert.deepEqual(toApiError(new VdiInUseError('vdi-1', 'destroy')).code, 'INTERNAL_ERROR');
  assert.deepEqual(toWireError(new VdiInUseError('vdi-1', 'destroy')).toWire(), ['VDI_IN_USE', 'vdi-1', 'destroy']);
  // What is not storage's goes through unchanged: a XenAPI error as it is.
  const api = new ApiError('SR_HAS_NO_PBDS', ['OpaqueRef:x']);
  assert.equal(toWireError(api), api);
});

test('every path to the wire uses the one mapping: toApiError appears only where it is declared and in the mapping', () => {
  const src = join(repoRoot(), 'src');
  const allowed = new Set(['core/api-error.ts', 'core/wire-errors.ts']);
  const users = (readdirSync(src, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => relative(src, join(d.parentPath, d.name)))
    .filter((f) => !allowed.has(f) && /\btoApiError\b/.test(readFileSync(join(src, f), 'utf8')));
  assert.deepEqual(users, [], 'these files map errors without storage\'s mapping: let the failure pass (the API maps it) or use toWireError');
});
