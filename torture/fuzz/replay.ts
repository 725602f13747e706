/**
 * @module
 * Replays the regression corpus: every saved crash or hang input goes through its target's
 * check again, each with a time limit. The test suite runs this, so a finding stays a
 * failing test until its bug is fixed.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { targetByName } from './targets.js';

export interface ReplayFailure { file: string; message: string }

export async function replayCorpus(corpus: string, timeoutMs = 10_000): Promise<{ replayed: number; failures: ReplayFailure[] }> {
  const failures: ReplayFailure[] = [];
  let replayed = 0;
  const targets = await readdir(corpus).catch(() => [] as string[]);
  for (const name of targets.filter((n) => !n.startsWith('.'))) {
    const target = targetByName(name);
    if (!target) { failures.push({ file: name, message: 'no fuzz target of that name' }); continue; }
    const files = (await readdir(join(corpus, name))).filter((f) => f.endsWith('.bin'));
    if (files.length === 0) continue;
    const dir = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), `islet-replay-${name}-`));
    const ctx = await target.setup(dir);
    try {
      for (const f of files) {
        const input = await readFile(join(corpus, name, f));
        replayed++;
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            Promise.resolve(target.check(input, ctx)),
            new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no verdict within ${timeoutMs} ms`)), timeoutMs); }),
          ]);
        } catch (e) {
          failures.push({ file: join(name, f), message: e instanceof Error ? e.message : String(e) });
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      await target.teardown?.(ctx);
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { replayed, failures };
}
