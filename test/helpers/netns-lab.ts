/**
 * @module
 * A small network of Linux network namespaces for tests that need hosts on different
 * "machines": a switch namespace holding a bridge, one namespace per host joined to it by
 * a veth pair, and a veth from the test's own namespace so the test can reach every host.
 * Addresses are in a private /24 under 10.213.0.0/16 picked at random. A host is cut off
 * and reconnected by setting its switch-side link down and up. `destroy()` removes every
 * namespace and link it made. Needs root (and iproute2).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run('ip', args);
  return stdout;
}

export interface NetnsHost {
  readonly ns: string;
  readonly address: string;
  /** The switch-side end of its link (set down to cut the host off). */
  readonly switchPort: string;
}

export interface NetnsLab {
  readonly hosts: NetnsHost[];
  /** This (the test's) side's address on the lab network. */
  readonly gateway: string;
  /** Arguments that run a command inside host i's namespace: `ip netns exec <ns> …`. */
  exec(i: number, argv: string[]): string[];
  cut(i: number): Promise<void>;
  reconnect(i: number): Promise<void>;
  destroy(): Promise<void>;
}

/** Why namespaces cannot be made here, or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `isprobe${randomBytes(3).toString('hex')}`;
  try {
    await ip('netns', 'add', probe);
    await ip('netns', 'del', probe);
    return undefined;
  } catch (e) {
    return `ip netns does not work: ${e instanceof Error ? e.message : String(e)}`;
  }
}

export async function createNetnsLab(count: number): Promise<NetnsLab> {
  const tag = randomBytes(2).toString('hex');
  const subnet = `10.213.${1 + Math.floor(Math.random() * 254)}`;
  const sw = `islet-${tag}-sw`;
  const rootIf = `ir${tag}`;
  const hosts: NetnsHost[] = [];
  const made: string[] = [];
  const lab: NetnsLab = {
    hosts,
    gateway: `${subnet}.1`,
    exec: (i, argv) => ['netns', 'exec', hosts[i]!.ns, ...argv],
    cut: async (i) => { await ip('-n', sw, 'link', 'set', hosts[i]!.switchPort, 'down'); },
    reconnect: async (i) => { await ip('-n', sw, 'link', 'set', hosts[i]!.switchPort, 'up'); },
    destroy: async () => {
      await ip('link', 'del', rootIf).catch(() => undefined);
      for (const ns of made.reverse()) await ip('netns', 'del', ns).catch(() => undefined);
    },
  };
  try {
    await ip('netns', 'add', sw);
    made.push(sw);
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    await ip('-n', sw, 'link', 'set', 'lo', 'up');
    // The test's own way in.
    await ip('link', 'add', rootIf, 'type', 'veth', 'peer', 'name', `${rootIf}p`);
    await ip('link', 'set', `${rootIf}p`, 'netns', sw);
    await ip('-n', sw, 'link', 'set', `${rootIf}p`, 'master', 'br0', 'up');
    await ip('addr', 'add', `${lab.gateway}/24`, 'dev', rootIf);
    await ip('link', 'set', rootIf, 'up');
    for (let i = 0; i < count; i++) {
      const ns = `islet-${tag}-h${i}`;
      await ip('netns', 'add', ns);
      made.push(ns);
      const inner = `h${tag}${i}`;
      const outer = `s${tag}${i}`;
      await ip('link', 'add', inner, 'type', 'veth', 'peer', 'name', outer);
      await ip('link', 'set', inner, 'netns', ns);
      await ip('link', 'set', outer, 'netns', sw);
      await ip('-n', sw, 'link', 'set', outer, 'master', 'br0', 'up');
      const address = `${subnet}.${10 + i}`;
      await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', inner);
      await ip('-n', ns, 'link', 'set', inner, 'up');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      hosts.push({ ns, address, switchPort: outer });
    }
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}
