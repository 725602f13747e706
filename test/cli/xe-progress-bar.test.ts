/**
 * `xe vdi-import` and `xe vdi-export` draw a progress bar when stderr is a terminal and
 * nothing when it is not. The terminal is a real pseudo-terminal made by util-linux's
 * `script` (bsdutils, installed on every Debian), so the bar is what a user would see.
 * Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MiB, type StorageFixture, pattern, startStorageFixture } from '../storage/acceptance/storage-fixture.js';
import { repoRoot } from '../helpers/repo-root.js';
import { runOnTerminal } from '../helpers/terminal.js';

/** xe inside a pseudo-terminal; what the terminal showed (stdout and stderr merged). */
function xeOnTerminal(port: number, home: string, args: string[]): Promise<{ code: number; screen: string }> {
  return runOnTerminal([process.execPath, join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(port), '-pw', 'storage-pw', ...args],
    { HOME: home, TERM: 'dumb' });
}

describe('xe progress bar', () => {
  let f: StorageFixture;
  let work: string;
  let srUuid: string;
  const data = pattern(7, 24 * MiB);

  before(async () => {
    f = await startStorageFixture();
    work = await mkdtemp(join(tmpdir(), 'xe-bar-'));
    srUuid = String(await f.api.call('SR.get_uuid', f.sr));
    await writeFile(join(work, 'disk.raw'), data);
  });
  after(async () => {
    await f?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('import and export on a terminal show a bar that reaches 100%', async () => {
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=bar', 'virtual-size=24MiB');
    const imp = await xeOnTerminal(f.islet.port, work, ['vdi-import', `uuid=${uuid}`, `filename=${join(work, 'disk.raw')}`]);
    assert.equal(imp.code, 0, imp.screen);
    assert.match(imp.screen, /\rImporting \[#+ *\] \d+%/);
    assert.match(imp.screen, /\rImporting \[#{40}\] 100%/);

    const out = join(work, 'out.raw');
    const exp = await xeOnTerminal(f.islet.port, work, ['vdi-export', `uuid=${uuid}`, `filename=${out}`]);
    assert.equal(exp.code, 0, exp.screen);
    assert.match(exp.screen, /\rExporting (\[#{40}\] 100%|[\d.]+ MiB)/);
    assert.ok((await readFile(out)).equals(data), 'the exported disk is what was imported');
  });

  it('without a terminal nothing but the result is written', async () => {
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=quiet', 'virtual-size=24MiB');
    const r = await f.xe('vdi-import', `uuid=${uuid}`, `filename=${join(work, 'disk.raw')}`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.doesNotMatch(r.out, /\r|Importing/);
  });

  it('progress=false keeps a terminal quiet', async () => {
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=off', 'virtual-size=24MiB');
    const r = await xeOnTerminal(f.islet.port, work, ['vdi-import', `uuid=${uuid}`, `filename=${join(work, 'disk.raw')}`, 'progress=false']);
    assert.equal(r.code, 0, r.screen);
    assert.doesNotMatch(r.screen, /Importing/);
  });
});
