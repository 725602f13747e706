/**
 * @module
 * `islet`: runs a host (`islet server`) and, later, a local pool and update tooling.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const USAGE = `usage:
  islet server --data-dir DIR --listen ADDR:PORT [--root-password PW] [--tls-cert FILE --tls-key FILE]
               [--update-key FILE]…   (keys trusted to sign updates, at first start)
               [--hypervisor-state DIR] [--spawn-hypervisor true|false]
               [--hypervisor-memory SIZE] [--migration-rate MIBS]
               [--nbd-listen ADDR:PORT|off]   (NBD server; default: the --listen address, a free port)
               [--nics eth0,eth1,…]   (the host's network cards, management first; default eth0)
  islet update build --source DIR --manifest FILE --key FILE --out NAME.xsupdate [--zip]
  islet pool up --hosts N --data-dir DIR --base-port P [--root-password PW] [--migration-rate MIBS]
                [--memory SIZE] [--addresses A,B,…] [--update-key FILE]…
  islet toolstack-restart (--data-dir HOSTDIR | -s HOST -p PORT -u USER -pw PASS)
  islet sim equallogic --ssh ADDR:PORT --iscsi ADDR:PORT --username U --password P --group-name NAME
                       --pool NAME:SIZE [--pool …] --firmware VERSION [--data-dir DIR]
  islet sim iscsi --listen ADDR:PORT --target IQN --lun FILE[:SIZE] [--lun …] [--chap USER:SECRET]
                  [--mutual-chap USER:SECRET] [--acl IQN=LUN,LUN]… [--thick]
`;

function parseFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) out[a.slice(2)] = 'true';
      else { out[a.slice(2)] = v; i++; }
    }
  }
  return out;
}

/** Takes every `--NAME V` / `--NAME=V` out of argv (a flag that may repeat). */
function takeRepeated(argv: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length;) {
    const a = argv[i]!;
    if (a === `--${name}` && argv[i + 1] !== undefined) { out.push(argv[i + 1]!); argv.splice(i, 2); }
    else if (a.startsWith(`--${name}=`)) { out.push(a.slice(name.length + 3)); argv.splice(i, 1); }
    else i++;
  }
  return out;
}

function parseListen(s: string, flag = '--listen'): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(s);
  if (!m) throw new Error(`${flag} wants ADDR:PORT, got ${s}`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

async function server(argv: string[]): Promise<void> {
  const updateKeyFiles = takeRepeated(argv, 'update-key');
  const f = parseFlags(argv);
  if (!f['data-dir'] || !f.listen) throw new Error('server needs --data-dir and --listen');
  const { host, port } = parseListen(f.listen);
  // A bad key file must stop a first start before it makes the pool (later starts ignore the flag).
  if (updateKeyFiles.length && !existsSync(join(f['data-dir'], 'pool.db'))) {
    await (await import('../updates/update-keys.js')).checkUpdateKeyFiles(updateKeyFiles);
  }
  // Loaded here, not at the top: `islet sim …` runs in this same program, and a simulator
  // that carries the whole toolstack in its heap pays for it in every full collection.
  const { startHostServer } = await import('./host-server.js');
  const running = await startHostServer({
    // Absolute: the local SR's path is made from it, and an SR path must be absolute (`npm start` gives ./var).
    dataDir: resolve(f['data-dir']), host, port,
    ...(f['root-password'] ? { rootPassword: f['root-password'] } : {}),
    ...(f['tls-cert'] ? { tlsCertFile: f['tls-cert'] } : {}),
    ...(f['tls-key'] ? { tlsKeyFile: f['tls-key'] } : {}),
    ...(f['hypervisor-state'] ? { hypervisorStateDir: f['hypervisor-state'] } : {}),
    ...(f['spawn-hypervisor'] ? { spawnHypervisor: !['false', '0', 'no'].includes(f['spawn-hypervisor']) } : {}),
    ...(f['hypervisor-memory'] ? { hypervisorMemory: f['hypervisor-memory'] } : {}),
    ...(f['migration-rate'] ? { migrationRate: Number(f['migration-rate']) } : {}),
    ...(updateKeyFiles.length ? { updateKeyFiles } : {}),
    ...(f['nbd-listen'] ? { nbdListen: f['nbd-listen'] === 'off' ? false : parseListen(f['nbd-listen'], '--nbd-listen') } : {}),
    ...(f.nics ? { nics: f.nics.split(',').map((n) => n.trim()).filter(Boolean) } : {}),
  });
  if (running.generatedPasswordFile) {
    process.stderr.write(`root password generated and written to ${running.generatedPasswordFile}\n`);
  }
  if (f.hint === 'true') {
    const pwArg = running.generatedPasswordFile ? `-pwf ${running.generatedPasswordFile}` : '-pw <password>';
    process.stderr.write(
      `connect with: bin/xe -s ${host} -p ${running.port} -u root ${pwArg} host-list\n` +
        `(TLS and plain HTTP share the port; add --nossl for plain HTTP)\n`,
    );
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await running.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdout.write(`ready ${running.url}\n`);
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'server':
        return await server(rest);
      case 'update': {
        const [sub, ...args] = rest;
        if (sub !== 'build') throw new Error('usage: islet update build …');
        const { runUpdateBuildCli } = await import('../updates/package/build-cli.js');
        await runUpdateBuildCli(args);
        return;
      }
      case 'pool': {
        const [sub, ...args] = rest;
        if (sub !== 'up') throw new Error('usage: islet pool up --hosts N --data-dir DIR --base-port P …');
        const { poolUp } = await import('./pool-up-command.js');
        await poolUp(args);
        return;
      }
      case 'sim': {
        const [sub, ...args] = rest;
        // The simulators are programs of their own beside the toolstack, found by path.
        const sims: Record<string, [string, string]> = {
          equallogic: ['../../sims/equallogic/equallogic-sim-command.js', 'runEqualLogicSim'],
          ontap: ['../../sims/ontap/ontap-sim-command.js', 'runOntapSimCommand'],
          iscsi: ['../../sims/iscsi/iscsi-sim.js', 'runIscsiSim'],
        };
        const which = sims[sub ?? ''];
        if (!which) throw new Error(`usage: islet sim ${Object.keys(sims).join('|')} …`);
        const mod = (await import(new URL(which[0], import.meta.url).href)) as Record<string, (a: string[]) => Promise<void>>;
        await mod[which[1]]!(args);
        return;
      }
      case 'toolstack-restart': {
        const { toolstackRestart } = await import('../pool/supervisor/toolstack-restart.js');
        process.exitCode = await toolstackRestart(rest);
        return;
      }
      default:
        process.stderr.write(USAGE);
        process.exit(cmd ? 2 : 0);
    }
  } catch (e) {
    process.stderr.write(`islet: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
