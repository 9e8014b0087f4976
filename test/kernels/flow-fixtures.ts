/**
 * Inputs for the flow-lookup kernel's suite: flow keys parsed from the shared captures (as
 * FlowIPManager parses them: parseIpPacket, then canonicalizeKey), flow tables built from them
 * through the host writer (FlowTable.classify), generated keys (random, one word off a live key,
 * keys that all fall in the same two buckets), and the kernel's columns for a batch of keys.
 */
import { KEY_HAS_PORTS, KEY_WORDS, canonicalizeKey, ipHeaderOffset, newPacketInfo, parseIpPacket } from '../../core/flows/flow-key.js';
import { columnsFromKeys, type FlowLookupIo } from '../../core/kernels/flow-lookup/index.js';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { candidateBuckets, flowKeyHash } from '../../core/structures/flow-table/flow-table-image.js';
import { readBatches, sharedCaptures } from '../pcap/pcap-test-support.js';
import { rng } from './fixtures.js';

/** The IP packets of captures as the flow manager sees them: canonical keys, direction, time, TCP flags. */
export interface CapturePackets {
  count: number;
  keys: Uint32Array;
  reversed: Uint8Array;
  sec: Float64Array;
  nsec: Float64Array;
  tcpFlags: Uint8Array;
  /** Files that gave at least one IP packet. */
  files: string[];
}

/** Every IP packet of every shared capture (sorted by path; non-IP and unparsable packets skipped). */
export function capturePackets(files: readonly string[] = sharedCaptures()): CapturePackets {
  const keys: number[] = [];
  const reversed: number[] = [];
  const sec: number[] = [];
  const nsec: number[] = [];
  const flags: number[] = [];
  const used: string[] = [];
  const info = newPacketInfo();
  const key = new Uint32Array(KEY_WORDS);
  for (const file of files) {
    let reader: PcapReader;
    try {
      reader = PcapReader.open(file);
    } catch {
      continue; // A capture the reader refuses (the deliberately truncated ones) has no flows to give.
    }
    let n = 0;
    try {
      for (const b of readBatches(reader)) {
        for (let i = 0; i < b.count; i++) {
          const ip = ipHeaderOffset(b.data, b.offset[i], b.length[i], b.linkType);
          if (ip < 0 || !parseIpPacket(b.data, ip, b.offset[i] + b.length[i], info, key, 0)) continue;
          reversed.push(canonicalizeKey(key, 0) ? 1 : 0);
          for (let w = 0; w < KEY_WORDS; w++) keys.push(key[w]);
          sec.push(b.tsSec[i]);
          nsec.push(b.tsNsec[i]);
          flags.push(info.tcpFlags);
          n++;
        }
      }
    } catch {
      // A capture that ends in a damaged record still gave the packets before it.
    }
    if (n > 0) used.push(file);
  }
  return { count: reversed.length, keys: Uint32Array.from(keys), reversed: Uint8Array.from(reversed), sec: Float64Array.from(sec), nsec: Float64Array.from(nsec), tcpFlags: Uint8Array.from(flags), files: used };
}

/** A generated UDP-over-IPv4 key for flow number n (distinct for distinct n below 2^24). */
export function generatedKey(n: number): Uint32Array {
  const k = new Uint32Array(KEY_WORDS);
  k[0] = 0x0a000000 + (n >>> 8);
  k[4] = 0xc0a80000 + (n & 0xff);
  k[8] = ((1024 + (n % 50000)) << 16) | 53;
  k[9] = (4 << 8) | 17 | KEY_HAS_PORTS;
  return k;
}

/** A generated TCP-over-IPv6 key for flow number n (distinct for distinct n below 2^32): 2001:db8::/32 addresses. */
export function generatedKey6(n: number): Uint32Array {
  const k = new Uint32Array(KEY_WORDS);
  k[0] = 0x20010db8;
  k[3] = n >>> 0;
  k[4] = 0x20010db8;
  k[5] = 0xffff0000;
  k[7] = (n * 2654435761) >>> 0;
  k[8] = ((1024 + (n % 60000)) << 16) | 443;
  k[9] = (6 << 8) | 6 | KEY_HAS_PORTS;
  return k;
}

/** `n` seeded random keys (every word random: most are not real 5-tuples, all must miss or hit exactly). */
export function randomKeys(n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const out = new Uint32Array(n * KEY_WORDS);
  for (let i = 0; i < out.length; i++) out[i] = r();
  return out;
}

/** Keys whose two candidate buckets are exactly {a, b} in a table of `buckets` buckets with `seed`. */
export function keysInBuckets(count: number, a: number, b: number, buckets: number, seed: number, salt: number): Uint32Array {
  const out = new Uint32Array(count * KEY_WORDS);
  let found = 0;
  for (let n = salt; found < count; n++) {
    if (n - salt > 1e7) throw new Error(`keysInBuckets: no ${count} keys for buckets {${a}, ${b}} of ${buckets}`);
    const k = generatedKey(n);
    const [b1, b2] = candidateBuckets(flowKeyHash(k, 0, seed), buckets);
    if ((b1 === a && b2 === b) || (b1 === b && b2 === a)) out.set(k, KEY_WORDS * found++);
  }
  return out;
}

/** Copies of the key at keys[k..] with one word changed: bit 0 flipped, bit 31 flipped, set to 0 (once per word). */
export function oneWordOff(keys: Uint32Array, k: number): Uint32Array {
  const out: number[] = [];
  for (let w = 0; w < KEY_WORDS; w++) {
    for (const change of [(x: number) => x ^ 1, (x: number) => x ^ 0x80000000, (x: number) => (x === 0 ? 0xffffffff : 0)]) {
      const c = keys.slice(k, k + KEY_WORDS);
      c[w] = change(c[w]);
      out.push(...c);
    }
  }
  return Uint32Array.from(out);
}

/** A batch of `n` keys drawn (seeded) from `pools`, as the kernel's columns, with the output prefilled with junk. */
export function lookupBatch(pools: readonly Uint32Array[], n: number, seed: number): { io: FlowLookupIo; keys: Uint32Array } {
  const r = rng(seed);
  const nonEmpty = pools.filter((p) => p.length >= KEY_WORDS);
  const keys = new Uint32Array(n * KEY_WORDS);
  for (let i = 0; i < n; i++) {
    const pool = nonEmpty[(r() >>> 0) % nonEmpty.length];
    const j = (r() >>> 0) % (pool.length / KEY_WORDS);
    keys.set(pool.subarray(j * KEY_WORDS, (j + 1) * KEY_WORDS), i * KEY_WORDS);
  }
  return { io: { count: n, inputs: columnsFromKeys(keys, n), outputs: { entry: new Int32Array(n).fill(0x5a5a5a5a) } }, keys };
}
