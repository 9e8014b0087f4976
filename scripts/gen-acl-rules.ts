/**
 * The example firewall's rule file (examples/data/firewall.rules, what examples/firewall.click
 * and `hetbox calibrate` use): a deterministic, realistic first-match ACL in ClassBench's filter
 * format, made from a real route table and a real capture, so the file needs neither at run time.
 *
 *   node dist/scripts/gen-acl-rules.js --routes TABLE --capture PCAP [--out FILE] [--seed N]
 *
 * In file order (first match wins):
 *   1. host pairs: the capture's busiest client -> server tuples (source /32, destination /32,
 *      protocol, service port), the first PAIRS_ALLOW allowed and the next PAIRS_DENY denied
 *      (a blocked host pair), so some packets match early;
 *   2. a source blocklist: deny rules on prefixes of the route table, DENY_HIT of them the
 *      table's longest prefixes covering the capture's least active outside hosts (so the
 *      blocklist is hit, while no busy host is blocked), the rest drawn from the table with a
 *      seeded generator among prefixes that cover no address of the capture;
 *   3. services: allow TCP 80, 443, 22 and UDP 53, 123 to destination prefixes of the table,
 *      the longest prefixes covering the capture's busiest outside servers first, then drawn;
 *   4. replies (a stateless firewall): TCP from ports 80 and 443, UDP from 53 and 123, to the
 *      inside network's high ports.
 * No catch-all rule: the element's DEFAULT decides what no rule matches.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatIPv4, formatPrefix } from '../core/routes/ipv4.js';
import { loadRouteFile } from '../core/routes/load-routes.js';
import { formatAclRule, parseAclRules, prefixMask, type AclAction, type AclRule } from '../core/structures/acl/acl-rules.js';
import { aclMatchReference } from '../core/kernels/acl-match/index.js';
import { captureTuples } from '../app/calibration-workloads.js';
import { xorshift } from '../bench/xorshift.js';

const PAIRS_ALLOW = 4;
const PAIRS_DENY = 2;
const DENY_TOTAL = 63;
const DENY_HIT = 3;
/** A blocklist prefix from the capture must not cover any of this many busiest outside hosts. */
const KEEP_BUSY = 8;
const DST_PREFIXES = 11;
const DST_HIT = 6;
const SERVICES: readonly { proto: number; port: number }[] = [
  { proto: 6, port: 80 },
  { proto: 6, port: 443 },
  { proto: 6, port: 22 },
  { proto: 17, port: 53 },
  { proto: 17, port: 123 },
];
/** Drawn prefixes are between these lengths (a /25../32 in a blocklist would be a host list). */
const MIN_LEN = 8;
const MAX_LEN = 24;

interface Packet {
  src: number;
  dst: number;
  proto: number;
  ports: number;
}

/** Unsigned 32-bit value of an IPv4 prefix or address. */
type U32 = number;

/** Every IPv4 packet's fields, as the ACL element reads them (calibration-workloads' captureTuples). */
function capturePackets(file: string): Packet[] {
  const t = captureTuples(file, Number.POSITIVE_INFINITY);
  return Array.from(t.src, (s, i) => ({ src: s >>> 0, dst: t.dst[i] >>> 0, proto: t.proto[i], ports: t.ports[i] >>> 0 }));
}

function isPrivate(a: U32): boolean {
  return a >>> 24 === 10 || (a & 0xfff00000) >>> 0 === 0xac100000 || (a & 0xffff0000) >>> 0 === 0xc0a80000;
}

function covers(prefix: U32, len: number, a: U32): boolean {
  return ((a & prefixMask(len)) >>> 0) === prefix;
}

/** Hosts by packets (descending), ties by address: a stable order. */
function ranked(counts: Map<U32, number>): U32[] {
  return [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]).map(([a]) => a);
}

function tally<K>(m: Map<K, number>, k: K): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

interface Table {
  prefix: Uint32Array;
  len: Uint8Array;
  count: number;
}

function loadTable(file: string): Table {
  const loaded = loadRouteFile(file, { format: 'text' });
  const fib = loaded.fibs[0];
  const prefix = new Uint32Array(fib.count);
  for (let i = 0; i < fib.count; i++) prefix[i] = fib.prefix[i] >>> 0;
  return { prefix, len: fib.len.slice(0, fib.count), count: fib.count };
}

/** The table's longest prefix covering `a`, or null. */
function covering(t: Table, a: U32): { prefix: U32; len: number } | null {
  let best = -1;
  for (let i = 0; i < t.count; i++) if (covers(t.prefix[i], t.len[i], a) && (best < 0 || t.len[i] > t.len[best])) best = i;
  return best < 0 ? null : { prefix: t.prefix[best], len: t.len[best] };
}

/** `n` table prefixes drawn with `rand`, MIN_LEN..MAX_LEN long, none covering a capture address, none in `taken`. */
function draw(t: Table, n: number, rand: () => number, avoid: readonly U32[], taken: Set<string>): { prefix: U32; len: number }[] {
  const out: { prefix: U32; len: number }[] = [];
  for (let tries = 0; out.length < n; tries++) {
    if (tries > 1_000_000) throw new Error(`could not draw ${n} prefixes from the table`);
    const i = rand() % t.count;
    const prefix = t.prefix[i];
    const len = t.len[i];
    const key = formatPrefix(prefix, len);
    if (len < MIN_LEN || len > MAX_LEN || taken.has(key) || avoid.some((a) => covers(prefix, len, a))) continue;
    taken.add(key);
    out.push({ prefix, len });
  }
  return out;
}

function rule(f: { src?: [U32, number]; dst?: [U32, number]; sport?: [number, number]; dport?: [number, number]; proto?: number; action: AclAction }): AclRule {
  const [src, srcLen] = f.src ?? [0, 0];
  const [dst, dstLen] = f.dst ?? [0, 0];
  const [sportLo, sportHi] = f.sport ?? [0, 65535];
  const [dportLo, dportHi] = f.dport ?? [0, 65535];
  return { src, srcLen, dst, dstLen, sportLo, sportHi, dportLo, dportHi, protoValue: f.proto ?? 0, protoMask: f.proto === undefined ? 0 : 0xff, action: f.action, line: 0 };
}

const PROTO_NAME: Record<number, string> = { 6: 'tcp', 17: 'udp' };

function main(): void {
  const { values } = parseArgs({
    options: {
      routes: { type: 'string' },
      capture: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string', default: '2023' },
      inside: { type: 'string', default: '10.0.0.0/8' },
    },
  });
  if (values.routes === undefined || values.capture === undefined) {
    process.stderr.write('usage: node dist/scripts/gen-acl-rules.js --routes TABLE --capture PCAP [--out FILE] [--seed N] [--inside PREFIX]\n');
    process.exit(2);
  }
  const seed = Number(values.seed);
  const [insideText, insideLenText] = values.inside.split('/');
  const insideLen = Number(insideLenText);
  const inside = insideText.split('.').reduce((v, o) => v * 256 + Number(o), 0) >>> 0;
  const packets = capturePackets(values.capture);
  const table = loadTable(values.routes);
  const rand = xorshift(seed);

  // 1. Host pairs: client -> server tuples (a well-known service port, an ephemeral client port).
  const tuples = new Map<string, number>();
  for (const p of packets) {
    const sport = p.ports >>> 16;
    const dport = p.ports & 0xffff;
    if ((p.proto === 6 || p.proto === 17) && dport < 1024 && sport >= 1024) tally(tuples, `${p.src} ${p.dst} ${p.proto} ${dport}`);
  }
  const busiestTuples = [...tuples.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, PAIRS_ALLOW + PAIRS_DENY);
  const pairs = busiestTuples.map(([k], i) => {
    const [src, dst, proto, dport] = k.split(' ').map(Number);
    return rule({ src: [src, 32], dst: [dst, 32], dport: [dport, dport], proto, action: i < PAIRS_ALLOW ? 'allow' : 'deny' });
  });

  // 2. Source blocklist: table prefixes over the capture's least active outside senders, then drawn ones.
  const sent = new Map<U32, number>();
  const received = new Map<U32, number>();
  for (const p of packets) {
    if (!isPrivate(p.src)) tally(sent, p.src);
    if (!isPrivate(p.dst)) tally(received, p.dst);
  }
  const outside = new Map<U32, number>();
  for (const [a, n] of sent) outside.set(a, (outside.get(a) ?? 0) + n);
  for (const [a, n] of received) outside.set(a, (outside.get(a) ?? 0) + n);
  const busy = ranked(outside).slice(0, KEEP_BUSY);
  const taken = new Set<string>();
  const blocked: { prefix: U32; len: number }[] = [];
  for (const a of ranked(sent).reverse()) {
    if (blocked.length === DENY_HIT) break;
    const c = covering(table, a);
    if (c === null || taken.has(formatPrefix(c.prefix, c.len)) || busy.some((b) => covers(c.prefix, c.len, b))) continue;
    taken.add(formatPrefix(c.prefix, c.len));
    blocked.push(c);
  }
  const everyAddress = [...new Set(packets.flatMap((p) => [p.src, p.dst]))];
  blocked.push(...draw(table, DENY_TOTAL - blocked.length, rand, everyAddress, taken));
  blocked.sort((x, y) => x.prefix - y.prefix || x.len - y.len);
  const blocklist = blocked.map((b) => rule({ src: [b.prefix, b.len], action: 'deny' }));

  // 3. Services on destination prefixes: those over the busiest outside servers, then drawn ones.
  const servers: { prefix: U32; len: number }[] = [];
  for (const a of ranked(received)) {
    if (servers.length === DST_HIT) break;
    const c = covering(table, a);
    if (c === null || taken.has(formatPrefix(c.prefix, c.len))) continue;
    taken.add(formatPrefix(c.prefix, c.len));
    servers.push(c);
  }
  servers.push(...draw(table, DST_PREFIXES - servers.length, rand, everyAddress, taken));
  const services = servers.flatMap((s) => SERVICES.map((v) => rule({ dst: [s.prefix, s.len], dport: [v.port, v.port], proto: v.proto, action: 'allow' })));

  // 4. Replies to the inside network's high ports.
  const replies = [
    { proto: 6, port: 80 },
    { proto: 6, port: 443 },
    { proto: 17, port: 53 },
    { proto: 17, port: 123 },
  ].map((v) => rule({ dst: [inside, insideLen], sport: [v.port, v.port], dport: [1024, 65535], proto: v.proto, action: 'allow' }));

  const all = [...pairs, ...blocklist, ...services, ...replies];
  const section = (title: string, rules: AclRule[]): string => `\n# ${title}\n${rules.map((r) => `${formatAclRule(r)}\n`).join('')}`;
  const command = ['node dist/scripts/gen-acl-rules.js', ...process.argv.slice(2)].join(' ');

  // What the rules make of the capture, for the header: every packet's first match.
  const n = packets.length;
  const rulesIo = { count: n, inputs: { src: Int32Array.from(packets, (p) => p.src | 0), dst: Int32Array.from(packets, (p) => p.dst | 0), ports: Int32Array.from(packets, (p) => p.ports | 0), proto: Int32Array.from(packets, (p) => p.proto) }, outputs: { rule: new Int32Array(n) } };
  aclMatchReference(all, rulesIo);
  const bySection = [0, 0, 0, 0, 0];
  const bounds = [pairs.length, pairs.length + blocklist.length, pairs.length + blocklist.length + services.length, all.length];
  for (const r of rulesIo.outputs.rule) bySection[r < 0 ? 4 : bounds.findIndex((b) => r < b)]++;

  const text =
    `# hetbox example firewall: ${all.length} IPv4 ACL rules in ClassBench filter format (as DPDK l3fwd-acl reads it), first match wins.\n` +
    `# Generated by scripts/gen-acl-rules.ts (do not edit by hand); from the project's root:\n` +
    `#   npx tsc -p tsconfig.json && ${command}\n` +
    `# Route table ${path.basename(values.routes)} (${table.count} IPv4 prefixes), capture ${path.basename(values.capture)} (${n} IPv4 packets), seed ${seed}.\n` +
    `# Over that capture: ${bySection[0]} packets match a host pair, ${bySection[1]} the blocklist, ${bySection[2]} a service, ${bySection[3]} a reply rule, ${bySection[4]} none.\n` +
    `# No catch-all rule: the ACL element's DEFAULT decides what no rule matches.\n` +
    section(`Host pairs: the capture's ${PAIRS_ALLOW + PAIRS_DENY} busiest client -> server tuples (the first ${PAIRS_ALLOW} allowed, the next ${PAIRS_DENY} blocked).`, pairs) +
    section(`Source blocklist: ${DENY_HIT} table prefixes over the capture's least active outside senders, ${DENY_TOTAL - DENY_HIT} drawn from the table (seed ${seed}).`, blocklist) +
    section(`Services: ${SERVICES.map((v) => `${PROTO_NAME[v.proto]} ${v.port}`).join(', ')} to ${DST_HIT} table prefixes over the capture's busiest servers and ${DST_PREFIXES - DST_HIT} drawn ones.`, services) +
    section(`Replies to the inside network ${formatPrefix(inside, insideLen)} (a stateless firewall): from tcp 80, 443 and udp 53, 123 to ports 1024-65535.`, replies);

  // The file must read back as exactly these rules.
  const back = parseAclRules(text, values.out ?? 'stdout');
  if (back.length !== all.length || back.some((r, i) => formatAclRule(r) !== formatAclRule(all[i]))) throw new Error('the rules do not read back as written');
  if (values.out === undefined) process.stdout.write(text);
  else writeFileSync(values.out, text);
  process.stderr.write(
    `${all.length} rules${values.out === undefined ? '' : ` -> ${values.out}`}; over the capture: pairs ${bySection[0]}, blocklist ${bySection[1]}, services ${bySection[2]}, replies ${bySection[3]}, none ${bySection[4]}\n` +
      `blocklist hits from the capture: ${blocked
        .filter((b) => packets.some((p) => covers(b.prefix, b.len, p.src)))
        .map((b) => formatPrefix(b.prefix, b.len))
        .join(', ')}; busiest outside hosts kept: ${busy.map(formatIPv4).join(', ')}\n`,
  );
}

main();
