/**
 * @module
 * Secrets and subjects, as XenServer's xe handles them: `secret-create value=
 * [other-config:]` (prints the new secret's uuid, which a device config names as
 * `password_secret`), `secret-destroy uuid=`, `subject-remove subject-uuid=`, and
 * `subject-role-add` / `subject-role-remove uuid= role-name=|role-uuid=`.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { mapParam, printUuid, refByUuid } from './storage-params.js';

/** The subject and role a `subject-role-*` command names. */
async function subjectAndRole(ctx: CommandContext): Promise<[string, string]> {
  const roleUuid = getParam(ctx.params, 'role-uuid') ?? '';
  const roleName = getParam(ctx.params, 'role-name') ?? '';
  if (roleUuid === '' && roleName === '') throw new CliFailure('Required parameter not found: role-uuid or role-name');
  if (roleUuid !== '' && roleName !== '') throw new CliFailure('Parameters role-uuid and role-name cannot be used together');
  // An unknown role name is passed on as a null role, for the server to refuse.
  const role = roleUuid !== '' ? await refByUuid(ctx, 'role', roleUuid) : String(((await ctx.call('role.get_by_name_label', roleName)) as string[])[0] ?? 'OpaqueRef:NULL');
  return [await refByUuid(ctx, 'subject', getParam(ctx.params, 'uuid')!), role];
}

export async function run(ctx: CommandContext): Promise<void> {
  switch (ctx.cmd) {
    case 'secret-create':
      return printUuid(ctx, 'secret', await ctx.call('secret.create', { value: getParam(ctx.params, 'value')!, other_config: mapParam(ctx.params, 'other-config') }));
    case 'secret-destroy': await ctx.call('secret.destroy', await refByUuid(ctx, 'secret', getParam(ctx.params, 'uuid')!)); return;
    case 'subject-remove': await ctx.call('subject.destroy', await refByUuid(ctx, 'subject', getParam(ctx.params, 'subject-uuid')!)); return;
    case 'subject-role-add': await ctx.call('subject.add_to_roles', ...(await subjectAndRole(ctx))); return;
    default: await ctx.call('subject.remove_from_roles', ...(await subjectAndRole(ctx)));
  }
}
