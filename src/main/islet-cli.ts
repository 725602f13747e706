/**
 * @module
 * `islet`: runs a host (`islet server`) and, later, a local pool and update tooling.
 */
import { startHostServer } from './host-server.js';

const USAGE = `usage:
  islet server --data-dir DIR --listen ADDR:PORT [--root-password PW] [--tls-cert FILE --tls-key FILE]
  islet update build --source DIR --manifest FILE --key FILE --out NAME.xsupdate [--zip]
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

function parseListen(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(s);
  if (!m) throw new Error(`--listen wants ADDR:PORT, got ${s}`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

async function server(argv: string[]): Promise<void> {
  const f = parseFlags(argv);
  if (!f['data-dir'] || !f.listen) throw new Error('server needs --data-dir and --listen');
  const { host, port } = parseListen(f.listen);
  const running = await startHostServer({
    dataDir: f['data-dir'], host, port,
    ...(f['root-password'] ? { rootPassword: f['root-password'] } : {}),
    ...(f['tls-cert'] ? { tlsCertFile: f['tls-cert'] } : {}),
    ...(f['tls-key'] ? { tlsKeyFile: f['tls-key'] } : {}),
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
  process.stdout.write(`ready ${running.url}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await running.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
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
      default:
        process.stderr.write(USAGE);
        process.exit(cmd ? 2 : 0);
    }
  } catch (e) {
    process.stderr.write(`islet: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
