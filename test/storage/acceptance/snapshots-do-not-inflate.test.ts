/**
 * Hotfix item 6: snapshots do not inflate space use. A VM's thin disk gets 20 rounds of
 * writes (a new 8 MiB region, and 1 MiB rewritten in the previous one), each followed by a
 * snapshot. The space the SR's disks really use, summed over every VDI record (base copies
 * included), must equal the data written plus VHD metadata within 1%, never the +140% of
 * the bug; the SR's own figure agrees, and garbage collection leaves it so. Needs a built
 * tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  MiB, type StorageFixture, collect, exportDigest, importImage, pattern, sha256, startStorageFixture, summedPhysical, vmWithDisk,
} from './storage-fixture.js';

const ROUNDS = 20;
const REGION = 8 * MiB;
const SIZE = 256 * MiB;

describe('snapshots do not inflate (hotfix item 6)', () => {
  let f: StorageFixture;
  let vm: string;
  let vdi: string;
  let written = 0;
  let content: Buffer;

  before(async () => {
    f = await startStorageFixture();
    ({ vm, vdi } = await vmWithDisk(f.api, f.sr, 'inflate-vm', SIZE));
    content = Buffer.alloc(SIZE);
    for (let k = 0; k < ROUNDS; k++) {
      pattern(1000 + k, REGION).copy(content, k * REGION);
      written += REGION;
      if (k > 0) {
        pattern(2000 + k, 1 * MiB).copy(content, (k - 1) * REGION);
        written += 1 * MiB;
      }
      // Only the first (k + 1) regions hold data; the image ends there.
      await importImage(f.api, vdi, content.subarray(0, (k + 1) * REGION));
      await f.api.callAsync('VM.snapshot', vm, `round-${k}`, []);
    }
  });
  after(async () => f?.close());

  it('the disk holds what was written', async () => {
    assert.equal((await exportDigest(f.api, vdi)).sha, sha256(content));
  });

  it('the summed physical use is the data written plus metadata, within 1%', async () => {
    const used = await summedPhysical(f.api, f.sr);
    assert.ok(used >= written, `${used} bytes used for ${written} written`);
    assert.ok(used <= written * 1.01, `${used} bytes used for ${written} written: ${(((used - written) / written) * 100).toFixed(2)}% overhead`);
  });

  it('the SR figure agrees', async () => {
    const sr = await f.api.call('SR.get_record', f.sr) as Record<string, any>;
    assert.ok(sr.physical_utilisation >= written && sr.physical_utilisation <= written * 1.01, `SR reports ${sr.physical_utilisation} for ${written}`);
    assert.equal(sr.virtual_allocation, SIZE * (ROUNDS + 1));
  });

  it('garbage collection keeps it so', async () => {
    await collect(f.api, f.sr);
    const used = await summedPhysical(f.api, f.sr);
    assert.ok(used >= written && used <= written * 1.01, `${used} bytes used for ${written} written after GC`);
    assert.equal((await exportDigest(f.api, vdi)).sha, sha256(content));
  });
});
