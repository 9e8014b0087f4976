/**
 * The namespaces examples/live-router.click runs in: host A and host B, each in its own network
 * namespace, joined by veth pairs to a router namespace (interfaces ra and rb, no addresses,
 * forwarding off, so only hetbox moves packets between them). The hosts reach the router
 * through static neighbour entries (the router answers no ARP), and their interfaces compute
 * checksums and segment TCP themselves (ethtool: tx, tso, gso off): on a veth the kernel would
 * otherwise hand the router unfinished checksums and 64 KiB TCP segments, as a NIC's offload
 * would get them, which a router on packet sockets forwards as they are. Used by the end-to-end test,
 * the live benchmark and scripts/live-demo.ts; with `kernelForwarding` the router namespace
 * gets addresses and ip_forward instead, for the kernel's own forwarding as a baseline.
 */
import { NetnsLab } from './netns-lab.js';

/** The addresses examples/live-router.click is written for. */
export const LIVE = {
  routerMacA: '02:00:00:00:01:01',
  routerMacB: '02:00:00:00:02:01',
  hostMacA: '02:00:00:00:0a:02',
  hostMacB: '02:00:00:00:0b:02',
  routerIpA: '10.1.0.1',
  routerIpB: '10.2.0.1',
  hostIpA: '10.1.0.2',
  hostIpB: '10.2.0.2',
} as const;

export interface RouterLab {
  lab: NetnsLab;
  hostA: string;
  hostB: string;
  router: string;
}

export function buildRouterLab(tag: string, opts: { kernelForwarding?: boolean } = {}): RouterLab {
  const lab = new NetnsLab(tag);
  try {
    const hostA = lab.addNamespace('ha');
    const hostB = lab.addNamespace('hb');
    const router = lab.addNamespace('rt');
    lab.veth(hostA, 'h0', LIVE.hostMacA, router, 'ra', LIVE.routerMacA);
    lab.veth(hostB, 'h0', LIVE.hostMacB, router, 'rb', LIVE.routerMacB);
    for (const [ns, ip, gw, gwMac] of [
      [hostA, LIVE.hostIpA, LIVE.routerIpA, LIVE.routerMacA],
      [hostB, LIVE.hostIpB, LIVE.routerIpB, LIVE.routerMacB],
    ] as const) {
      lab.ip(ns, 'addr', 'add', `${ip}/24`, 'dev', 'h0');
      lab.ip(ns, 'route', 'add', 'default', 'via', gw);
      lab.ip(ns, 'neigh', 'replace', gw, 'lladdr', gwMac, 'dev', 'h0', 'nud', 'permanent');
      lab.exec(ns, 'ethtool', '-K', 'h0', 'tx', 'off', 'tso', 'off', 'gso', 'off');
    }
    if (opts.kernelForwarding) {
      lab.ip(router, 'addr', 'add', `${LIVE.routerIpA}/24`, 'dev', 'ra');
      lab.ip(router, 'addr', 'add', `${LIVE.routerIpB}/24`, 'dev', 'rb');
      lab.ip(router, 'neigh', 'replace', LIVE.hostIpA, 'lladdr', LIVE.hostMacA, 'dev', 'ra', 'nud', 'permanent');
      lab.ip(router, 'neigh', 'replace', LIVE.hostIpB, 'lladdr', LIVE.hostMacB, 'dev', 'rb', 'nud', 'permanent');
      lab.sysctl(router, 'net.ipv4.ip_forward', '1');
    }
    return { lab, hostA, hostB, router };
  } catch (e) {
    lab.cleanup();
    throw e;
  }
}
