/**
 * @module
 * `xe host-cpu-info [uuid=<host>]`: the host's CPU summary (`host.cpu_info`), one key per
 * line as xe prints a record; without a uuid, the host the session is on (the master).
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';

export async function run(ctx: CommandContext): Promise<void> {
  const uuid = getParam(ctx.params, 'uuid');
  let host: string;
  if (uuid !== undefined) host = String(await ctx.call('host.get_by_uuid', uuid));
  else {
    const [pool] = (await ctx.call('pool.get_all')) as string[];
    host = String(await ctx.call('pool.get_master', pool));
  }
  const info = (await ctx.call('host.get_cpu_info', host)) as Record<string, string>;
  ctx.printer.table([Object.entries(info).map(([k, v]) => [k, v] as const)]);
}
