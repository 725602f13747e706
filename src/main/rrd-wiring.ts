/**
 * @module
 * Wires performance metrics into a host: the data path meter around the storage host, the
 * collector that fills the RRDs every 5 s, and the `/rrd_updates` handler.
 */
import type { Hypervisor } from '../core/ports/hypervisor.js';
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
  resources(deps: HandlerDeps, hypervisor: Pick<Hypervisor, 'stats'>): ReadonlyArray<readonly [string, ResourceHandler]>;
  start(): void;
  stop(): void;
}

export function prepareRrd(db: PoolDb, hostRef: () => Ref<'host'>, log: (m: string) => void): RrdWiring {
  const meter = new IoMeter();
  let collector: RrdCollector | undefined;
  return {
    meter,
    resources(deps, hypervisor) {
      collector = new RrdCollector({ db, hostRef, hypervisor, machine: procMachine(), meter, log });
      const c = collector;
      return [['GET /rrd_updates', createRrdUpdatesHandler(deps, c)]];
    },
    start() { collector?.start(); },
    stop() { collector?.stop(); },
  };
}
