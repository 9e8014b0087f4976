/**
 * Inputs for the acl-match kernel's tests: real IPv4 5-tuples from the shared captures, rule
 * sets generated from them (seeded: host pairs, prefixes /0../32, single ports, ranges, full
 * ranges, exact and wildcard protocols, allow and deny), a hand-made edge-case rule set, and
 * batches of packets drawn from the tuples, from the rules' own boundaries and at random.
 */
import { KEY_HAS_PORTS, KEY_WORDS } from '../../core/flows/flow-key.js';
import type { AclMatchIo } from '../../core/kernels/acl-match/index.js';
import { prefixMask, type AclAction, type AclRule } from '../../core/structures/acl/acl-rules.js';
import type { CapturePackets } from './flow-fixtures.js';
import { rng } from './fixtures.js';

/** One packet as the kernel's columns see it (addresses as int32 bit patterns). */
export interface AclTuple {
  src: number;
  dst: number;
  /** sport << 16 | dport; 0 for packets without ports. */
  ports: number;
  proto: number;
}

/** The distinct IPv4 tuples of parsed captures, in the packets' own direction (canonical keys swapped back), first-seen order. */
export function ipv4Tuples(c: CapturePackets): AclTuple[] {
  const seen = new Set<string>();
  const out: AclTuple[] = [];
  for (let i = 0; i < c.count; i++) {
    const k = i * KEY_WORDS;
    if (((c.keys[k + 9] >>> 8) & 0xff) !== 4) continue;
    const proto = c.keys[k + 9] & 0xff;
    // Only TCP and UDP carry ports in the kernel's input (ICMP's Community-ID port equivalents do not).
    const canonical = (c.keys[k + 9] & KEY_HAS_PORTS) !== 0 && (proto === 6 || proto === 17) ? c.keys[k + 8] : 0;
    const rev = c.reversed[i] === 1;
    const t: AclTuple = {
      src: (rev ? c.keys[k + 4] : c.keys[k]) | 0,
      dst: (rev ? c.keys[k] : c.keys[k + 4]) | 0,
      ports: (rev ? (canonical << 16) | (canonical >>> 16) : canonical) | 0,
      proto,
    };
    const key = `${t.src} ${t.dst} ${t.ports} ${t.proto}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}

/** A rule made in code (line 0), with host bits cleared. */
export function aclRule(src: number, srcLen: number, dst: number, dstLen: number, sport: [number, number], dport: [number, number], protoValue: number, protoMask: number, action: AclAction): AclRule {
  return {
    src: (src & prefixMask(srcLen)) >>> 0,
    srcLen,
    dst: (dst & prefixMask(dstLen)) >>> 0,
    dstLen,
    sportLo: sport[0],
    sportHi: sport[1],
    dportLo: dport[0],
    dportHi: dport[1],
    protoValue: protoValue & protoMask,
    protoMask,
    action,
    line: 0,
  };
}

/** `a.b.c.d` as an unsigned 32-bit value. */
export function ip(s: string): number {
  return s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}

const LENS = [0, 8, 16, 24, 32];

/** A port range about `p`: the port alone, a range holding it, a range just above it (a near miss), or every port. */
function portRange(p: number, kind: number, r: () => number): [number, number] {
  switch (kind) {
    case 0:
      return [p, p];
    case 1: {
      const lo = Math.max(0, p - ((r() >>> 0) % 1024));
      return [lo, Math.min(65535, p + ((r() >>> 0) % 1024))];
    }
    case 2:
      return p >= 65535 ? [0, 65534] : [p + 1, Math.min(65535, p + 1 + ((r() >>> 0) % 100))];
    default:
      return [0, 65535];
  }
}

/**
 * `count` rules from real tuples (seeded): a quarter exact host pairs with exact ports and
 * protocol, the rest prefixes of lengths 0/8/16/24/32 on each side, ports single / a range /
 * a range just missing / full, protocol exact / wildcard / another one; one rule in ten is made
 * one address bit off its tuple (it matches nothing the captures hold). Never a /0-/0 rule with
 * wildcard ports and protocol, which would shadow every rule after it.
 */
export function aclRulesFromTuples(tuples: readonly AclTuple[], count: number, seed: number): AclRule[] {
  const r = rng(seed);
  const pick = (n: number): number => (r() >>> 0) % n;
  const rules: AclRule[] = [];
  for (let i = 0; i < count; i++) {
    const t = tuples[pick(tuples.length)];
    const sport = (t.ports >>> 16) & 0xffff;
    const dport = t.ports & 0xffff;
    const action: AclAction = pick(2) === 0 ? 'allow' : 'deny';
    if (i % 4 === 0) {
      rules.push(aclRule(t.src, 32, t.dst, 32, [sport, sport], [dport, dport], t.proto, 0xff, action));
      continue;
    }
    let srcLen = LENS[pick(LENS.length)];
    let dstLen = LENS[pick(LENS.length)];
    const protoKind = pick(3);
    const proto = protoKind === 0 ? t.proto : protoKind === 1 ? 0 : t.proto === 6 ? 17 : 6;
    const protoMask = protoKind === 1 ? 0 : 0xff;
    const sportKind = pick(4);
    const dportKind = pick(4);
    if (srcLen === 0 && dstLen === 0) {
      srcLen = 16;
      dstLen = 24;
    }
    let src = t.src;
    if (i % 10 === 5) src ^= 1 << (32 - Math.max(srcLen, 1));
    rules.push(aclRule(src, srcLen, t.dst, dstLen, portRange(sport, sportKind, r), portRange(dport, dportKind, r), proto, protoMask, action));
  }
  return rules;
}

/**
 * Hand-made rules where off-by-ones and sign bugs live: addresses at and above 128.0.0.0 (int32
 * negatives), /1 and /32 at the top of the space, port ranges 0:0 and 65535:65535, protocol 255
 * (which the input -1 also matches: its low byte is 255), protocol 0, a partial protocol mask,
 * mask 0, and a /0 any-any rule at the end (every packet matches something).
 */
export function edgeCaseAcl(): AclRule[] {
  const any: [number, number] = [0, 65535];
  return [
    aclRule(ip('255.255.255.255'), 32, ip('255.255.255.255'), 32, any, any, 0, 0, 'deny'),
    aclRule(ip('0.0.0.0'), 32, ip('0.0.0.0'), 32, any, any, 0, 0, 'allow'),
    aclRule(ip('10.0.0.0'), 8, 0, 0, [0, 0], [0, 0], 1, 0xff, 'allow'),
    aclRule(ip('192.168.0.0'), 16, ip('128.0.0.0'), 1, [65535, 65535], any, 17, 0xff, 'deny'),
    aclRule(0, 0, ip('192.168.1.0'), 24, any, [65535, 65535], 6, 0xff, 'allow'),
    aclRule(ip('224.0.0.0'), 4, 0, 0, any, any, 255, 0xff, 'deny'),
    aclRule(0, 0, ip('224.0.0.0'), 4, [0, 0], any, 0, 0xff, 'allow'),
    aclRule(ip('128.0.0.0'), 1, ip('127.255.255.255'), 32, [0, 1023], [1024, 65535], 0x06, 0x0f, 'deny'),
    aclRule(ip('172.16.0.0'), 12, ip('172.16.0.1'), 32, [32768, 65535], [32767, 32768], 0, 0, 'allow'),
    aclRule(ip('10.0.0.0'), 8, ip('10.0.0.0'), 8, [0, 0], [0, 0], 0, 0, 'deny'),
    aclRule(0, 0, 0, 0, any, any, 0, 0, 'deny'),
  ];
}

/** A rule's boundary packets: first and last address of each prefix and their outside neighbours, port bounds and one past them, its protocol. */
function boundaryTuple(rule: AclRule, r: () => number): AclTuple {
  const pick = (n: number): number => (r() >>> 0) % n;
  const edge = (base: number, len: number): number => {
    const last = (base | ~prefixMask(len)) >>> 0;
    return [base, last, base - 1, last + 1, base | (r() & ~prefixMask(len))][pick(5)] | 0;
  };
  const port = (lo: number, hi: number): number => [lo, hi, lo - 1, hi + 1, lo + pick(hi - lo + 1)][pick(5)] & 0xffff;
  const proto = [rule.protoValue, rule.protoValue | (r() & ~rule.protoMask & 0xff), -1, 255, 0][pick(5)];
  return { src: edge(rule.src, rule.srcLen), dst: edge(rule.dst, rule.dstLen), ports: ((port(rule.sportLo, rule.sportHi) << 16) | port(rule.dportLo, rule.dportHi)) | 0, proto };
}

const PROTOS = [6, 17, 1, 0, -1, 255, 6, 17];
const ADDRESSES = [0, -1, ip('128.0.0.0') | 0, ip('127.255.255.255') | 0, ip('192.168.1.255') | 0, ip('224.0.0.1') | 0];

/**
 * A batch of `n` packets (seeded): tuples from the captures, a rule's boundary packet, a tuple
 * with one field changed (address bit, port, protocol), packets without ports (ports 0), and
 * random ones with edge addresses and protocols -1 / 255 / 0. The output is prefilled with junk.
 */
export function aclBatch(tuples: readonly AclTuple[], rules: readonly AclRule[], n: number, seed: number): AclMatchIo {
  const r = rng(seed);
  const pick = (k: number): number => (r() >>> 0) % k;
  const io: AclMatchIo = {
    count: n,
    inputs: { src: new Int32Array(n), dst: new Int32Array(n), ports: new Int32Array(n), proto: new Int32Array(n) },
    outputs: { rule: new Int32Array(n).fill(0x5a5a5a5a) },
  };
  for (let i = 0; i < n; i++) {
    const kind = pick(10);
    let t: AclTuple;
    if (kind < 4 || (kind < 7 && rules.length === 0)) t = tuples[pick(tuples.length)];
    else if (kind < 7) t = boundaryTuple(rules[pick(rules.length)], r);
    else if (kind === 7) {
      const b = tuples[pick(tuples.length)];
      const which = pick(4);
      t = {
        src: which === 0 ? b.src ^ (1 << pick(32)) : b.src,
        dst: which === 1 ? b.dst ^ (1 << pick(32)) : b.dst,
        ports: which === 2 ? (b.ports + [1, -1, 0x10000, -0x10000][pick(4)]) | 0 : b.ports,
        proto: which === 3 ? PROTOS[pick(PROTOS.length)] : b.proto,
      };
    } else if (kind === 8) {
      const b = tuples[pick(tuples.length)];
      t = { ...b, ports: 0, proto: [1, 0, 47, b.proto][pick(4)] };
    } else {
      t = {
        src: pick(3) === 0 ? ADDRESSES[pick(ADDRESSES.length)] : r(),
        dst: pick(3) === 0 ? ADDRESSES[pick(ADDRESSES.length)] : r(),
        ports: [0, -1, 0xffff, -0x10000, r()][pick(5)],
        proto: PROTOS[pick(PROTOS.length)],
      };
    }
    io.inputs.src[i] = t.src;
    io.inputs.dst[i] = t.dst;
    io.inputs.ports[i] = t.ports;
    io.inputs.proto[i] = t.proto;
  }
  return io;
}
