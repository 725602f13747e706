/**
 * @module
 * Page-aligned scratch buffers for bulk copies. The kernel copies between the page cache
 * and a user buffer about three times faster when the buffer is cache-line aligned, and
 * large `Buffer`s from malloc start 16 bytes past a page. A `WebAssembly.Memory` is page
 * aligned by construction; should the runtime refuse one (its address space for them is
 * finite), an ordinary buffer does the same job, only slower.
 */

const WASM_PAGE = 64 * 1024;

export function alignedBuffer(bytes: number): Buffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  try {
    return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, bytes);
  } catch {
    return Buffer.allocUnsafeSlow(bytes);
  }
}
