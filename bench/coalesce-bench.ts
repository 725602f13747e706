/**
 * @module
 * Coalesce (`coalesceInto`, what the GC runs) of a node storing the whole disk into its
 * parent, against `cp --sparse=always` of the same bytes from a raw file into a new file.
 * The parent holds every other 2 MiB block already, so the copy both overwrites allocated
 * blocks and allocates new ones. Each round starts from a fresh copy of the parent (not
 * timed); the coalesce runs in this process and includes its final flush. Goal:
 * coalesce/cp >= 0.6.
 */
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { coalesceInto, createDifferencing, createDynamic, open as openVhd } from '../src/storage/vhd/index.js';
import { alternate, exec, fmt, median, ratio, timed } from './nbd-bench-kit.js';
import { copyRawInto } from './vhd-fixtures.js';

export interface CoalesceBenchInput {
  dir: string;
  /** Random data: the node's content. */
  src: string;
  size: number;
  rounds: number;
}

export async function coalesceBench(inp: CoalesceBenchInput): Promise<void> {
  const { dir, src, size, rounds } = inp;
  const parentTemplate = join(dir, 'co-parent.vhd');
  const node = join(dir, 'co-node.vhd');
  await createDynamic(parentTemplate, size);
  const p = await openVhd(parentTemplate);
  const block = p.blockSize;
  for (let at = 0; at < size; at += 2 * block) await copyRawInto(src, p, at + block / 2, Math.min(block / 2, size - at - block / 2));
  await p.close();
  await createDifferencing(node, parentTemplate);
  const n = await openVhd(node);
  await copyRawInto(src, n);
  await n.close();
  console.log(`vhd coalesce: a node storing ${size / 2 ** 20} MiB into a half-allocated parent vs cp --sparse=always, median of ${rounds} rounds`);

  const out = join(dir, 'co-out.raw');
  const work = join(dir, 'co-work.vhd');
  const t = { coalesce: [] as number[], cp: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    for (const who of alternate(i, 'coalesce', 'cp')) {
      if (who === 'cp') {
        await rm(out, { force: true });
        t.cp.push(await timed(() => exec('cp', ['--sparse=always', src, out])));
        continue;
      }
      await rm(work, { force: true });
      await copyFile(parentTemplate, work);
      const child = await openVhd(node, { readOnly: true });
      const parent = await openVhd(work);
      try {
        t.coalesce.push(await timed(() => coalesceInto(child, parent)));
      } finally {
        await parent.close();
        await child.close();
      }
    }
  }
  // The node covered every sector: the parent must now read exactly as the source.
  await exec('qemu-img', ['compare', '-q', '-f', 'vpc', '-F', 'raw', work, src]).catch(() => {
    throw new Error('the coalesced parent differs from the node it took in');
  });
  await rm(out, { force: true });
  await rm(work, { force: true });
  const c = median(t.coalesce);
  const cp = median(t.cp);
  console.log(`  coalesce ${fmt(size, c)}  cp --sparse=always ${fmt(size, cp)}  coalesce/cp ${ratio(cp / c, 0.6)}`);
}
