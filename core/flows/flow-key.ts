/**
 * The flow key of a packet: where its IP header is, and its 5-tuple as fixed key words.
 *
 * A key is KEY_WORDS u32 words, the same for IPv4 and IPv6 so a flow table has one entry size:
 *   w0..3  source address (IPv4: w0, w1..3 zero), big-endian words
 *   w4..7  destination address
 *   w8     (sport << 16) | dport   (ICMP: type and its Community-ID port equivalent; 0 when none)
 *   w9     (version << 8) | protocol, plus KEY_HAS_PORTS when w8 carries ports
 * Ports: TCP, UDP, SCTP (and UDP-Lite, DCCP); ICMP/ICMPv6 type/code mapped as the Community-ID
 * specification says; every other protocol (and non-first fragments) keys by address pair.
 * Words compare big-endian, so comparing words in order is comparing address bytes, which is
 * the order Community-ID uses to make a key bidirectional (`canonicalizeKey`).
 */
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL, LINKTYPE_RAW } from '../pcap/link-types.js';

export const KEY_WORDS = 10;
export const KEY_HAS_PORTS = 1 << 16;

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMP6 = 58;
export const PROTO_SCTP = 132;

/** Protocols whose first 4 L4 bytes are source and destination ports. */
function hasPorts(proto: number): boolean {
  return proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP || proto === 33 /* DCCP */ || proto === 136; /* UDP-Lite */
}

/** Community-ID's ICMP type pairs: a request and its reply key as one two-way flow. */
const ICMP4_PAIR = new Map<number, number>([
  [8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [10, 9], [9, 10], [17, 18], [18, 17],
]);
const ICMP6_PAIR = new Map<number, number>([
  [128, 129], [129, 128], [133, 134], [134, 133], [135, 136], [136, 135], [130, 131], [131, 130], [139, 140], [140, 139], [144, 145], [145, 144],
]);

/** What parsing one packet found; reused across packets (no allocation per packet). */
export interface PacketInfo {
  /** 4 or 6; 0 when the packet is not IP (the other fields are then meaningless). */
  version: number;
  /** Offset of the IP header in the arena, and of the L4 header (-1 when there is none to read). */
  ip: number;
  l4: number;
  /** End of the IP datagram in the arena (min of the header's length and the captured bytes). */
  end: number;
  proto: number;
  /** The packet is a fragment (IPv4 MF/offset, or an IPv6 Fragment header). */
  fragment: boolean;
  /** ICMP type without a reply counterpart: Community-ID keeps its direction (never swapped). */
  oneWay: boolean;
  /** TCP flags byte (0 for others). */
  tcpFlags: number;
}

export function newPacketInfo(): PacketInfo {
  return { version: 0, ip: -1, l4: -1, end: 0, proto: 0, fragment: false, oneWay: false, tcpFlags: 0 };
}

/**
 * Offset of the IP header of the packet at data[start..start+len) for `linkType`, skipping
 * Ethernet VLAN tags (802.1Q, 802.1ad); -1 when the packet carries no IPv4/IPv6 header.
 */
export function ipHeaderOffset(data: Uint8Array, start: number, len: number, linkType: number): number {
  let p: number;
  let etherType: number;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      if (len < 14) return -1;
      p = start + 12;
      etherType = (data[p] << 8) | data[p + 1];
      p += 2;
      while ((etherType === 0x8100 || etherType === 0x88a8) && p + 4 <= start + len) {
        etherType = (data[p + 2] << 8) | data[p + 3];
        p += 4;
      }
      break;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      if (len < 1) return -1;
      return data[start] >> 4 === 4 || data[start] >> 4 === 6 ? start : -1;
    case LINKTYPE_LINUX_SLL:
      if (len < 16) return -1;
      etherType = (data[start + 14] << 8) | data[start + 15];
      p = start + 16;
      break;
    case LINKTYPE_LINUX_SLL2:
      if (len < 20) return -1;
      etherType = (data[start] << 8) | data[start + 1];
      p = start + 20;
      break;
    case LINKTYPE_NULL: {
      if (len < 5) return -1;
      const v = data[start + 4] >> 4;
      return v === 4 || v === 6 ? start + 4 : -1;
    }
    default:
      return -1;
  }
  if (etherType === 0x0800 || etherType === 0x86dd) return p < start + len ? p : -1;
  return -1;
}

/**
 * Parse the IP packet at `ip` (ending at `limit`, the captured end) into `info`, and write its
 * key (in packet direction) at keys[k..k+KEY_WORDS). Returns false (info.version 0) for a
 * truncated or non-IP packet.
 */
export function parseIpPacket(data: Uint8Array, ip: number, limit: number, info: PacketInfo, keys: Uint32Array, k: number): boolean {
  info.version = 0;
  info.l4 = -1;
  info.fragment = false;
  info.oneWay = false;
  info.tcpFlags = 0;
  info.ip = ip;
  if (ip < 0 || ip >= limit) return false;
  const v = data[ip] >> 4;
  let proto: number;
  let l4 = -1;
  let end: number;
  if (v === 4) {
    if (limit - ip < 20) return false;
    const hl = (data[ip] & 15) << 2;
    if (hl < 20) return false;
    end = Math.min(limit, ip + ((data[ip + 2] << 8) | data[ip + 3]));
    proto = data[ip + 9];
    const frag = ((data[ip + 6] & 0x1f) << 8) | data[ip + 7];
    info.fragment = frag !== 0 || (data[ip + 6] & 0x20) !== 0;
    if (frag === 0) l4 = ip + hl;
    keys[k] = ((data[ip + 12] << 24) | (data[ip + 13] << 16) | (data[ip + 14] << 8) | data[ip + 15]) >>> 0;
    keys[k + 1] = 0;
    keys[k + 2] = 0;
    keys[k + 3] = 0;
    keys[k + 4] = ((data[ip + 16] << 24) | (data[ip + 17] << 16) | (data[ip + 18] << 8) | data[ip + 19]) >>> 0;
    keys[k + 5] = 0;
    keys[k + 6] = 0;
    keys[k + 7] = 0;
  } else if (v === 6) {
    if (limit - ip < 40) return false;
    end = Math.min(limit, ip + 40 + ((data[ip + 4] << 8) | data[ip + 5]));
    for (let w = 0; w < 8; w++) {
      const q = ip + 8 + 4 * w;
      keys[k + w] = ((data[q] << 24) | (data[q + 1] << 16) | (data[q + 2] << 8) | data[q + 3]) >>> 0;
    }
    // Walk extension headers to the upper-layer protocol.
    proto = data[ip + 6];
    let p = ip + 40;
    let first = true;
    for (;;) {
      if (proto === 0 || proto === 43 || proto === 60) {
        if (p + 2 > end) break;
        proto = data[p];
        p += (data[p + 1] + 1) << 3;
      } else if (proto === 51) {
        if (p + 2 > end) break;
        proto = data[p];
        p += (data[p + 1] + 2) << 2;
      } else if (proto === 44) {
        if (p + 8 > end) break;
        info.fragment = true;
        if ((((data[p + 2] << 8) | data[p + 3]) & 0xfff8) !== 0) first = false;
        proto = data[p];
        p += 8;
      } else break;
    }
    if (first) l4 = p;
  } else return false;
  info.version = v;
  info.proto = proto;
  info.end = end;
  let ports = 0;
  let flag = 0;
  if (l4 >= 0 && hasPorts(proto) && l4 + 4 <= end) {
    ports = ((data[l4] << 24) | (data[l4 + 1] << 16) | (data[l4 + 2] << 8) | data[l4 + 3]) >>> 0;
    flag = KEY_HAS_PORTS;
    if (proto === PROTO_TCP && l4 + 14 <= end) info.tcpFlags = data[l4 + 13];
  } else if (l4 >= 0 && (proto === PROTO_ICMP || proto === PROTO_ICMP6) && l4 + 2 <= end) {
    const type = data[l4];
    const pair = (proto === PROTO_ICMP ? ICMP4_PAIR : ICMP6_PAIR).get(type);
    if (pair === undefined) info.oneWay = true;
    ports = ((type << 16) | (pair ?? data[l4 + 1])) >>> 0;
    flag = KEY_HAS_PORTS;
  }
  info.l4 = l4 >= 0 && l4 < end ? l4 : -1;
  keys[k + 8] = ports;
  keys[k + 9] = ((v << 8) | proto | flag) >>> 0;
  return true;
}

/** Whether the key at keys[k..] is ICMP of a type without a reply counterpart (its ports are type, code). */
export function isOneWayKey(keys: Uint32Array, k: number): boolean {
  const proto = keys[k + 9] & 0xff;
  if ((proto !== PROTO_ICMP && proto !== PROTO_ICMP6) || (keys[k + 9] & KEY_HAS_PORTS) === 0) return false;
  return !(proto === PROTO_ICMP ? ICMP4_PAIR : ICMP6_PAIR).has(keys[k + 8] >>> 16);
}

/**
 * Make the key at keys[k..] bidirectional the way Community-ID orders a tuple: smaller address
 * first, ports breaking a tie; one-way ICMP keys keep their direction. Returns true when it
 * swapped (the packet travels in the reverse direction of the canonical key).
 */
export function canonicalizeKey(keys: Uint32Array, k: number): boolean {
  if (isOneWayKey(keys, k)) return false;
  let cmp = 0;
  for (let w = 0; w < 4 && cmp === 0; w++) cmp = keys[k + w] < keys[k + 4 + w] ? -1 : keys[k + w] > keys[k + 4 + w] ? 1 : 0;
  if (cmp === 0 && (keys[k + 9] & KEY_HAS_PORTS) !== 0) {
    const sp = keys[k + 8] >>> 16;
    const dp = keys[k + 8] & 0xffff;
    cmp = sp < dp ? -1 : sp > dp ? 1 : 0;
  }
  if (cmp <= 0) return false;
  for (let w = 0; w < 4; w++) {
    const t = keys[k + w];
    keys[k + w] = keys[k + 4 + w];
    keys[k + 4 + w] = t;
  }
  const p = keys[k + 8];
  keys[k + 8] = ((p << 16) | (p >>> 16)) >>> 0;
  return true;
}

export interface FlowTuple {
  version: 4 | 6;
  proto: number;
  src: string;
  dst: string;
  /** null when the protocol has no ports. */
  sport: number | null;
  dport: number | null;
}

function formatIPv6Words(w: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) groups.push(w[i] >>> 16, w[i] & 0xffff);
  // RFC 5952: the longest run (of 2 or more) of zero groups becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function formatIPv4Word(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** The key at keys[k..] as text fields (for `hetbox flows`, tests, Print-like output). */
export function keyTuple(keys: Uint32Array, k: number): FlowTuple {
  const version = (keys[k + 9] >>> 8) & 0xff;
  const v6 = version === 6;
  const ports = (keys[k + 9] & KEY_HAS_PORTS) !== 0;
  return {
    version: v6 ? 6 : 4,
    proto: keys[k + 9] & 0xff,
    src: v6 ? formatIPv6Words(keys.subarray(k, k + 4)) : formatIPv4Word(keys[k]),
    dst: v6 ? formatIPv6Words(keys.subarray(k + 4, k + 8)) : formatIPv4Word(keys[k + 4]),
    sport: ports ? keys[k + 8] >>> 16 : null,
    dport: ports ? keys[k + 8] & 0xffff : null,
  };
}
