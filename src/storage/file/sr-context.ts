/**
 * @module
 * What the file SR's operations, its garbage collector and journal recovery share: the
 * directory, the journal, and a way to pause the disks that are open for I/O while their
 * files change. Every function taking an `SrContext` runs under the SR lock.
 */
import type { Journal } from './journal.js';
import type { SrDir } from './sr-dir.js';

export interface SrContext {
  readonly srUuid: string;
  readonly dir: SrDir;
  readonly journal: Journal;
  /** Pauses those of `uuids` that are active; the result resumes them. */
  pause(uuids: Iterable<string>): Promise<() => Promise<void>>;
  isActive(uuid: string): boolean;
}
