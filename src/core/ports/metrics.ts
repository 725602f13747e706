/**
 * @module
 * The metrics port: the RRDs a host keeps (its own and those of VMs that ran on it), which
 * the `/rrd_updates` handler reads, and the data sources behind them (XenAPI's
 * `get_data_sources` and friends). The collector that fills them (`src/rrd/`) implements it.
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

/** One data source as XenAPI shows it (a `data_source` record). */
export interface DataSourceView {
  readonly name: string;
  readonly description: string;
  readonly units: string;
  readonly min: number;
  readonly max: number;
  /** Being recorded in the archives. */
  readonly enabled: boolean;
  /** Recorded without being asked for. */
  readonly standard: boolean;
  /** The latest sample (NaN when unknown). */
  readonly value: number;
}

/** Whose figures: this host's own, or those of a VM running here (by uuid). */
export type MetricsOwner = { readonly kind: 'host' } | { readonly kind: 'vm'; readonly uuid: string };

/** The data sources this host samples; a name the latest sample does not have is unknown. */
export interface DataSources {
  /** Every data source of the latest sample (none for a VM not running here). */
  dataSources(owner: MetricsOwner): DataSourceView[];
  /** The latest value; undefined for an unknown name. */
  query(owner: MetricsOwner, name: string): number | undefined;
  /** Starts recording a data source (one already recorded stays so); false for an unknown name. */
  record(owner: MetricsOwner, name: string): boolean;
  /** Drops a data source's history (a standard one starts again empty); false for an unknown name. */
  forget(owner: MetricsOwner, name: string): boolean;
  /** Every RRD this host keeps for itself and its running VMs (host.backup_rrds saves them). */
  archives?(): Rrd[];
}
