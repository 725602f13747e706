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
  /**
   * Pauses those of `uuids` that are active here; the result resumes them. A disk open in
   * another attachment cannot be paused: VDI_IN_USE with `operation`.
   */
  pause(uuids: Iterable<string>, operation: string): Promise<() => Promise<void>>;
  /** Open for I/O here or in another attachment. */
  isActive(uuid: string): boolean;
  /** Open in another attachment (another host), so not ours to pause. */
  isActiveElsewhere(uuid: string): boolean;
}
