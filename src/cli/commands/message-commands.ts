/**
 * @module
 * `xe message-create name= priority= body= vm-uuid=|host-uuid=|sr-uuid=|pool-uuid=` (a
 * message about one object, as a plugin or script raises an alert) and `xe message-destroy
 * uuid=|uuids=a,b,…` (one message or several at once), with xe's checks and texts.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';

/** The object classes a message can be about, by the parameter that names one (xe's order). */
const ABOUT: ReadonlyArray<readonly [string, string]> = [['vm-uuid', 'VM'], ['pool-uuid', 'Pool'], ['sr-uuid', 'SR'], ['host-uuid', 'Host']];

async function create(ctx: CommandContext): Promise<void> {
  const raw = getParam(ctx.params, 'priority')!;
  if (!/^\s*[+-]?\d+\s*$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new CliFailure('Priority field should be an integer');
  const about = ABOUT.find(([param]) => getParam(ctx.params, param) !== undefined);
  if (!about) throw new CliFailure('Need one of: vm-uuid, host-uuid, sr-uuid or pool-uuid');
  const [param, cls] = about;
  await ctx.call('message.create', getParam(ctx.params, 'name')!, Number(raw), cls, getParam(ctx.params, param)!, getParam(ctx.params, 'body')!);
}

async function destroy(ctx: CommandContext): Promise<void> {
  const uuid = getParam(ctx.params, 'uuid');
  const uuids = getParam(ctx.params, 'uuids');
  if (uuid !== undefined && uuids !== undefined) throw new CliFailure('Ambiguous arguments; need one of uuid, uuids');
  if (uuid === undefined && uuids === undefined) throw new CliFailure('Need one of uuid, uuids');
  const messages: unknown[] = [];
  for (const u of uuid !== undefined ? [uuid] : uuids!.split(',')) messages.push(await ctx.call('message.get_by_uuid', u));
  await ctx.call('message.destroy_many', messages);
}

export async function run(ctx: CommandContext): Promise<void> {
  return ctx.cmd === 'message-create' ? create(ctx) : destroy(ctx);
}
