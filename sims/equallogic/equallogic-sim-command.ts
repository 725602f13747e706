/**
 * @module
 * `islet sim equallogic --ssh ADDR:PORT --iscsi ADDR:PORT --username U --password P
 * --group-name NAME --pool NAME:SIZE [--pool …] --firmware VERSION [--data-dir DIR]
 * [--drop-on REGEX]…`: runs a simulated EqualLogic group until SIGTERM and prints one line,
 * `ready ssh://ADDR:PORT`, once it serves. Restarting it with the same `--data-dir` and
 * another `--ssh` address moves the group and keeps every volume.
 */
import { parseCliSize } from './size-text.js';
import { startEqualLogicSim } from './equallogic-sim.js';

const USAGE = 'usage: islet sim equallogic --ssh ADDR:PORT --iscsi ADDR:PORT --username U --password P --group-name NAME --pool NAME:SIZE --firmware VERSION [--data-dir DIR]';

function hostPort(text: string | undefined, flag: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text ?? '');
  if (!m) throw new Error(`${flag} wants ADDR:PORT\n${USAGE}`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

export async function runEqualLogicSim(argv: string[]): Promise<void> {
  const one: Record<string, string> = {};
  const pools: { name: string; size: number }[] = [];
  const dropOn: RegExp[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const [k, v] = a.startsWith('--') && eq > 0 ? [a.slice(2, eq), a.slice(eq + 1)] : [a.replace(/^--/, ''), argv[++i]];
    if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
    if (k === 'pool') {
      const m = /^([^:]+):(.+)$/.exec(v);
      const size = m ? parseCliSize(m[2]!) : undefined;
      if (!m || size === undefined) throw new Error(`--pool wants NAME:SIZE (e.g. default:100G), got ${v}`);
      pools.push({ name: m[1]!, size });
    } else if (k === 'drop-on') dropOn.push(new RegExp(v));
    else one[k] = v;
  }
  for (const k of ['ssh', 'username', 'password', 'group-name', 'firmware']) if (!one[k]) throw new Error(`--${k} is required\n${USAGE}`);
  if (!pools.length) throw new Error(`--pool is required\n${USAGE}`);
  const sim = await startEqualLogicSim({
    ssh: hostPort(one.ssh, '--ssh'),
    ...(one.iscsi ? { iscsi: hostPort(one.iscsi, '--iscsi') } : {}),
    username: one.username!, password: one.password!, groupName: one['group-name']!, pools, firmware: one.firmware!,
    ...(one['data-dir'] ? { dataDir: one['data-dir'] } : {}),
    log: (m) => process.stderr.write(`${m}\n`),
  });
  sim.ssh.dropOn.push(...dropOn);
  const host = sim.sshAddress.address.includes(':') ? `[${sim.sshAddress.address}]` : sim.sshAddress.address;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await sim.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdout.write(`ready ssh://${host}:${sim.sshAddress.port}\n`);
}
