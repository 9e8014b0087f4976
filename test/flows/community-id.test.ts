import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { KEY_WORDS, canonicalizeKey, ipHeaderOffset, keyTuple, newPacketInfo, parseIpPacket } from '../../core/flows/flow-key.js';
import { communityId } from '../../core/flows/community-id.js';
import { PCAP_DIR, readBatches } from '../pcap/pcap-test-support.js';

const DIR = path.join(PCAP_DIR, 'community-id');

interface BaselineEntry {
  proto: number;
  saddr: string;
  daddr: string;
  sport: number | null;
  dport: number | null;
  communityid: string;
}

function baseline(name: string): Map<string, string> {
  const list = JSON.parse(readFileSync(path.join(DIR, 'baseline', name), 'utf8')) as BaselineEntry[];
  return new Map(list.map((e) => [`${e.proto} ${e.saddr} ${e.daddr} ${e.sport} ${e.dport}`, e.communityid]));
}

const variants = [
  { file: 'baseline_deflt.json', opts: {} },
  { file: 'baseline_seed1.json', opts: { seed: 1 } },
  { file: 'baseline_nob64.json', opts: { base64: false } },
] as const;

const captures = ['icmp.pcap', 'icmp6.pcap', 'ipv6.pcap', 'rsvp.pcap', 'sctp.pcap', 'tcp.pcap', 'udp.pcap', 'arp.pcap', 'combined.pcap.gz'];

describe('Community-ID v1 against the spec baselines', () => {
  it.each(variants)('$file: every IP packet of every capture hashes as the baseline says, every baseline flow is seen', ({ file, opts }) => {
    const want = baseline(file);
    const seen = new Set<string>();
    const info = newPacketInfo();
    const keys = new Uint32Array(KEY_WORDS);
    let ipPackets = 0;
    for (const cap of captures) {
      const reader = PcapReader.open(path.join(DIR, 'pcaps', cap));
      for (const b of readBatches(reader)) {
        for (let i = 0; i < b.count; i++) {
          const ip = ipHeaderOffset(b.data, b.offset[i], b.length[i], b.linkType);
          if (ip < 0) continue;
          expect(parseIpPacket(b.data, ip, b.offset[i] + b.length[i], info, keys, 0), `${cap} packet ${b.id[i]}`).toBe(true);
          ipPackets++;
          const t = keyTuple(keys, 0);
          const name = `${t.proto} ${t.src} ${t.dst} ${t.sport} ${t.dport}`;
          expect(want.has(name), `${cap} packet ${b.id[i]}: ${name} in the baseline`).toBe(true);
          expect(communityId(keys, 0, opts), `${cap} packet ${b.id[i]} ${name}`).toBe(want.get(name));
          seen.add(name);
        }
      }
    }
    expect(ipPackets).toBeGreaterThan(want.size);
    expect([...want.keys()].filter((k) => !seen.has(k))).toEqual([]);
  });

  it('canonical ordering makes both directions one key, and one-way ICMP keeps its direction', () => {
    const a = Uint32Array.of(0x0a000002, 0, 0, 0, 0x0a000001, 0, 0, 0, (80 << 16) | 1234, (4 << 8) | 6 | (1 << 16));
    const b = Uint32Array.of(0x0a000001, 0, 0, 0, 0x0a000002, 0, 0, 0, (1234 << 16) | 80, (4 << 8) | 6 | (1 << 16));
    expect(canonicalizeKey(a, 0)).toBe(true);
    expect(canonicalizeKey(b, 0)).toBe(false);
    expect([...a]).toEqual([...b]);
    const c = a.slice();
    canonicalizeKey(c, 0);
    const d = Uint32Array.of(0x0a000002, 0, 0, 0, 0x0a000001, 0, 0, 0, (3 << 16) | 1, (4 << 8) | 1 | (1 << 16));
    expect(canonicalizeKey(d, 0)).toBe(false);
    expect(d[0]).toBe(0x0a000002);
  });
});
