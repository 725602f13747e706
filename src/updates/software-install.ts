/**
 * @module
 * Installs an update's payload into the host's software root all or nothing. The new tree
 * is built beside the live one (`software.next`: a copy of the live tree with the payload
 * laid over it), then swapped in by two renames while the previous tree is kept as
 * `software.prev`; the update's apply hook runs against the new tree, and only when it
 * succeeds and the applied marker is written is the previous tree dropped. Any failure
 * swaps the previous tree back. A small journal (`patch/install-journal.json`) lets the next
 * start finish or undo an install a crash cut short: committed if the marker exists,
 * rolled back otherwise.
 */
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extractPayload } from './package/extract-payload.js';
import type { UpdateManifest } from './package/update-manifest.js';
import { appliedDir, patchDir, softwareRoot } from './patch-files.js';

interface Journal {
  readonly uuid: string;
  /** Whether a software root existed before this install (else rollback removes it). */
  readonly hadPrevious: boolean;
}

const journalPath = (dataDir: string) => join(patchDir(dataDir), 'install-journal.json');
const prevPath = (dataDir: string) => `${softwareRoot(dataDir)}.prev`;
const nextPath = (dataDir: string) => `${softwareRoot(dataDir)}.next`;
const stagePath = (dataDir: string) => `${softwareRoot(dataDir)}.stage`;

const exists = async (p: string) => (await stat(p).catch(() => undefined)) !== undefined;

async function swapBack(dataDir: string, j: Journal): Promise<void> {
  const root = softwareRoot(dataDir);
  if (await exists(prevPath(dataDir))) {
    await rm(root, { recursive: true, force: true });
    await rename(prevPath(dataDir), root);
  } else if (!j.hadPrevious) {
    await rm(root, { recursive: true, force: true });
  }
}

async function cleanScratch(dataDir: string): Promise<void> {
  await rm(nextPath(dataDir), { recursive: true, force: true });
  await rm(stagePath(dataDir), { recursive: true, force: true });
}

/**
 * Finishes or undoes an install interrupted by a crash; run before anything else touches
 * the software root. Returns what it did, for the log.
 */
export async function recoverInterruptedInstall(dataDir: string): Promise<'none' | 'committed' | 'rolled-back'> {
  let j: Journal;
  try {
    j = JSON.parse(await readFile(journalPath(dataDir), 'utf8')) as Journal;
  } catch {
    await cleanScratch(dataDir);
    return 'none';
  }
  let outcome: 'committed' | 'rolled-back';
  if (await exists(join(appliedDir(dataDir), j.uuid))) {
    await rm(prevPath(dataDir), { recursive: true, force: true });
    outcome = 'committed';
  } else {
    await swapBack(dataDir, j);
    outcome = 'rolled-back';
  }
  await cleanScratch(dataDir);
  await rm(journalPath(dataDir), { force: true });
  return outcome;
}

export interface InstallSteps {
  /** Runs once the new tree is live (the apply hook); throwing rolls the install back. */
  readonly afterSwap: (root: string) => Promise<void>;
  /** Records success (writes the applied marker); throwing rolls the install back. */
  readonly commit: () => Promise<void>;
}

/** Installs the payload of the verified update in `file` (its manifest given). */
export async function installPayload(dataDir: string, file: string, manifest: UpdateManifest, steps: InstallSteps): Promise<string[]> {
  await recoverInterruptedInstall(dataDir);
  const root = softwareRoot(dataDir);
  const stage = stagePath(dataDir);
  const next = nextPath(dataDir);
  let written: string[];
  try {
    // extractPayload re-reads and re-hashes the archive, so a file changed since it was
    // verified installs nothing.
    written = await extractPayload(file, { manifest }, stage, { tempDir: patchDir(dataDir) });
    const hadPrevious = await exists(root);
    if (hadPrevious) await cp(root, next, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    else await mkdir(next, { recursive: true, mode: 0o755 });
    if (written.length) await cp(stage, next, { recursive: true, force: true, errorOnExist: false });
    await mkdir(patchDir(dataDir), { recursive: true });
    const j: Journal = { uuid: manifest.uuid, hadPrevious };
    await writeFile(journalPath(dataDir), JSON.stringify(j));
    if (hadPrevious) await rename(root, prevPath(dataDir));
    await rename(next, root);
    try {
      await steps.afterSwap(root);
      await steps.commit();
    } catch (e) {
      await swapBack(dataDir, j);
      await rm(journalPath(dataDir), { force: true });
      throw e;
    }
    await rm(prevPath(dataDir), { recursive: true, force: true });
    await rm(journalPath(dataDir), { force: true });
  } finally {
    await cleanScratch(dataDir);
  }
  return written;
}
