/**
 * @module
 * Wires performance metrics into a host: the data path meter around the storage host, the
 * collector that fills the RRDs every 5 s (and answers for the host's data sources), and
 * the `/rrd_updates` handler.
 */
import type { Hypervisor } from '../core/ports/hypervisor.js';
import type { DataSources } from '../core/ports/metrics.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import type { ResourceHandler } from '../api/http-api.js';
import type { HandlerDeps } from '../api/handlers/http-auth.js';
import { procMachine } from '../hypervisor/proc-machine.js';
import { IoMeter } from '../rrd/io-meter.js';
import { RrdCollector } from '../rrd/rrd-collector.js';
import { createRrdUpdatesHandler } from '../api/handlers/rrd-updates-handler.js';

export interface RrdWiring {
  readonly meter: IoMeter;
  /** The host's data sources and those of its VMs (host/VM.get_data_sources and friends). */
  readonly dataSources: DataSources;
  resources(deps: HandlerDeps): ReadonlyArray<readonly [string, ResourceHandler]>;
  start(): void;
  stop(): void;
}

export function prepareRrd(db: PoolDb, hostRef: () => Ref<'host'>, hypervisor: Pick<Hypervisor, 'stats'>, log: (m: string) => void): RrdWiring {
  const meter = new IoMeter();
  const collector = new RrdCollector({ db, hostRef, hypervisor, machine: procMachine(), meter, log });
  return {
    meter,
    dataSources: collector,
    resources: (deps) => [['GET /rrd_updates', createRrdUpdatesHandler(deps, collector)]],
    start() { collector.start(); },
    stop() { collector.stop(); },
  };
}
