/**
 * Inputs for the shared kernel suite: real route tables as MultiFib images, addresses from real
 * captures, from the routes' own boundaries and from a seeded generator, and edge-case tables.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { MultiFib, type RouteColumns } from '../../core/structures/multi-fib/multi-fib.js';

export const DATA = path.resolve(import.meta.dirname, '../../../shared/data');

export interface Route {
  prefix: number;
  len: number;
  nh: number;
}

/** `a.b.c.d/len [nexthop]` per line; next hops are numbered in order of first appearance. */
export function loadRoutes(file: string, limit = Infinity): Route[] {
  const raw = fs.readFileSync(path.join(DATA, 'routes', file));
  const text = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  const hops = new Map<string, number>();
  const out: Route[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= limit) break;
    const [pfx, hop] = line.trim().split(/\s+/);
    if (pfx === undefined || !pfx.includes('/') || pfx.includes(':')) continue;
    const [a, l] = pfx.split('/');
    const o = a.split('.').map(Number);
    if (o.length !== 4) continue;
    const len = Number(l);
    const addr = ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
    const key = hop ?? `h${out.length % 4096}`;
    let nh = hops.get(key);
    if (nh === undefined) hops.set(key, (nh = hops.size));
    out.push({ prefix: len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0, len, nh });
  }
  return out;
}

export function columns(routes: readonly Route[]): RouteColumns {
  const c: RouteColumns = { count: routes.length, prefix: new Int32Array(routes.length), len: new Uint8Array(routes.length), nh: new Int32Array(routes.length) };
  routes.forEach((r, i) => {
    c.prefix[i] = r.prefix | 0;
    c.len[i] = r.len;
    c.nh[i] = r.nh;
  });
  return c;
}

export function multiFibOf(fibs: readonly (readonly Route[])[]): MultiFib {
  return new MultiFib(
    fibs.map((_f, i) => `fib${i}`),
    fibs.map((f) => columns(f)),
  );
}

/** Source and destination IPv4 addresses of a pcap's Ethernet (optionally VLAN) IPv4 packets. */
export function pcapAddresses(file: string): number[] {
  const b = fs.readFileSync(path.join(DATA, 'pcaps', file));
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: number[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const incl = u32(off + 8);
    const p = off + 16;
    let eth = p + 12;
    let type = b.readUInt16BE(eth);
    if (type === 0x8100 && p + 18 <= b.length) {
      eth += 4;
      type = b.readUInt16BE(eth);
    }
    const ip = eth + 2;
    if (type === 0x0800 && ip + 20 <= p + incl) out.push(b.readInt32BE(ip + 12), b.readInt32BE(ip + 16));
    off = p + incl;
  }
  return out;
}

/** A deterministic generator (mulberry32), so a failing item can be reproduced by index. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) | 0;
  };
}

/** Each route's first and last address and their outside neighbours: where off-by-ones live. */
export function boundaryAddresses(routes: readonly Route[]): number[] {
  const out: number[] = [];
  for (const r of routes) {
    const last = (r.prefix | (r.len === 0 ? 0xffffffff : ~(0xffffffff << (32 - r.len)))) >>> 0;
    out.push(r.prefix | 0, last | 0, (r.prefix - 1) | 0, (last + 1) | 0);
  }
  return out;
}

/** Hand-made tables: /0 only, /32s, nested and overlapping prefixes, an empty FIB beside a full one. */
export function edgeCaseFibs(): Route[][] {
  const ip = (s: string): number => s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  const nested: Route[] = [
    { prefix: 0, len: 0, nh: 1 },
    { prefix: ip('10.0.0.0'), len: 8, nh: 2 },
    { prefix: ip('10.1.0.0'), len: 16, nh: 3 },
    { prefix: ip('10.1.2.0'), len: 24, nh: 4 },
    { prefix: ip('10.1.2.128'), len: 25, nh: 5 },
    { prefix: ip('10.1.2.129'), len: 32, nh: 6 },
    { prefix: ip('10.1.128.0'), len: 17, nh: 7 },
    { prefix: ip('255.255.255.255'), len: 32, nh: 8 },
    { prefix: ip('0.0.0.0'), len: 32, nh: 9 },
    { prefix: ip('128.0.0.0'), len: 1, nh: 10 },
    { prefix: ip('192.168.0.0'), len: 23, nh: 11 },
    { prefix: ip('192.168.1.0'), len: 24, nh: 12 },
    { prefix: ip('1.2.3.4'), len: 31, nh: 1_000_000 },
  ];
  const defaultOnly: Route[] = [{ prefix: 0, len: 0, nh: 42 }];
  const hosts: Route[] = [];
  for (let i = 0; i < 300; i++) hosts.push({ prefix: (ip('10.1.2.0') + i * 3) >>> 0, len: 32, nh: 100 + i });
  return [nested, [], defaultOnly, hosts];
}
