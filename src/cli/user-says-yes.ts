/**
 * @module
 * xe's confirmation for destructive commands: it prints "Type 'yes' to continue", reads one
 * line from stdin, and goes on only for `yes` (any case, spaces trimmed); otherwise it says
 * what was typed and the command ends without doing anything. `force=true` skips the
 * question in every command that asks it.
 */
import { createInterface } from 'node:readline/promises';
import type { CommandContext } from './command-context.js';

export async function userSaysYes(ctx: CommandContext): Promise<boolean> {
  ctx.printer.msg("Type 'yes' to continue");
  const rl = createInterface({ input: process.stdin });
  try {
    // stdin at its end (no terminal, nothing piped) answers the empty string.
    const answer = await new Promise<string>((resolve) => {
      rl.once('close', () => resolve(''));
      rl.question('').then(resolve, () => resolve(''));
    });
    const trimmed = answer.trim();
    if (trimmed.toLowerCase() === 'yes') return true;
    ctx.printer.msg(`Aborted (you typed: '${trimmed}')`);
    return false;
  } finally {
    rl.close();
  }
}
