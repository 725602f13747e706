/**
 * `xe patch-upload` draws a progress bar on a terminal and nowhere else. `bin/xe` runs under
 * a real pseudo-terminal made by util-linux's `script` (stdout and stderr both the pty, as
 * in an interactive shell): the bar is redrawn in place with `\r`, its percentage only grows
 * and ends at 100%, a newline follows it, and the uuid is printed after. With stderr a pipe
 * the same command (here given the distribution `.zip`) writes nothing but the uuid.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { XapiClient } from '../../src/client/xapi-client.js';
import type { IsletProcess } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { runOnTerminal } from '../helpers/terminal.js';
import { startUpdateHost, type UpdateFixture, type UpdateHost } from './update-fixture.js';

const run = promisify(execFile);
const PW = 'bar-pw';

describe('the upload progress bar', { timeout: 300_000 }, () => {
  let fx: UpdateFixture;
  let srv: IsletProcess;
  let api: XapiClient;
  const conn = () => ['-s', '127.0.0.1', '-p', String(srv.port), '-u', 'root', '-pw', PW];

  let host: UpdateHost | undefined;
  before(async () => {
    host = await startUpdateHost(PW);
    ({ fx, srv, api } = host);
  });
  after(async () => {
    await host?.close();
  });

  it('on a terminal: drawn in place, growing to 100%, then the uuid', async () => {
    // Incompressible payload so the file is big enough for the bar to move.
    const u = await fx.custom({ name: 'XS602E020', payload: { 'opt/islet/blob': randomBytes(12 * 1024 * 1024).toString('base64') } });
    const r = await runOnTerminal([process.execPath, join(repoRoot(), 'bin', 'xe'), 'patch-upload', ...conn(), `file-name=${u.path}`], { HOME: fx.work });
    assert.equal(r.code, 0, r.screen);
    const stdout = r.screen;
    const draws = [...stdout.matchAll(/\rUploading \[(#*)( *)\] (\d+)%/g)];
    assert.ok(draws.length >= 3, `the bar is redrawn as the bytes go: ${JSON.stringify(stdout.slice(0, 400))}`);
    const pcts = draws.map((m) => Number(m[3]));
    assert.deepEqual([...pcts].sort((a, b) => a - b), pcts, 'the percentage only grows');
    assert.equal(pcts.at(-1), 100);
    for (const m of draws) assert.equal(m[1]!.length + m[2]!.length, 40, 'a fixed-width bar');
    assert.equal(draws.at(-1)![1]!.length, 40);
    // After the last draw: a newline, then the uuid on its own line (the pty writes \r\n).
    const tail = stdout.slice(draws.at(-1)!.index! + draws.at(-1)![0].length);
    assert.match(tail, new RegExp(`^\\r?\\n${u.uuid}\\r?\\n$`));
    assert.equal(await api.call('pool_patch.get_uuid', await api.call('pool_patch.get_by_uuid', u.uuid)), u.uuid);
  });

  it('with output to a pipe: no bar, no control characters, only the uuid (the distribution .zip, as is)', async () => {
    const u = await fx.custom({ name: 'XS602E021', payload: { 'opt/islet/blob': randomBytes(2 * 1024 * 1024).toString('base64') } });
    const zip = join(u.path, '..', 'XS602E021.zip');
    await run('zip', ['-q', '-j', zip, u.path]);
    const r = await fx.xe(['patch-upload', ...conn(), `file-name=${zip}`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.equal(r.out, `${u.uuid}\n`);
  });
});
