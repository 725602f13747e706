/**
 * Disk full, end to end: a server whose data directory and file SR sit on a small tmpfs
 * the test mounts (as root, which CI and the project machine are) and then fills. Every
 * call that needs space answers with a typed XenAPI error — SR_FULL with real figures for
 * the SR, OUT_OF_SPACE for the host's own database — never INTERNAL_ERROR, and the server
 * keeps answering.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startIslet } from '../helpers/islet-server.js';
import { call, jsonRpc } from '../helpers/rpc.js';
import { completeRecord } from '../../src/client/create-record.js';

const exec = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;

/** Writes into `path` until the file system refuses, leaving it full to the last block. */
async function fill(path: string): Promise<void> {
  const f = await open(path, 'w');
  try {
    for (const size of [MiB, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          await f.write(chunk);
          await f.sync();
        } catch {
          break;
        }
      }
    }
  } finally {
    await f.close().catch(() => undefined);
  }
}

function errorOf(r: { error?: { message: string; data: string[] } }): [string, string[]] {
  assert.ok(r.error, `expected a failure, got ${JSON.stringify(r)}`);
  return [r.error.message, r.error.data];
}

test('a full file system gives typed errors (SR_FULL with figures, OUT_OF_SPACE), never INTERNAL_ERROR', { skip: !isRoot && 'needs root to mount a tmpfs', timeout: 120_000 }, async () => {
  const mnt = await mkdtemp(join(tmpdir(), 'islet-full-'));
  await exec('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt]);
  try {
    await mkdir(join(mnt, 'sr'));
    const srv = await startIslet({ dataDir: join(mnt, 'data'), ownsDataDir: false });
    try {
      const s = await call(srv.url, 'session.login_with_password', 'root', srv.rootPassword, '1.1', 'disk-full');
      const [host] = await call(srv.url, 'host.get_all', s);
      const sr = await call(srv.url, 'SR.create', s, host, { path: join(mnt, 'sr') }, 0, 'tiny', '', 'file', 'user', false, {});
      const vdi = await call(srv.url, 'VDI.create', s, { name_label: 'd', SR: sr, virtual_size: 64 * MiB, type: 'user', sharable: false, read_only: false, other_config: {} });
      const vm = await call(srv.url, 'VM.create', s, completeRecord('VM', { name_label: 'v', memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB, memory_dynamic_min: 128 * MiB, memory_static_min: 64 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1 }));
      await call(srv.url, 'VBD.create', s, completeRecord('VBD', { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', empty: false, other_config: {} }));

      await fill(join(mnt, 'filler'));

      const answers: Record<string, [string, string[]]> = {};
      for (const [name, method, params] of [
        ['VM.clone', 'VM.clone', [s, vm, 'copy']],
        ['SR.scan', 'SR.scan', [s, sr]],
        ['VDI.create', 'VDI.create', [s, { name_label: 'e', SR: sr, virtual_size: 64 * MiB, type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: { allocation: 'thick' } }]],
        ['VM.set_name_label', 'VM.set_name_label', [s, vm, 'x'.repeat(1000)]],
      ] as const) {
        const r = await jsonRpc(srv.url, method, [...params]);
        if (r.error) answers[name] = errorOf(r);
      }
      const report = JSON.stringify(answers);
      for (const [name, [code, params]] of Object.entries(answers)) {
        assert.notEqual(code, 'INTERNAL_ERROR', `${name}: ${report}`);
        assert.ok(code === 'SR_FULL' || code === 'OUT_OF_SPACE', `${name}: ${report}`);
        if (code === 'SR_FULL') {
          assert.ok(Number(params[0]) > 0, `${name}: SR_FULL names the size requested: ${report}`);
          assert.ok(Number.isFinite(Number(params[1])), `${name}: SR_FULL names the room left: ${report}`);
        }
      }
      assert.ok(answers['VM.clone'] || answers['SR.scan'], `the full disk was noticed: ${report}`);

      // A raw import into the full SR: the task ends with a typed error, the client an answer.
      const task = await call(srv.url, 'task.create', s, 'import', '');
      const body = Buffer.alloc(32 * MiB, 0xa5);
      const put = await fetch(`${srv.url}/import_raw_vdi?session_id=${s}&vdi=${vdi}&task_id=${task}`, { method: 'PUT', body })
        .then(async (r) => `${r.status} ${await r.text()}`, (e: Error) => `cut: ${String((e as { cause?: unknown }).cause ?? e)}`);
      const status = await call(srv.url, 'task.get_status', s, task);
      const info: string[] = await call(srv.url, 'task.get_error_info', s, task);
      assert.equal(status, 'failure', `import task: ${status} ${put}`);
      assert.ok(info[0] === 'SR_FULL' || info[0] === 'OUT_OF_SPACE', `import error_info ${JSON.stringify(info)}; HTTP ${put}`);
      if (info[0] === 'SR_FULL') assert.ok(Number(info[1]) > 0, `SR_FULL names the size requested: ${JSON.stringify(info)}`);
      assert.match(put, /^[45]\d\d /, `a clean HTTP answer, not a cut: ${put}`);

      // Room again: the same calls work and the server kept its state.
      await rm(join(mnt, 'filler'));
      await call(srv.url, 'SR.scan', s, sr);
      const copy = await call(srv.url, 'VM.clone', s, vm, 'copy2');
      assert.equal(await call(srv.url, 'VM.get_name_label', s, copy), 'copy2');
    } finally {
      await srv.stop();
    }
  } finally {
    await exec('umount', ['-l', mnt]).catch(() => undefined);
    await rm(mnt, { recursive: true, force: true });
  }
});
