/**
 * @module
 * Stopping a child process the way a user would (SIGTERM) and waiting for it to end. The
 * SIGKILL that follows a process that will not stop comes only after a bound meant to catch
 * a hang, never one that a legitimately slow shutdown on a loaded machine could reach:
 * tests assert that the child stopped by itself (`signalCode` null), and a kill on a short
 * timer would turn a slow but clean shutdown into a failure. A child that has already ended,
 * by an exit or by a signal, is not waited for (its 'exit' came and will not come again).
 */
import type { ChildProcess } from 'node:child_process';

/** How long a SIGTERMed child may take to stop before it is killed: a hang, not slowness. */
export const STOP_GRACE_MS = 60_000;

/** Whether the child has ended (its 'exit' event has been emitted). */
export const hasEnded = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/**
 * SIGTERMs `child` (unless it has ended) and resolves once it has exited; SIGKILLs it only
 * after `graceMs`. Calling it again while a stop is under way waits for the same exit
 * without signalling twice.
 */
export function stopChild(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (hasEnded(child)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    if (!stopping.has(child)) {
      stopping.add(child);
      child.kill('SIGTERM');
    }
  });
}

const stopping = new WeakSet<ChildProcess>();
