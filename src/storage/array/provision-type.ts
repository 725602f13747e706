/**
 * @module
 * iSL's `provision-type` device-config key (thin | thick), read once for both array
 * drivers: absent means thin, anything else is refused with a clear error.
 */
import type { Allocation } from '../../core/ports/sr-driver.js';
import { StorageValueError } from '../../core/ports/storage-errors.js';

export function parseProvisionType(dc: Readonly<Record<string, string>>, fallback: Allocation = 'thin'): Allocation {
  const v = dc['provision-type'];
  if (v === undefined || v === '') return fallback;
  const l = v.toLowerCase();
  if (l === 'thin' || l === 'thick') return l;
  throw new StorageValueError('device_config:provision-type', v);
}
