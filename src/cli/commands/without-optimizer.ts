/**
 * @module
 * Runs an upload (`xe vdi-import`, `xe vm-import`) with V8's optimizing compiler (TurboFan)
 * switched off. xe lives for one command, and what runs per byte of an upload is a few
 * small callbacks, called once per 32 KiB piece: hot enough for V8 to optimise them, with
 * all they inline down through Node's stream and socket code (some 50 ms of a compiler
 * thread for a GiB, `--trace-opt`), too late in a process that ends a second later to pay
 * that back. On a machine whose cores the upload keeps busy (xe encrypting, the server
 * decrypting and writing), that thread's time is taken from one of them. Without it the
 * callbacks run as V8's baseline code, which costs xe a little more CPU than optimised code
 * would have.
 *
 * Measured over loopback TLS on two cores, 1 GiB raw imports of random data, each round
 * curl, xe as before and xe with this in a random order: the median over 16 rounds of
 * curl's time over xe's went from 0.87 to 0.91.
 *
 * The flag is set back afterwards, for what the command still has to do.
 */
import { v8 } from '../../client/lazy-builtin.js';

export async function withoutOptimizer<T>(work: () => Promise<T>): Promise<T> {
  v8().setFlagsFromString('--no-turbofan');
  try {
    return await work();
  } finally {
    v8().setFlagsFromString('--turbofan');
  }
}
