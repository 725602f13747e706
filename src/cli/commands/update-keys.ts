/**
 * @module
 * `xe islet-update-key-add file-name=KEY.asc`, `islet-update-key-remove fingerprint=` and
 * `islet-update-key-list`: the OpenPGP keys the pool trusts to sign updates (Islet's own
 * commands; XenServer's keys were built in). The list prints one record per key.
 */
import fs from 'node:fs';
import { getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandModule } from '../command-context.js';

export const updateKeyAdd: CommandModule = {
  run: async (ctx) => {
    const file = getParam(ctx.params, 'file-name')!;
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      throw new RecordFailure(`Failed to open file ${file}`);
    }
    const fps = (await ctx.call('pool.islet_add_update_key', text)) as string[];
    ctx.printer.list(fps);
  },
};

export const updateKeyRemove: CommandModule = {
  run: async (ctx) => {
    await ctx.call('pool.islet_remove_update_key', getParam(ctx.params, 'fingerprint'));
  },
};

export const updateKeyList: CommandModule = {
  run: async (ctx) => {
    const keys = (await ctx.call('pool.islet_list_update_keys')) as Record<string, string>;
    ctx.printer.table(Object.entries(keys).map(([fp, uid]) => [['fingerprint ( RO)', fp], ['uid ( RO)', uid]] as const));
  },
};
