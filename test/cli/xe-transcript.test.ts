/**
 * Writes and checks `docs/xe-transcript.md`: a new administrator's first hour with `xe`
 * against a real `islet pool up` of two hosts: the hosts and their control domains,
 * networks and PIFs, templates and SRs, an ISO SR and its CD, a VM installed from a
 * template with a NIC and the CD, started, shut down, exported to XVA and imported back.
 * Each command runs for real; the transcript is what xe printed, with what changes from
 * run to run (uuids, MACs, the scratch directory) replaced by stable stand-ins. The test
 * fails when the committed document differs from what the commands print now, so the
 * document cannot drift; `ISLET_WRITE_TRANSCRIPT=1` rewrites it instead.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';
import { runXe, xeConnection } from '../helpers/xe.js';

const DOC = join(repoRoot(), 'docs', 'xe-transcript.md');
const SCRATCH = '/root/islet-demo';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const MAC = /\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/g;

/**
 * One step of the session: xe's arguments (`{name}` stands for a value saved earlier) and a
 * note; or, with `sha256`, the checksums of files in the scratch directory, as `sha256sum`
 * prints them.
 */
interface Step {
  readonly note?: string;
  readonly args: readonly string[];
  /** Saves the trimmed output under this name. */
  readonly save?: string;
  readonly sha256?: readonly string[];
}

const STEPS: readonly Step[] = [
  { note: 'The pool\'s hosts, and the control domain each runs (domain 0).', args: ['host-list'] },
  { args: ['vm-list', 'is-control-domain=true', 'params=name-label,power-state,dom-id'] },
  { note: 'Networks and the hosts\' interfaces: the pool-wide network on `xenbr0` with each host\'s management PIF, and the host-internal network.', args: ['network-list'] },
  { args: ['pif-list', 'params=device,host-name-label,IP,management,currently-attached'] },
  { note: 'Templates (the XenServer 6.0.2 set) and storage.', args: ['template-list', 'params=name-label'] },
  { args: ['sr-list', 'params=name-label,type,content-type,shared'] },
  { note: 'An ISO library over a directory of host0 holding one ISO image, and the CD it offers.', args: ['host-list', 'name-label=host0', '--minimal'], save: 'host0' },
  { args: ['sr-create', 'host-uuid={host0}', 'name-label=ISO library', 'type=iso', 'content-type=iso', `device-config:location=${SCRATCH}/isos`] },
  { args: ['cd-list'] },
  { note: 'A VM from a template: its disk is provisioned on the default SR, and it has an empty CD drive.', args: ['vm-install', 'template=Debian Squeeze 6.0 (64-bit)', 'new-name-label=web1'], save: 'vm' },
  { args: ['vm-disk-list', 'vm=web1'] },
  { args: ['network-list', 'bridge=xenbr0', '--minimal'], save: 'net' },
  { note: 'A NIC on the pool-wide network (its MAC is made from the VM\'s seed), and the install CD in the drive.', args: ['vif-create', 'vm-uuid={vm}', 'network-uuid={net}', 'device=0'], save: 'vif' },
  { args: ['vm-cd-insert', 'vm=web1', 'cd-name=debian-6.0.iso'] },
  { note: 'A small data disk with known contents, on the pool\'s default SR, as the VM\'s second disk.', args: ['pool-list', 'params=default-SR', '--minimal'], save: 'sr' },
  { args: ['vdi-create', 'sr-uuid={sr}', 'name-label=data', 'virtual-size=16MiB'], save: 'data' },
  { args: ['vdi-import', 'uuid={data}', `filename=${SCRATCH}/data.raw`, 'format=raw'] },
  { args: ['vbd-create', 'vm-uuid={vm}', 'vdi-uuid={data}', 'device=1'] },
  { note: 'Start it: the NIC is plugged into the running domain.', args: ['vm-start', 'vm=web1'] },
  { args: ['vm-list', 'name-label=web1', 'params=name-label,power-state,resident-on'] },
  { args: ['vif-list', 'vm-uuid={vm}', 'params=device,MAC,network-name-label,currently-attached'] },
  { args: ['vm-cd-list', 'vm=web1'] },
  { note: 'Shut it down, eject the CD, and export it to an XVA file.', args: ['vm-shutdown', 'vm=web1'] },
  { args: ['vif-list', 'vm-uuid={vm}', 'params=device,currently-attached'] },
  { args: ['vm-cd-eject', 'vm=web1'] },
  { args: ['vm-export', 'vm=web1', `filename=${SCRATCH}/web1.xva`] },
  { note: 'Import it back: a new VM with its own copy of the disk and the same NIC.', args: ['vm-import', `filename=${SCRATCH}/web1.xva`], save: 'imported' },
  { args: ['vm-list', 'name-label=web1', 'params=uuid,power-state'] },
  { args: ['vm-vif-list', 'uuid={imported}'] },
  { args: ['vm-disk-list', 'uuid={imported}', 'vdi-params=name-label,virtual-size'] },
  { note: 'The imported data disk holds the same bytes as the file written into the original.', args: ['vbd-list', 'vm-uuid={imported}', 'userdevice=1', 'params=vdi-uuid', '--minimal'], save: 'importedData' },
  { args: ['vdi-export', 'uuid={importedData}', `filename=${SCRATCH}/imported-data.raw`, 'format=raw'] },
  { args: [], sha256: ['data.raw', 'imported-data.raw'] },
];

/** Stable stand-ins for what differs between runs: the N-th uuid or MAC seen, the scratch path. */
class Normaliser {
  private readonly uuids = new Map<string, string>();
  private readonly macs = new Map<string, string>();
  constructor(private readonly scratch: string) {}

  private stand(map: Map<string, string>, v: string, make: (h: string) => string): string {
    let s = map.get(v);
    if (!s) {
      s = make(createHash('sha256').update(`islet-transcript ${map === this.uuids ? 'uuid' : 'mac'} ${map.size}`).digest('hex'));
      map.set(v, s);
    }
    return s;
  }

  apply(text: string): string {
    return text.split(this.scratch).join(SCRATCH)
      .replace(UUID, (u) => this.stand(this.uuids, u, (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`))
      .replace(MAC, (m) => this.stand(this.macs, m, (h) => `02:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}`));
  }
}

function header(): string {
  return [
    '# A first hour with xe',
    '',
    'What a new administrator types, and what `xe` prints, on a pool of two hosts started with',
    '`bin/islet pool up --hosts 2`. The connection arguments (`-s`, `-p`, `-u`, `-pw`) are left out.',
    'This file is written by `test/cli/xe-transcript.test.ts`, which runs every command below against',
    'a real pool and fails when this file differs from what the commands print; uuids, MAC addresses',
    'and the scratch directory are replaced by stand-ins that stay the same from run to run. To',
    'rewrite it after a deliberate change: `npm run build && ISLET_WRITE_TRANSCRIPT=1 node --test',
    'dist/test/cli/xe-transcript.test.js`.',
    '',
  ].join('\n');
}

describe('xe transcript (docs/xe-transcript.md)', { timeout: 600_000 }, () => {
  let pool: IsletPool;
  let scratch: string;
  let home: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'islet-transcript-'));
    home = join(scratch, 'home');
    await mkdir(join(scratch, 'isos'), { recursive: true });
    await mkdir(home);
    // An install image stand-in: the ISO SR lists files by name and size, whatever is in them.
    await writeFile(join(scratch, 'isos', 'debian-6.0.iso'), Buffer.alloc(4 * 1024 * 1024, 0x2a));
    // The data disk's contents: 16 MiB that look random but are the same every run.
    const blocks: Buffer[] = [];
    for (let i = 0; i < 16 * 1024 * 1024 / 32; i++) blocks.push(createHash('sha256').update(`islet data ${i}`).digest());
    await writeFile(join(scratch, 'data.raw'), Buffer.concat(blocks));
    pool = await startPool({ hosts: 2 });
  });
  after(async () => {
    await pool?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('prints what the committed document shows', async () => {
    const norm = new Normaliser(scratch);
    const saved = new Map<string, string>();
    const parts = [header()];
    for (const step of STEPS) {
      if (step.sha256) {
        const sums = await Promise.all(step.sha256.map(async (f) => `${createHash('sha256').update(await readFile(join(scratch, f))).digest('hex')}  ${f}`));
        assert.equal(new Set(sums.map((l) => l.split(' ')[0])).size, 1, `the files differ:\n${sums.join('\n')}`);
        if (step.note) parts.push(step.note, '');
        parts.push('```console', `$ cd ${SCRATCH} && sha256sum ${step.sha256.join(' ')}`, ...sums, '```', '');
        continue;
      }
      const args = step.args.map((a) => a.replace(/\{(\w+)\}/g, (_, k: string) => {
        const v = saved.get(k);
        assert.ok(v !== undefined, `{${k}} used before it was saved`);
        return v;
      }).split(SCRATCH).join(scratch));
      const r = await runXe([...xeConnection({ url: pool.masterUrl, password: pool.rootPassword, home }), ...args], { home, timeoutMs: 300_000 });
      assert.equal(r.code, 0, `xe ${args.join(' ')} failed:\n${r.out}${r.err}`);
      if (step.save) saved.set(step.save, r.out.trim());
      const shown = args.map((a) => (/[\s()]/.test(a) ? `'${a}'` : a)).join(' ');
      if (step.note) parts.push(step.note, '');
      const out = norm.apply(r.out.replace(/\n{3,}/g, '\n\n').trimEnd());
      parts.push('```console', `$ xe ${norm.apply(shown)}`, ...(out ? [out] : []), '```', '');
    }
    const doc = parts.join('\n');
    if (process.env.ISLET_WRITE_TRANSCRIPT === '1') {
      await writeFile(DOC, doc);
      return;
    }
    const committed = await readFile(DOC, 'utf8').catch(() => '');
    if (committed !== doc) {
      const a = committed.split('\n');
      const b = doc.split('\n');
      const i = a.findIndex((line, n) => line !== b[n]);
      const at = i < 0 ? Math.min(a.length, b.length) : i;
      assert.fail(`docs/xe-transcript.md differs from what xe prints now, first at line ${at + 1}:\n` +
        `  committed: ${JSON.stringify(a[at])}\n  printed:   ${JSON.stringify(b[at])}\n` +
        'Rewrite it with ISLET_WRITE_TRANSCRIPT=1 if the change is deliberate.');
    }
  });
});
