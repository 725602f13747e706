/**
 * The simulated target's pool of transfer buffers: buffers of the asked length cut from
 * power-of-two blocks, a block given back is lent again (and never twice at once), a
 * buffer the pool did not lend is ignored, and only a few free blocks of a size are kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from '../../sims/iscsi/buffer-pool.js';

describe('the target\'s transfer buffer pool', () => {
  it('lends buffers of the asked length and lends a returned block again', () => {
    const pool = new BufferPool();
    const a = pool.take(100_000);
    assert.equal(a.length, 100_000);
    assert.equal(a.buffer.byteLength, 131_072, 'cut from a 128 KiB block');
    const b = pool.take(100_000);
    assert.notEqual(a.buffer, b.buffer, 'two loans at once never share memory');
    pool.release(a);
    const c = pool.take(131_072);
    assert.equal(c.buffer, a.buffer, 'the returned block is lent again');
    pool.release(a);
    const d = pool.take(131_072);
    assert.notEqual(d.buffer, c.buffer, 'a second release of the same loan does not lend the block twice');
  });

  it('ignores buffers it did not lend', () => {
    const pool = new BufferPool();
    const foreign = Buffer.allocUnsafeSlow(65_536);
    pool.release(foreign);
    assert.notEqual(pool.take(65_536).buffer, foreign.buffer);
  });

  it('keeps only a few free blocks of a size', () => {
    const pool = new BufferPool();
    const loans = Array.from({ length: 20 }, () => pool.take(1 << 20));
    for (const l of loans) pool.release(l);
    const again = Array.from({ length: 20 }, () => pool.take(1 << 20));
    const reused = again.filter((b) => loans.some((l) => l.buffer === b.buffer)).length;
    assert.ok(reused > 0 && reused < 20, `${reused} of 20 blocks came back from the pool`);
  });

  it('keeps at most 32 MiB free in all', () => {
    const pool = new BufferPool();
    const loans = Array.from({ length: 4 }, () => pool.take(16 << 20));
    for (const l of loans) pool.release(l);
    const again = Array.from({ length: 4 }, () => pool.take(16 << 20));
    assert.equal(again.filter((b) => loans.some((l) => l.buffer === b.buffer)).length, 2, 'two 16 MiB blocks kept, two let go');
  });
});
