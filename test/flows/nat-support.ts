/**
 * Test support for the translators: a capture's packets split by flow direction, a full
 * (non-incremental) checksum recompute, and tshark's checksum verdicts per packet.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { onesComplementSum, setIPv4HeaderChecksum } from '../../core/net/ip-checksum.js';
import { PCAP_DIR, readBatches } from '../pcap/pcap-test-support.js';

export interface CapPacket {
  bytes: Uint8Array;
  sec: number;
  nsec: number;
}

export function capturePackets(rel: string): CapPacket[] {
  const out: CapPacket[] = [];
  for (const b of readBatches(PcapReader.open(path.join(PCAP_DIR, rel)))) for (let i = 0; i < b.count; i++) out.push({ bytes: b.bytes(i).slice(), sec: b.tsSec[i], nsec: b.tsNsec[i] });
  return out;
}

/** IPv4 in Ethernet, TCP or UDP: its tuple, else null. */
export function tupleOf(p: Uint8Array): { src: number; dst: number; sport: number; dport: number; proto: number; l4: number } | null {
  if (p.length < 34 || p[12] !== 8 || p[13] !== 0 || p[14] >> 4 !== 4) return null;
  const proto = p[23];
  const l4 = 14 + ((p[14] & 15) << 2);
  if ((proto !== 6 && proto !== 17) || p.length < l4 + 8 || (((p[20] << 8) | p[21]) & 0x1fff) !== 0) return null;
  const rd = (q: number): number => ((p[q] << 24) | (p[q + 1] << 16) | (p[q + 2] << 8) | p[q + 3]) >>> 0;
  return { src: rd(26), dst: rd(30), sport: (p[l4] << 8) | p[l4 + 1], dport: (p[l4 + 2] << 8) | p[l4 + 3], proto, l4 };
}

/** Write a new tuple into a copy of p and recompute its IP and TCP/UDP checksums from scratch. */
export function retuple(p: Uint8Array, src: number, dst: number, sport: number, dport: number): Uint8Array {
  const q = p.slice();
  const t = tupleOf(q)!;
  const w32 = (at: number, v: number): void => {
    q[at] = v >>> 24;
    q[at + 1] = (v >>> 16) & 255;
    q[at + 2] = (v >>> 8) & 255;
    q[at + 3] = v & 255;
  };
  w32(26, src);
  w32(30, dst);
  q[t.l4] = sport >> 8;
  q[t.l4 + 1] = sport & 255;
  q[t.l4 + 2] = dport >> 8;
  q[t.l4 + 3] = dport & 255;
  setIPv4HeaderChecksum(q, 14);
  const csumAt = t.l4 + (t.proto === 6 ? 16 : 6);
  if (t.proto === 17 && q[csumAt] === 0 && q[csumAt + 1] === 0) return q;
  const len = ((q[16] << 8) | q[17]) - (t.l4 - 14);
  if (t.l4 + len > q.length) return q; // cut short by the snaplen: no checksum to compute
  q[csumAt] = 0;
  q[csumAt + 1] = 0;
  let sum = onesComplementSum(q, 26, 8) + t.proto + len + onesComplementSum(q, t.l4, len);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  let c = ~sum & 0xffff;
  if (c === 0 && t.proto === 17) c = 0xffff;
  q[csumAt] = c >> 8;
  q[csumAt + 1] = c & 255;
  return q;
}

/** tshark's verdicts per packet: "ip tcp udp" checksum status (1 good, 0 bad, '' none). */
export function tsharkChecksums(file: string): string[] {
  const out = execFileSync('tshark', ['-r', file, '-n', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return out.toString().split('\n').slice(0, -1);
}

/** tshark's tuple per packet: "src dst sport dport". */
export function tsharkTuples(file: string): string[] {
  const out = execFileSync('tshark', ['-r', file, '-n', '-T', 'fields', '-E', 'separator=/s', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'tcp.dstport', '-e', 'udp.dstport'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return out.toString().split('\n').slice(0, -1);
}
