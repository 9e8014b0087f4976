import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { IPReassembler } from '../../elements/ip-reassembler.js';
import { onesComplementSum, setIPv4HeaderChecksum } from '../../core/net/ip-checksum.js';
import { PCAP_DIR, readBatches } from '../pcap/pcap-test-support.js';
import { batchOf, make } from '../elements/helpers.js';

const PPP = path.join(PCAP_DIR, 'pcapplusplus');

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Every packet of a capture as [bytes, seconds] (copies). */
function packetsOf(file: string): { bytes: Uint8Array; t: number; linkType: number }[] {
  const out: { bytes: Uint8Array; t: number; linkType: number }[] = [];
  for (const b of readBatches(PcapReader.open(path.join(PPP, file)))) for (let i = 0; i < b.count; i++) out.push({ bytes: b.bytes(i).slice(), t: b.tsSec[i] + b.tsNsec[i] * 1e-9, linkType: b.linkType });
  return out;
}

/** Feed packets through the element in batches of `size`; returns every output packet's bytes. */
function run(el: IPReassembler, pkts: { bytes: Uint8Array; t: number; linkType: number }[], size = 64): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let s = 0; s < pkts.length; s += size) {
    const part = pkts.slice(s, s + size);
    const b = batchOf(part.map((p) => p.bytes), { seq: s, firstId: s, linkType: part[0].linkType });
    part.forEach((p, i) => {
      b.tsSec[i] = Math.floor(p.t);
      b.tsNsec[i] = Math.round((p.t % 1) * 1e9);
    });
    const [r] = el.process(b) as (PacketBatch | null)[];
    if (r) for (let i = 0; i < r.count; i++) out.push(r.bytes(i).slice());
  }
  return out;
}

/** Whether the UDP or TCP checksum of the IPv4/IPv6 packet after a 14-byte Ethernet header verifies. */
function l4ChecksumOk(p: Uint8Array): boolean {
  const ip = 14;
  const v = p[ip] >> 4;
  let sum: number;
  let l4: number;
  let len: number;
  let proto: number;
  if (v === 4) {
    l4 = ip + ((p[ip] & 15) << 2);
    len = ((p[ip + 2] << 8) | p[ip + 3]) - (l4 - ip);
    proto = p[ip + 9];
    sum = onesComplementSum(p, ip + 12, 8);
  } else {
    l4 = ip + 40;
    len = (p[ip + 4] << 8) | p[ip + 5];
    proto = p[ip + 6];
    sum = onesComplementSum(p, ip + 8, 32);
  }
  // UDP says its own length (the IPv6 mDNS datagrams of ip6_fragments.pcap carry 4 bytes after it).
  if (proto === 17) len = (p[l4 + 4] << 8) | p[l4 + 5];
  sum += proto + len + onesComplementSum(p, l4, len);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

describe('IPReassembler on the shared fragmented captures', () => {
  it('ip4_fragments.pcap: the first datagram is byte for byte the expected one; every datagram verifies', () => {
    const el = make(IPReassembler);
    const pkts = packetsOf('ip4_fragments.pcap');
    const out = run(el, pkts);
    const want = readFileSync(path.join(PPP, 'ip4_fragments_packet1.txt'), 'utf8').trim();
    expect(hex(out[0])).toBe(want);
    // Six datagrams (ids 0x1ea0..0x1ea5); the capture repeats some fragments after their datagram
    // completed, which start new datagrams that never complete (held at the end).
    const ids = new Set(pkts.filter((p) => (((p.bytes[20] << 8) | p.bytes[21]) & 0x3fff) !== 0).map((p) => (p.bytes[18] << 8) | p.bytes[19]));
    expect(ids.size).toBe(6);
    const r = el.reassembly;
    expect(r.datagrams).toBe(6);
    expect(out.length).toBe(pkts.length - r.fragments + r.datagrams);
    expect(r.fragments).toBe(r.consumed + r.held + Object.values(r.drops).reduce((a, b) => a + b, 0));
    expect(r.held).toBeGreaterThan(0);
    for (const p of out) expect(l4ChecksumOk(p)).toBe(true);
  });

  it('frag_http_req.pcap reassembles into the expected request', () => {
    const el = make(IPReassembler);
    const out = run(el, packetsOf('frag_http_req.pcap'));
    expect(out.length).toBe(1);
    expect(hex(out[0])).toBe(readFileSync(path.join(PPP, 'frag_http_req_reassembled.txt'), 'utf8').trim());
    expect(l4ChecksumOk(out[0])).toBe(true);
  });

  it('ip6_fragments.pcap: every datagram reassembles, without its Fragment header, and its UDP checksum verifies', () => {
    const el = make(IPReassembler);
    const pkts = packetsOf('ip6_fragments.pcap');
    const out = run(el, pkts);
    expect(el.reassembly.datagrams).toBe(4);
    expect(out.length).toBe(4);
    expect(el.reassembly.held).toBe(0);
    for (const p of out) {
      expect(p[14 + 6]).toBe(17);
      expect((p[14 + 4] << 8) | p[14 + 5]).toBe(p.length - 54);
      expect(l4ChecksumOk(p)).toBe(true);
    }
  });

  it('out of order and interleaved, in any batch sizes, gives the same datagrams', () => {
    const pkts = [...packetsOf('ip4_fragments.pcap'), ...packetsOf('frag_http_req.pcap')].map((p) => ({ ...p, t: 0 }));
    const inOrder = run(make(IPReassembler), pkts).map(hex).sort();
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let round = 0; round < 5; round++) {
      const shuffled = [...pkts];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      expect(run(make(IPReassembler), shuffled, 1 + Math.floor(rnd() * 20)).map(hex).sort()).toEqual(inOrder);
    }
  });
});

/** An IPv4 fragment of datagram `id`: payload bytes at byte offset `off`, MF when `more`. */
function frag(id: number, off: number, payload: Uint8Array, more: boolean): Uint8Array {
  const p = new Uint8Array(14 + 20 + payload.length);
  p[12] = 0x08;
  const ip = 14;
  p[ip] = 0x45;
  const tl = 20 + payload.length;
  p[ip + 2] = tl >> 8;
  p[ip + 3] = tl & 255;
  p[ip + 4] = id >> 8;
  p[ip + 5] = id & 255;
  const f = (more ? 0x2000 : 0) | (off >> 3);
  p[ip + 6] = f >> 8;
  p[ip + 7] = f & 255;
  p[ip + 8] = 64;
  p[ip + 9] = 17;
  p.set([10, 0, 0, 1, 10, 0, 0, 2], ip + 12);
  setIPv4HeaderChecksum(p, ip);
  p.set(payload, 34);
  return p;
}

const bytesOf = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

function feed(el: IPReassembler, pkts: Uint8Array[], t = 0): Uint8Array[] {
  return run(el, pkts.map((bytes) => ({ bytes, t, linkType: 1 })), 1);
}

describe('IPReassembler overlap policy and limits', () => {
  it('accepts overlaps with identical bytes', () => {
    const el = make(IPReassembler);
    const data = Uint8Array.from({ length: 48 }, (_, i) => i);
    const out = feed(el, [frag(1, 0, data.subarray(0, 24), true), frag(1, 16, data.subarray(16, 40), true), frag(1, 40, data.subarray(40), false)]);
    expect(out.length).toBe(1);
    expect([...out[0].subarray(34)]).toEqual([...data]);
    expect(el.reassembly.overlapIdentical).toBe(1);
  });

  it('drops a datagram whose overlapping fragments disagree (teardrop), held and later fragments included', () => {
    const el = make(IPReassembler);
    const out = feed(el, [frag(2, 0, bytesOf(24, 1), true), frag(2, 16, bytesOf(16, 2), true), frag(2, 32, bytesOf(8, 3), false), frag(3, 0, bytesOf(8, 4), false)]);
    // Datagram 3 is not a fragment at all (offset 0, no MF): it passes.
    expect(out.length).toBe(1);
    expect(el.reassembly.drops.overlap_conflict).toBe(3);
    expect(el.reassembly.held).toBe(0);
    expect(el.handlers().drops.read!()).toBe('3');
  });

  it('drops fragments that disagree about the length, oversize ones and malformed ones', () => {
    const el = make(IPReassembler);
    feed(el, [frag(4, 0, bytesOf(16, 1), true), frag(4, 16, bytesOf(8, 1), false), frag(4, 16, bytesOf(16, 1), false)]);
    // The first two completed the datagram; the third starts a new one (same id) that is only a tail.
    expect(el.reassembly.datagrams).toBe(1);
    feed(el, [frag(5, 8, bytesOf(8, 1), false), frag(5, 32, bytesOf(8, 1), true)]);
    expect(el.reassembly.drops.length_conflict).toBe(2);
    feed(el, [frag(6, 65528, bytesOf(16, 1), false)]);
    expect(el.reassembly.drops.oversize).toBe(1);
    feed(el, [frag(7, 0, bytesOf(13, 1), true)]);
    expect(el.reassembly.drops.malformed).toBe(1);
  });

  it('times out incomplete datagrams by packet time and stays under the memory cap', () => {
    const el = make(IPReassembler, ['TIMEOUT 10', 'MEMORY 4096']);
    feed(el, [frag(8, 0, bytesOf(64, 1), true)], 0);
    expect(el.reassembly.held).toBe(1);
    feed(el, [frag(9, 0, bytesOf(64, 1), true)], 11);
    expect(el.reassembly.drops.timeout).toBe(1);
    for (let id = 100; id < 300; id++) {
      feed(el, [frag(id, 0, bytesOf(256, 1), true)], 11);
      expect(el.reassembly.bytesHeld).toBeLessThanOrEqual(4096);
    }
    expect(el.reassembly.drops.memory).toBeGreaterThan(150);
    const r = el.reassembly;
    expect(r.fragments).toBe(r.held + r.consumed + Object.values(r.drops).reduce((a, b) => a + b, 0));
  });
});
