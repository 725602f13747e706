/**
 * bin/xe-completion.bash driven as bash drives it: a `bash` subprocess sources the script,
 * `complete -p xe` names its function, and each case sets COMP_LINE, COMP_POINT,
 * COMP_WORDS and COMP_CWORD as bash would for the typed line (bash splits '=' and ':' into
 * words of their own) and calls that function, printing COMPREPLY. The values come from a
 * real one-host Islet through `bin/xe` on PATH: command names, a command's parameters, VM
 * names (escaped), uuids of the command's class or of the class a `*-uuid=` parameter
 * names, fields for `params=`, classes for `event-wait class=`, `log-set-output`'s outputs,
 * keys (from `xe log-get-keys`) and levels. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { completeRecord } from '../../src/client/create-record.js';

const PW = 'xe-completion-pw';
const MiB = 1024 * 1024;
const SCRIPT = join(repoRoot(), 'bin', 'xe-completion.bash');

/** COMP_WORDS as bash makes them: split at blanks, with '=' and ':' words of their own. */
function compWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  for (const ch of line) {
    if (/\s/.test(ch)) {
      if (cur) words.push(cur);
      cur = '';
    } else if (ch === '=' || ch === ':') {
      if (cur) words.push(cur);
      words.push(ch);
      cur = '';
    } else {
      cur += ch;
    }
  }
  words.push(cur);
  return words;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('xe bash completion', () => {
  let islet: IsletProcess;
  let api: XapiClient;
  let home: string;
  const uuids: Record<string, string> = {};

  /** The completions bash would offer for `line` (the cursor at its end). */
  const complete = (line: string): Promise<string[]> => new Promise((resolve, reject) => {
    const words = compWords(line);
    const script = [
      `source ${q(SCRIPT)}`,
      'spec=$(complete -p xe) || exit 3',
      'fn=${spec#*-F }; fn=${fn%% *}',
      `COMP_LINE=${q(line)}; COMP_POINT=\${#COMP_LINE}`,
      `COMP_WORDS=(${words.map(q).join(' ')}); COMP_CWORD=${words.length - 1}`,
      'COMPREPLY=()',
      '"$fn" xe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const env: NodeJS.ProcessEnv = {
      ...process.env, HOME: home, PATH: `${join(repoRoot(), 'bin')}:${process.env.PATH}`,
      XE_EXTRA_ARGS: `server=127.0.0.1,port=${islet.port},password=${PW}`,
    };
    const child = spawn('bash', ['--norc', '--noprofile', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`bash exited ${code}: ${err}`));
      else resolve(out.split('\n').filter((l) => l !== ''));
    });
  });

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'xe-completion-home-'));
    islet = await startIslet({ rootPassword: PW });
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
    for (const name of ['alpha', 'beta gamma']) {
      const vm = String(await api.call('VM.create', completeRecord('VM', {
        name_label: name, memory_static_max: 64 * MiB, memory_dynamic_max: 64 * MiB, memory_dynamic_min: 64 * MiB,
        memory_static_min: 64 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1,
      })));
      uuids[name] = String(await api.call('VM.get_uuid', vm));
    }
  });
  after(async () => {
    await api?.logout().catch(() => undefined);
    api?.close();
    await islet?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('is registered for xe, with no space added after param=', async () => {
    const { execFileSync } = await import('node:child_process');
    const spec = execFileSync('bash', ['--norc', '--noprofile', '-c', `source ${q(SCRIPT)}; complete -p xe`], { encoding: 'utf8' });
    assert.equal(spec.trim(), 'complete -o nospace -F _xe_islet xe');
  });

  it('completes command names', async () => {
    const got = await complete('xe vm-st');
    assert.ok(got.includes('vm-start '), got.join('|'));
    assert.ok(got.every((c) => c.startsWith('vm-st')), got.join('|'));
    assert.deepEqual(await complete('xe host-dm'), ['host-dmesg ']);
    assert.ok((await complete('xe help sr-cr')).includes('sr-create '));
  });

  it('completes the parameters of a command, selectors and fields included, not those given already', async () => {
    const got = await complete('xe vm-start ');
    for (const p of ['vm=', 'force=', 'on=', 'uuid=', 'power-state=']) assert.ok(got.includes(p), `${p} in ${got.length} offers`);
    assert.ok(!got.some((c) => c.includes('selectors')), 'no <vm-selectors> offered');
    assert.deepEqual(await complete('xe sr-create host-'), ['host-uuid=']);
    assert.ok((await complete('xe sr-create device-')).includes('device-config:'));
    const again = await complete('xe vm-start vm=alpha ');
    assert.ok(!again.includes('vm=') && again.includes('force='), again.join('|'));
  });

  it('completes VM names from the live pool, escaped for the shell', async () => {
    const got = await complete('xe vm-start vm=');
    assert.ok(got.includes('alpha '), got.join('|'));
    assert.ok(got.includes('beta\\ gamma '), got.join('|'));
    assert.deepEqual(await complete('xe vm-shutdown vm=al'), ['alpha ']);
  });

  it('completes uuids of the command\'s class, and of the class a *-uuid parameter names', async () => {
    const vms = await complete('xe vm-param-list uuid=');
    for (const u of Object.values(uuids)) assert.ok(vms.includes(`${u} `), `${u} offered`);
    const templates = (await api.call('VM.get_all_records_where', 'field "is_a_template"="true"')) as Record<string, { uuid: string }>;
    for (const t of Object.values(templates)) assert.ok(!vms.includes(`${t.uuid} `), 'no template offered for vm-param-list');
    assert.deepEqual(await complete(`xe vm-param-list uuid=${uuids.alpha!.slice(0, 6)}`), [`${uuids.alpha} `]);

    const hostUuids = Object.values((await api.call('host.get_all_records')) as Record<string, { uuid: string }>).map((h) => `${h.uuid} `);
    assert.deepEqual(await complete('xe sr-create host-uuid='), hostUuids);
    const srs = Object.values((await api.call('SR.get_all_records')) as Record<string, { uuid: string }>).map((s) => `${s.uuid} `).sort();
    assert.deepEqual((await complete('xe vdi-create sr-uuid=')).sort(), srs);
    const byLine = await complete(`xe -s 127.0.0.1 -p ${islet.port} -pw ${PW} vbd-create vm-uuid=${uuids.alpha!.slice(0, 6)}`);
    assert.deepEqual(byLine, [`${uuids.alpha} `]);
  });

  it('completes fields for params=, classes for event-wait class=, and true/false for booleans', async () => {
    const fields = await complete('xe vm-list params=name');
    assert.deepEqual(fields.sort(), ['name-description ', 'name-label ']);
    assert.ok((await complete('xe event-wait class=')).includes('vm '));
    assert.deepEqual(await complete('xe vm-shutdown force='), ['true ', 'false ']);
  });

  it('completes log-set-output\'s outputs, the server\'s logging keys and the levels', async () => {
    assert.deepEqual(await complete('xe log-set-output output='), ['nil ', 'stderr ', 'string ', 'syslog ', 'syslog:', 'file:']);
    assert.deepEqual(await complete('xe log-set-output output=fi'), ['file:']);
    const keys = await complete('xe log-set-output key=');
    for (const k of ['http ', 'nbd ', 'session ', 'storage ', 'xapi ']) assert.ok(keys.includes(k), `${k} in ${keys.join('|')}`);
    assert.deepEqual(await complete('xe log-set-output output=nil key=n'), ['nbd ']);
    assert.deepEqual(await complete('xe log-set-output level=w'), ['warn ']);
    assert.deepEqual((await complete('xe log-')).sort(), ['log-get ', 'log-get-keys ', 'log-reopen ', 'log-set-output ']);
  });
});
