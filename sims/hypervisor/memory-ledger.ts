/**
 * @module
 * Host memory accounting of the simulated hypervisor. Every domain holds its memory plus
 * a fixed per-domain overhead from the moment it is built until it is destroyed (a
 * shut-down domain still holds it, as in Xen), and an incoming migration holds the same
 * amount from the moment it is accepted, so nothing can take that memory meanwhile.
 */
import { HypervisorError, HypervisorErrorCode } from '../../src/core/ports/hypervisor.js';

export class MemoryLedger {
  private readonly held = new Map<string, number>();

  constructor(readonly total: number, readonly overheadPerDomain: number) {}

  /** What a domain of `memory` bytes costs the host. */
  cost(memory: number): number {
    return memory + this.overheadPerDomain;
  }

  get free(): number {
    let used = 0;
    for (const b of this.held.values()) used += b;
    return this.total - used;
  }

  /** Holds the cost of a domain under `key`, or refuses with NOT_ENOUGH_MEMORY. */
  reserve(key: string, memory: number): void {
    if (this.held.has(key)) throw new Error(`memory already held for ${key}`);
    const needed = this.cost(memory);
    const available = this.free;
    if (needed > available) {
      throw new HypervisorError(HypervisorErrorCode.notEnoughMemory,
        `domain needs ${needed} bytes, host has ${available} free`, { needed, available });
    }
    this.held.set(key, needed);
  }

  /** Moves a holding to another key (an accepted migration becoming a domain). */
  rename(from: string, to: string): void {
    const b = this.held.get(from);
    if (b === undefined) throw new Error(`no memory held for ${from}`);
    this.held.delete(from);
    this.held.set(to, b);
  }

  release(key: string): void {
    this.held.delete(key);
  }
}
