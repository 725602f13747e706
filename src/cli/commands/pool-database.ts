/**
 * @module
 * `xe pool-dump-database file-name=` and `xe pool-restore-database file-name= [dry-run=true]`:
 * the pool database saved to a file on the client and put back, through the master's
 * `/pool/xmldbdump` resource as xe does it. Islet's dump is JSON rather than xapi's XML.
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { getBoolParam, getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandModule } from '../command-context.js';
import { HttpStatusError } from '../../client/http-transfer.js';
import { intoNewFile } from './export-file.js';

export const poolDumpDatabase: CommandModule = {
  run: async (ctx) => {
    const file = getParam(ctx.params, 'file-name')!;
    // A new file, as every file xe saves a download in (export-file.ts).
    await intoNewFile(file, async () => {
      await pipeline(await ctx.client.getFile('/pool/xmldbdump', {}), fs.createWriteStream(file));
    });
  },
};

export const poolRestoreDatabase: CommandModule = {
  run: async (ctx) => {
    const file = getParam(ctx.params, 'file-name')!;
    if (!fs.existsSync(file)) throw new RecordFailure(`Failed to open file ${file}`);
    const q: Record<string, string> = { restore: 'true' };
    if (getBoolParam(ctx.params, 'dry-run')) q.dry_run = 'true';
    try {
      await ctx.client.putFile('/pool/xmldbdump', q, { path: file });
    } catch (e) {
      if (e instanceof HttpStatusError) throw new RecordFailure(e.body.trim() || e.message);
      throw e;
    }
  },
};
