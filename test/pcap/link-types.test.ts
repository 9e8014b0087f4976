/**
 * Link-type helpers: names and ENCAP parsing, header lengths, and the EtherType read from the
 * real captures agreeing with the first network protocol tshark dissects after the link layer.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { linkEtherType, linkHeaderLength, linkTypeName, normalizeLinkType, parseLinkType } from '../../core/pcap/link-types.js';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { PCAP_DIR, readBatches, tsharkOrFail } from './pcap-test-support.js';

describe('link types', () => {
  it('names, parses and normalizes link types', () => {
    expect([1, 101, 113, 276, 228, 147].map(linkTypeName)).toEqual(['ethernet', 'raw', 'linux-sll', 'linux-sll2', 'ipv4', 'linktype-147']);
    expect(['ETHER', 'ip', 'SLL', 'sll2', '101', '12', '14', '276', 'fddi', '70000'].map(parseLinkType)).toEqual([1, 101, 113, 276, 101, 101, 101, 276, null, null]);
    expect([12, 14, 1, 101].map(normalizeLinkType)).toEqual([101, 101, 1, 101]);
    expect([1, 101, 113, 276, 0, 147].map(linkHeaderLength)).toEqual([14, 0, 16, 20, 4, -1]);
  });

  it('reads EtherTypes tshark agrees with, on Ethernet, SLL and raw-IP captures', async () => {
    const files = ['pcapplusplus/VlanPackets.pcap', 'pcapplusplus/raw_ip.pcap', 'tcpdump/tcp-handshake-nano.pcap', 'pcapplusplus/pcapng-example.pcapng', 'community-id/pcaps/arp.pcap'];
    const ours = files.map((f) => {
      const out: number[] = [];
      for (const b of readBatches(PcapReader.open(path.join(PCAP_DIR, f)))) for (let i = 0; i < b.count; i++) out.push(linkEtherType(b.linkType, b.data, b.offset[i], b.length[i]));
      return out;
    });
    expect([...new Set(ours.flat())]).toEqual(expect.arrayContaining([0x0800, 0x86dd, 0x8100, 0x0806]));
    if (!tsharkOrFail()) return;
    const firstProtocol: Record<string, number> = { ip: 0x0800, ipv6: 0x86dd, vlan: 0x8100, arp: 0x0806 };
    for (let k = 0; k < files.length; k++) {
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile('tshark', ['-r', path.join(PCAP_DIR, files[k]), '-n', '-T', 'fields', '-e', 'frame.protocols'], { maxBuffer: 64 << 20 }, (e, out) => (e ? reject(e) : resolve(out))),
      );
      const theirs = stdout
        .trim()
        .split('\n')
        .map((l) => firstProtocol[l.split(':').filter((p) => !['eth', 'sll', 'raw', 'ethertype'].includes(p))[0]] ?? -2);
      expect(theirs.length).toBe(ours[k].length);
      theirs.forEach((t, i) => {
        if (t !== -2) expect(ours[k][i], `${files[k]} packet ${i}`).toBe(t);
      });
      expect(theirs.filter((t) => t !== -2).length, files[k]).toBeGreaterThan(0);
    }
  });
});
