/**
 * @module
 * This host's view of storage: the drivers it has, by SR type, and the SRs it has
 * attached (plugged PBDs). Actions reach storage only through this port; `src/main/`
 * decides which drivers exist.
 */
import type { AttachedSr, SrDriver } from './sr-driver.js';

export interface StorageHost {
  driver(type: string): SrDriver | undefined;
  /** Every SR type this host can serve. */
  types(): string[];
  /** The SR attached on this host, if its PBD here is plugged. */
  attached(srUuid: string): AttachedSr | undefined;
  /** Attaches an SR on this host (PBD.plug). Idempotent. */
  plug(srUuid: string, type: string, deviceConfig: Readonly<Record<string, string>>, smConfig?: Readonly<Record<string, string>>): Promise<AttachedSr>;
  /** Detaches an SR on this host (PBD.unplug). Idempotent. */
  unplug(srUuid: string): Promise<void>;
}
