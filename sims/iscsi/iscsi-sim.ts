/**
 * @module
 * `islet sim iscsi --listen ADDR:PORT --target IQN --lun FILE[:SIZE] [--lun …]
 * [--chap USER:SECRET] [--mutual-chap USER:SECRET] [--acl IQN=LUN,LUN …] [--thick]`:
 * the simulated target on its own, for tests and demos. LUN numbers follow the order of
 * `--lun` from 0; a FILE that does not exist is created sparse with SIZE (bytes, or with
 * K/M/G/T). Without `--acl` every initiator sees every LUN. Prints
 * `ready iscsi://ADDR:PORT/IQN` once it accepts connections; SIGTERM stops it.
 */
import { parseArgs } from 'node:util';
import { IscsiTarget } from './iscsi-target.js';
import { SparseFileLunStore } from './sparse-file-lun-store.js';

function parseSize(s: string): number {
  const m = /^([0-9]+)([KMGT]?)i?B?$/i.exec(s);
  if (!m) throw new Error(`"${s}" is not a size`);
  const unit = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Number(m[1]) * unit;
}

function userSecret(s: string | undefined, flag: string): { user: string; secret: string } | undefined {
  if (s === undefined) return undefined;
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1) throw new Error(`${flag} wants USER:SECRET`);
  return { user: s.slice(0, i), secret: s.slice(i + 1) };
}

export async function runIscsiSim(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' }, target: { type: 'string' }, lun: { type: 'string', multiple: true },
      chap: { type: 'string' }, 'mutual-chap': { type: 'string' }, acl: { type: 'string', multiple: true },
      thick: { type: 'boolean' }, 'block-size': { type: 'string' }, quiet: { type: 'boolean' },
    },
  });
  if (!values.listen || !values.target || !values.lun?.length) {
    throw new Error('usage: islet sim iscsi --listen ADDR:PORT --target IQN --lun FILE[:SIZE] [--lun …] [--chap USER:SECRET]');
  }
  const at = values.listen.lastIndexOf(':');
  const host = values.listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(values.listen.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen ${values.listen}: want ADDR:PORT`);
  const chap = userSecret(values.chap, '--chap');
  const mutualChap = userSecret(values['mutual-chap'], '--mutual-chap');
  const target = new IscsiTarget({
    targetIqn: values.target,
    ...(chap ? { chap } : {}),
    ...(mutualChap ? { mutualChap } : {}),
    allowAll: !values.acl?.length,
    ...(values.quiet ? {} : { log: (m: string) => process.stderr.write(`${m}\n`) }),
  });
  const blockSize = values['block-size'] === '4096' ? 4096 : 512;
  const stores: SparseFileLunStore[] = [];
  for (const [i, spec] of values.lun.entries()) {
    const m = /^(.*?)(?::([0-9]+[KMGT]?i?B?))?$/i.exec(spec)!;
    const store = await SparseFileLunStore.open(m[1]!, {
      ...(m[2] ? { size: parseSize(m[2]) } : {}), thin: !values.thick, blockSize,
    });
    stores.push(store);
    target.setLun(i, store);
  }
  for (const a of values.acl ?? []) {
    const eq = a.lastIndexOf('=');
    if (eq <= 0) throw new Error(`--acl ${a}: want IQN=LUN,LUN`);
    const luns = a.slice(eq + 1).split(',').filter((x) => x !== '').map(Number);
    if (luns.some((l) => !Number.isInteger(l))) throw new Error(`--acl ${a}: LUNs are numbers`);
    target.setAcl(a.slice(0, eq), luns);
  }
  const bound = await target.listen(host, port);
  const shown = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await target.close();
    for (const s of stores) await s.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdout.write(`ready iscsi://${shown}:${bound.port}/${target.targetIqn}\n`);
}
