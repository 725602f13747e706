/**
 * @module
 * How xe's file transfers (`vdi-import`/`vdi-export`, `vm-import`/`vm-export`) report a
 * verdict: the HTTP request runs under a task of its own, and the task, which the server
 * settles, says what happened. An HTTP refusal is only the messenger, so the task is
 * waited for and its failure, when it has one, is the command's; a failure on this side
 * (a file that cannot be written, a transfer cut short) is the command's at once, since the
 * server may still be waiting for bytes that will not come. The task is destroyed either way.
 */
import { XapiCallError } from '../../client/xapi-call-error.js';
import { HttpStatusError } from '../../client/http-transfer.js';
import type { CommandContext } from '../command-context.js';

/** Runs `transfer` under a new task labelled `label`; the task's decoded result, or the failure that tells most. */
export async function trackedTransfer(
  ctx: Pick<CommandContext, 'call' | 'client'>,
  label: string,
  transfer: (task: string) => Promise<void>,
): Promise<unknown> {
  const task = String(await ctx.call('task.create', label, ''));
  try {
    let httpError: HttpStatusError | undefined;
    try {
      await transfer(task);
    } catch (e) {
      if (!(e instanceof HttpStatusError)) throw e;
      httpError = e;
    }
    let result: unknown;
    try {
      result = await ctx.client.waitTask(task);
    } catch (e) {
      if (e instanceof XapiCallError) throw e;
      throw httpError ?? e;
    }
    // A refused request with a task that succeeded anyway: the refusal still stands.
    if (httpError) throw httpError;
    return result;
  } finally {
    await ctx.call('task.destroy', task).catch(() => undefined);
  }
}
