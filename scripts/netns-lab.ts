/**
 * A throw-away lab of Linux network namespaces joined by veth pairs, for the live-interface
 * tests, benchmark and demo. Every namespace is named uniquely (prefix with the process id and a
 * counter) and every interface is created inside a namespace (`ip -n NS link add ... peer ...
 * netns NS2`), so nothing appears in, or is routed by, the machine's own namespace; deleting
 * the namespaces removes the interfaces. `cleanup` runs at process exit too, so a crash leaves
 * nothing behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let labCounter = 0;
const liveLabs = new Set<NetnsLab>();
let exitHookInstalled = false;

export interface LabAvailability {
  ok: boolean;
  /** Why not, when ok is false. */
  reason: string;
}

/** Whether namespaces, veth pairs and raw sockets can be used here (root, iproute2). */
export function netnsLabAvailable(): LabAvailability {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'not root (network namespaces and raw sockets need CAP_SYS_ADMIN and CAP_NET_RAW)' };
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.error !== undefined || ip.status !== 0) return { ok: false, reason: 'iproute2 (`ip`) is not installed: run `npm run setup`' };
  const ethtool = spawnSync('ethtool', ['--version'], { encoding: 'utf8' });
  if (ethtool.error !== undefined) return { ok: false, reason: 'ethtool is not installed: run `npm run setup`' };
  // Try it: a namespace that cannot be made means no CAP_SYS_ADMIN (a container without it).
  const probe = `hbx-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return { ok: false, reason: `cannot create a network namespace: ${add.stderr.trim()}` };
  spawnSync('ip', ['netns', 'del', probe]);
  return { ok: true, reason: '' };
}

export class NetnsLab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];

  constructor(tag = 'lab') {
    this.prefix = `hbx-${tag}-${process.pid}-${labCounter++}`;
    liveLabs.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const lab of liveLabs) lab.cleanup();
      });
    }
  }

  /** A new namespace `${prefix}-${name}` with loopback up and IPv6 off (no router solicitations or MLD noise). */
  addNamespace(name: string): string {
    const ns = `${this.prefix}-${name}`;
    run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    this.sysctl(ns, 'net.ipv6.conf.all.disable_ipv6', '1');
    this.sysctl(ns, 'net.ipv6.conf.default.disable_ipv6', '1');
    return ns;
  }

  sysctl(ns: string, key: string, value: string): void {
    run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`]);
  }

  /** A veth pair: `ifA` in `nsA` with `macA`, `ifB` in `nsB` with `macB`, both up. */
  veth(nsA: string, ifA: string, macA: string, nsB: string, ifB: string, macB: string): void {
    run('ip', ['-n', nsA, 'link', 'add', ifA, 'address', macA, 'type', 'veth', 'peer', 'name', ifB, 'address', macB, 'netns', nsB]);
    run('ip', ['-n', nsA, 'link', 'set', ifA, 'up']);
    run('ip', ['-n', nsB, 'link', 'set', ifB, 'up']);
  }

  /** `ip -n NS ARGS...` */
  ip(ns: string, ...args: string[]): string {
    return run('ip', ['-n', ns, ...args]);
  }

  /** Run a command inside a namespace; returns its stdout (throws with its stderr on failure). */
  exec(ns: string, cmd: string, ...args: string[]): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** An interface counter from /sys/class/net/IF/statistics (read inside the namespace). */
  counter(ns: string, ifname: string, name: string): number {
    return Number(this.exec(ns, 'cat', `/sys/class/net/${ifname}/statistics/${name}`).trim());
  }

  /** Delete every namespace of the lab (and with them its interfaces). Safe to call twice. */
  cleanup(): void {
    while (this.namespaces.length > 0) {
      const ns = this.namespaces.pop()!;
      if (existsSync(`/var/run/netns/${ns}`)) spawnSync('ip', ['netns', 'del', ns]);
    }
    liveLabs.delete(this);
  }
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}
