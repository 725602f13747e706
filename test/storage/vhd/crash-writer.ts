/**
 * @module
 * Child process for the VHD crash test: opens the chain ending at LEAF, says `start` on
 * stdout, then writes SIZE bytes of `patternBuffer(SIZE, SEED)` at OFFSET as 256 KiB
 * requests, 12 in flight, and waits to be killed. The test kills it at a random moment
 * and reads what the file holds.
 *
 * Usage: crash-writer LEAF OFFSET SIZE SEED
 */
import { VhdBlockDevice } from '../../../src/storage/vhd/vhd-block-device.js';
import { patternBuffer } from './vhd-helpers.js';

async function main(leaf: string, offset: number, size: number, seed: number): Promise<void> {
  const dev = await VhdBlockDevice.open(leaf);
  const data = patternBuffer(size, seed);
  const chunk = 256 * 1024;
  process.stdout.write('start\n');
  const writes: Promise<void>[] = [];
  for (let at = 0; at < data.length; at += chunk) writes.push(dev.write(offset + at, data.subarray(at, Math.min(at + chunk, data.length))));
  await Promise.all(writes);
  process.stdout.write('done\n');
  setInterval(() => undefined, 1000); // until killed
}

// node's test runner also starts every file under test/, without arguments: then do nothing.
const [leaf, offset, size, seed] = process.argv.slice(2);
if (leaf) {
  main(leaf, Number(offset), Number(size), Number(seed)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
