/**
 * Community-ID flow hashing, version 1 (https://github.com/corelight/community-id-spec), so a
 * hetbox flow lines up with the same flow in Zeek, Suricata and Wireshark.
 *
 * hash = SHA-1(seed (2 bytes) . saddr . daddr . proto (1) . 0 (1) . sport (2) . dport (2)),
 * all big-endian, over the tuple in canonical order (smaller address first, ports break a tie;
 * one-way ICMP keeps its direction). Protocols without ports hash the first six fields only.
 * The ID is "1:" and the base64 (default) or hex of the 20-byte digest.
 */
import { createHash } from 'node:crypto';
import { KEY_HAS_PORTS, KEY_WORDS, canonicalizeKey } from './flow-key.js';

export interface CommunityIdOptions {
  /** 16-bit seed (default 0). */
  seed?: number;
  /** Base64 digest (default true); false gives lowercase hex. */
  base64?: boolean;
}

/**
 * The Community-ID of the key at keys[k..k+KEY_WORDS) (in packet direction or already canonical:
 * it is canonicalized on a copy; one-way ICMP is told by its type).
 */
export function communityId(keys: Uint32Array, k: number, opts: CommunityIdOptions = {}): string {
  const key = keys.slice(k, k + KEY_WORDS);
  canonicalizeKey(key, 0);
  const v6 = ((key[9] >>> 8) & 0xff) === 6;
  const alen = v6 ? 16 : 4;
  const ports = (key[9] & KEY_HAS_PORTS) !== 0;
  const buf = Buffer.alloc(2 + 2 * alen + 2 + (ports ? 4 : 0));
  const seed = opts.seed ?? 0;
  buf.writeUInt16BE(seed & 0xffff, 0);
  let p = 2;
  for (const base of [0, 4]) for (let w = 0; w < alen / 4; w++, p += 4) buf.writeUInt32BE(key[base + w], p);
  buf[p++] = key[9] & 0xff;
  buf[p++] = 0;
  if (ports) buf.writeUInt32BE(key[8], p);
  const digest = createHash('sha1').update(buf).digest(opts.base64 === false ? 'hex' : 'base64');
  return `1:${digest}`;
}
