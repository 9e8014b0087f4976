/**
 * Address and port translation over the flow table, shared by IPRewriter (NAPT) and
 * FlowIPLoadBalancer (DNAT to a backend). IPv4 only.
 *
 * A translated connection is two flows, because its reply travels with the translated tuple,
 * not the original: the flow F of the original tuple, created by FlowIPManager, and an alias
 * flow G of the translated tuple, inserted by the translator when it binds F, so the reply is
 * classified straight to G. Both entries carry the same flow-local fields: the original and
 * the translated tuple and their role (F forward, G alias) — no table besides the flow table.
 * A packet of F in its originator direction is rewritten original -> translated; a packet of
 * G in its reply direction is rewritten back (its destination becomes the original source, its
 * source the original destination). Each forward packet refreshes G's idle time, so the
 * alias lives as long as its connection is used in either direction.
 *
 * Checksums are updated incrementally (RFC 1624): the IPv4 header checksum for the addresses,
 * the TCP/UDP checksum for the addresses (pseudo-header) and ports; a UDP checksum of 0 (none)
 * stays 0. Non-first fragments get their addresses rewritten and the IP checksum only.
 */
import { checksumUpdate16 } from '../net/ip-checksum.js';
import type { FlowField, FlowFieldDecl } from '../structures/flow-table/flow-fields.js';
import { FLOW_MISS } from '../structures/flow-table/flow-table-image.js';
import type { FlowTable } from '../structures/flow-table/flow-table.js';
import { KEY_HAS_PORTS, KEY_WORDS, PROTO_TCP, PROTO_UDP, canonicalizeKey } from './flow-key.js';

export const ROLE_NONE = 0;
export const ROLE_FORWARD = 1;
export const ROLE_ALIAS = 2;

export const NAT_FIELD_DECLS: readonly FlowFieldDecl[] = [
  { name: 'role', type: 'u32' },
  { name: 'peer', type: 'i32' },
  { name: 'oSrc', type: 'u32' },
  { name: 'oDst', type: 'u32' },
  { name: 'oPorts', type: 'u32' },
  { name: 'nSrc', type: 'u32' },
  { name: 'nDst', type: 'u32' },
  { name: 'nPorts', type: 'u32' },
];

export type NatFields = Record<'role' | 'peer' | 'oSrc' | 'oDst' | 'oPorts' | 'nSrc' | 'nDst' | 'nPorts', FlowField>;

/** The canonical key of an IPv4 tuple into key[0..]; returns whether it was reversed. */
export function ipv4Key(key: Uint32Array, src: number, dst: number, ports: number, proto: number, hasPorts: boolean): boolean {
  key.fill(0);
  key[0] = src >>> 0;
  key[4] = dst >>> 0;
  key[8] = ports >>> 0;
  key[9] = ((4 << 8) | proto | (hasPorts ? KEY_HAS_PORTS : 0)) >>> 0;
  return canonicalizeKey(key, 0);
}

export class NatBinder {
  private readonly key = new Uint32Array(KEY_WORDS);

  constructor(
    readonly table: FlowTable,
    readonly f: NatFields,
  ) {}

  /** Whether the translated tuple is free (no live flow has it). */
  free(nSrc: number, nDst: number, nPorts: number, proto: number, hasPorts: boolean): boolean {
    ipv4Key(this.key, nSrc, nDst, nPorts, proto, hasPorts);
    return this.table.find(this.key, 0) === FLOW_MISS;
  }

  /**
   * Bind flow `e` (its packet in originator direction) to the translated tuple: fields on e,
   * and the alias flow inserted. Returns the alias entry, `e` itself when the tuple is
   * unchanged, or a negative number when the table had no room for the alias.
   */
  bind(e: number, oSrc: number, oDst: number, oPorts: number, nSrc: number, nDst: number, nPorts: number, proto: number, hasPorts: boolean, sec: number, nsec: number): number {
    const t = this.table;
    const f = this.f;
    let g = e;
    if (oSrc !== nSrc || oDst !== nDst || oPorts !== nPorts) {
      const reversed = ipv4Key(this.key, nSrc, nDst, nPorts, proto, hasPorts);
      g = t.classify(this.key, 0, reversed, sec, nsec, 0);
      if (g < 0) return g;
    }
    for (const x of g === e ? [e] : [e, g]) {
      t.set(x, f.role, x === e ? ROLE_FORWARD : ROLE_ALIAS);
      t.set(x, f.peer, x === e ? g : e);
      t.set(x, f.oSrc, oSrc >>> 0);
      t.set(x, f.oDst, oDst >>> 0);
      t.set(x, f.oPorts, oPorts >>> 0);
      t.set(x, f.nSrc, nSrc >>> 0);
      t.set(x, f.nDst, nDst >>> 0);
      t.set(x, f.nPorts, nPorts >>> 0);
    }
    return g;
  }

  /** Keep the alias of forward flow `e` alive while `e` is used. */
  refreshAlias(e: number, sec: number, nsec: number): void {
    const g = this.table.get(e, this.f.peer);
    if (g === e || g < 0 || !this.table.isLive(g) || this.table.get(g, this.f.role) !== ROLE_ALIAS || this.table.get(g, this.f.peer) !== e) return;
    this.table.refresh(g, sec, nsec);
  }
}

function word16(data: Uint8Array, p: number): number {
  return (data[p] << 8) | data[p + 1];
}

function put16(data: Uint8Array, p: number, v: number): void {
  data[p] = v >>> 8;
  data[p + 1] = v & 0xff;
}

/**
 * Rewrite the IPv4 packet at `ip` to (src, dst) and, when `l4` >= 0 and the protocol has
 * ports, to `ports` (sport << 16 | dport), updating checksums incrementally.
 */
export function rewriteIPv4(data: Uint8Array, ip: number, l4: number, end: number, proto: number, src: number, dst: number, ports: number, hasPorts: boolean): void {
  let ipc = word16(data, ip + 10);
  let l4c = -1;
  let l4cAt = -1;
  if (l4 >= 0) {
    if (proto === PROTO_TCP && l4 + 18 <= end) l4cAt = l4 + 16;
    else if (proto === PROTO_UDP && l4 + 8 <= end && word16(data, l4 + 6) !== 0) l4cAt = l4 + 6;
  }
  if (l4cAt >= 0) l4c = word16(data, l4cAt);
  for (const [at, v] of [[ip + 12, src], [ip + 16, dst]] as const) {
    for (const half of [0, 2]) {
      const old = word16(data, at + half);
      const nw = half === 0 ? (v >>> 16) & 0xffff : v & 0xffff;
      if (old === nw) continue;
      ipc = checksumUpdate16(ipc, old, nw);
      if (l4c >= 0) l4c = checksumUpdate16(l4c, old, nw);
      put16(data, at + half, nw);
    }
  }
  if (hasPorts && l4 >= 0 && l4 + 4 <= end) {
    for (const half of [0, 2]) {
      const old = word16(data, l4 + half);
      const nw = half === 0 ? ports >>> 16 : ports & 0xffff;
      if (old === nw) continue;
      if (l4c >= 0) l4c = checksumUpdate16(l4c, old, nw);
      put16(data, l4 + half, nw);
    }
  }
  put16(data, ip + 10, ipc);
  // A UDP checksum that computes to 0 is sent as 0xffff (0 means none).
  if (l4cAt >= 0) put16(data, l4cAt, proto === PROTO_UDP && l4c === 0 ? 0xffff : l4c);
}
