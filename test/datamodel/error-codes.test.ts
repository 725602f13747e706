/**
 * Every error code Islet can raise (src/datamodel/errors.ts) is one xapi raises under the
 * same name, so clients that match on codes (Xen Orchestra, scripts, xe's error texts) see
 * what XenServer would send, except the few below that are Islet's own, each for a reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../src/datamodel/errors.js';
import { xapiErrorCodes } from './xapi-error-codes.js';

/** Codes xapi has no equivalent for. */
const ISLETS_OWN: Record<string, string> = {
  ISLET_HYPERVISOR_ERROR: 'a failure reported by the hypervisor simulator, named as ours',
  JSONRPC_UNMARSHAL_FAILURE: 'a JSON-RPC body that does not parse (xapi names only the XML-RPC one)',
  REQUEST_ENTITY_TOO_LARGE: 'an HTTP body over its handler\'s limit, answered 413',
};

describe('error codes', () => {
  it('are xapi\'s own, but for a listed few', () => {
    const invented = Object.keys(ErrorCodes).filter((c) => !xapiErrorCodes.has(c) && !(c in ISLETS_OWN));
    assert.deepEqual(invented, [], 'codes under a XenAPI-looking name that xapi does not have');
  });
});
