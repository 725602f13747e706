/**
 * @module
 * The metrics port: the RRDs a host keeps (its own and those of VMs that ran on it), which
 * the `/rrd_updates` handler reads. The collector that fills them (`src/rrd/`) implements it.
 */
import type { Rrd } from '../rrd/rrd.js';

export interface MetricsSource {
  /** This host's RRD, if it has sampled yet. */
  hostRrd(): Rrd | undefined;
  /** The RRD of a VM, if it has run here. */
  vmRrd(vmUuid: string): Rrd | undefined;
  /** VMs resident on this host now: the ones `/rrd_updates` answers for. */
  residentVmUuids(): Set<string>;
}
