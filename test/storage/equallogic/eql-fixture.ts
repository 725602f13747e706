/**
 * @module
 * A simulated EqualLogic group (in-process, SSH and iSCSI on loopback) and an
 * `equallogic` driver with Islet's own iSCSI initiator pointed at it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEqualLogicSim, type RunningEqualLogicSim } from '../../../sims/equallogic/equallogic-sim.js';
import { IsletIscsiInitiator } from '../../../src/storage/iscsi/islet-iscsi-initiator.js';
import { EqualLogicSrDriver } from '../../../src/storage/equallogic/equallogic-sr-driver.js';

export const GiB = 1024 ** 3;

export interface EqlFixture {
  sim: RunningEqualLogicSim;
  driver: EqualLogicSrDriver;
  initiator: IsletIscsiInitiator;
  deviceConfig: Record<string, string>;
  dir: string;
  store(): RunningEqualLogicSim['store'];
  cleanup(): Promise<void>;
}

export async function startEqlFixture(o: { groupName?: string; firmware?: string; poolSize?: number; host?: string; dir?: string } = {}): Promise<EqlFixture> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'eql-driver-'));
  const host = o.host ?? '127.0.0.1';
  const sim = await startEqualLogicSim({
    ssh: { host, port: 0 }, iscsi: { host, port: 0 }, username: 'grpadmin', password: 'eqlsecret',
    groupName: o.groupName ?? 'eqlgrp', pools: [{ name: 'default', size: o.poolSize ?? 100 * GiB }], firmware: o.firmware ?? '5.2.0 (R212345)',
    dataDir: join(dir, 'group'),
  });
  const initiator = new IsletIscsiInitiator();
  const hostIqn = `iqn.2026-12.com.example:${randomBytes(4).toString('hex')}`;
  const driver = new EqualLogicSrDriver({ initiator, hostIqn: () => hostIqn, stateDir: join(dir, 'host'), timeoutMs: 20_000 });
  return {
    sim, driver, initiator, dir,
    store: () => sim.store,
    deviceConfig: { target: host, port: String(sim.sshAddress.port), username: 'grpadmin', password: 'eqlsecret', storagePoolId: 'default' },
    cleanup: async () => {
      await initiator.close();
      await sim.close();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
