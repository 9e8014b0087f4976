import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { CheckIPHeader, CHECK_IP_REASONS } from '../../elements/check-ip-header.js';
import { Strip } from '../../elements/strip.js';
import { internetChecksum } from '../../core/net/ip-checksum.js';
import { args, batchOf, DATA, ids, ipv4Packet, make, readPcap, testEnv } from './helpers.js';

const PCAPS = path.join(DATA, 'pcaps');

/** Independent reading of the checks, in Click's order, for differential tests. */
function referenceVerdict(p: Uint8Array, badSrc: number[] = [0xffffffff]): string | null {
  if (p.length < 20) return 'tiny packet';
  if (p[0] >> 4 !== 4) return 'bad IP version';
  const hl = (p[0] & 15) * 4;
  if (hl < 20) return 'bad IP header length';
  const len = p[2] * 256 + p[3];
  if (len > p.length || len < hl) return 'bad IP length';
  if (internetChecksum(p, 0, hl) !== 0) return 'bad IP checksum';
  const src = ((p[12] << 24) | (p[13] << 16) | (p[14] << 8) | p[15]) >>> 0;
  if (badSrc.includes(src)) return 'bad source address';
  return null;
}

function withChecksum(p: Uint8Array): Uint8Array {
  p[10] = 0;
  p[11] = 0;
  const c = internetChecksum(p, 0, (p[0] & 15) * 4);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}

describe('CheckIPHeader', () => {
  it('passes every packet of example.pcap, sets dst and trims Ethernet padding', () => {
    const cap = readPcap(path.join(PCAPS, 'pcapplusplus/example.pcap'));
    const b = batchOf(cap.packets);
    make(Strip, ['14']).process(b);
    const c = make(CheckIPHeader);
    const [out] = c.process(b);
    expect(out!.count).toBe(4631);
    const dst = out!.anno('dst');
    let trimmed = 0;
    cap.packets.forEach((p, i) => {
      expect(dst[i]).toBe((p[30] << 24) | (p[31] << 16) | (p[32] << 8) | p[33]);
      const ipLen = p[16] * 256 + p[17];
      expect(out!.length[i]).toBe(ipLen);
      if (ipLen < p.length - 14) trimmed++;
    });
    expect(trimmed).toBe(18); // tshark: 18 frames carry padding beyond ip.len
    expect(c.handlers().count.read!()).toBe('4631');
    expect(c.handlers().drops.read!()).toBe('0');
  });

  it('works at OFFSET 14 on Ethernet frames without Strip', () => {
    const cap = readPcap(path.join(PCAPS, 'pcapplusplus/example.pcap'));
    const b = batchOf(cap.packets.slice(0, 500));
    const [out] = make(CheckIPHeader, ['14']).process(b);
    expect(out!.count).toBe(500);
    expect(out!.length[0]).toBe(14 + cap.packets[0][16] * 256 + cap.packets[0][17]);
  });

  it("classifies peafowl's truncated captures by reason and never crashes", () => {
    const expected: Record<string, string | null> = {
      'truncated_ip.pcap': 'bad IP length', // IHL 60 > total length 56
      'truncated_icmp.pcap': 'bad IP length', // total length 200, 56 bytes captured
      'truncated_udp.pcap': 'bad IP checksum',
      'truncated_tcp.pcap': null, // the IP header is whole; TCP's truncation is not IP's
    };
    for (const [file, reason] of Object.entries(expected)) {
      const cap = readPcap(path.join(PCAPS, 'peafowl', file));
      const b = batchOf(cap.packets);
      make(Strip, ['14']).process(b);
      const c = make(CheckIPHeader, [], 2);
      const out = c.process(b);
      const details = c.dropDetails();
      if (reason === null) {
        expect(out[0]!.count, file).toBe(cap.packets.length);
        expect(c.handlers().drops.read!()).toBe('0');
      } else {
        expect(out[1]!.count, file).toBe(cap.packets.length);
        expect(details[reason as keyof typeof details], file).toBe(cap.packets.length);
      }
      expect(referenceVerdict(cap.packets[0].subarray(14)), file).toBe(reason);
    }
  });

  it('counts every reason separately and prints drop_details like Click', () => {
    const good = ipv4Packet();
    const tiny = good.slice(0, 19);
    const v6 = withChecksum(ipv4Packet());
    v6[0] = 0x65;
    withChecksum(v6);
    const ihl = ipv4Packet();
    ihl[0] = 0x44;
    withChecksum(ihl);
    const long = ipv4Packet();
    long[3] += 1;
    withChecksum(long);
    const csum = ipv4Packet();
    csum[11] ^= 1;
    const bcast = withChecksum(ipv4Packet({ src: [255, 255, 255, 255] }));
    const pkts = [good, tiny, v6, ihl, long, csum, bcast, good];
    const env = testEnv();
    const c = make(CheckIPHeader, ['VERBOSE true'], 1, env);
    const [out] = c.process(batchOf(pkts, { firstId: 100 }));
    expect(ids(out)).toEqual([100, 107]);
    expect(c.dropDetails()).toEqual(Object.fromEntries(CHECK_IP_REASONS.map((r) => [r, 1])));
    pkts.forEach((p, i) => expect(referenceVerdict(p), `packet ${i}`).toBe(i === 0 || i === 7 ? null : CHECK_IP_REASONS[i - 1]));
    const details = c.handlers().drop_details.read!() as string;
    expect(details.split('\n')[0]).toBe('              1 packets due to: tiny packet');
    expect(details).toContain('1 packets due to: bad IP checksum\n');
    // VERBOSE: the first bad packet of each reason, with its packet index.
    expect(env.warnings).toContain('t_CheckIPHeader: bad IP checksum (packet 105)');
    expect(env.warnings.length).toBe(6);
    c.process(batchOf([csum], { firstId: 200 }));
    expect(env.warnings.length).toBe(6);
    expect(c.handlers().drops.read!()).toBe('7');
    c.handlers().reset_counts.write!('');
    expect(c.handlers().drops.read!()).toBe('0');
    expect(c.summary()).toMatchObject({ count: 0, drops: 0, 'bad IP checksum': 0 });
  });

  it('is silent without VERBOSE; BADSRC and CHECKSUM keywords change the checks', () => {
    const env = testEnv();
    const csum = ipv4Packet();
    csum[11] ^= 1;
    const bcast = withChecksum(ipv4Packet({ src: [255, 255, 255, 255] }));
    const tenOne = ipv4Packet({ src: [10, 0, 0, 9] });
    const c = make(CheckIPHeader, ['CHECKSUM false', 'BADSRC 10.0.0.9 10.0.0.10'], 1, env);
    const [out] = c.process(batchOf([csum, bcast, tenOne]));
    expect(ids(out)).toEqual([0, 1]);
    expect(c.dropDetails()['bad source address']).toBe(1);
    expect(env.warnings).toEqual([]);
    const off = make(CheckIPHeader, ['BADSRC ""']);
    expect(off.process(batchOf([bcast]))[0]!.count).toBe(1);
  });

  it('agrees with the reference on mutated real headers', () => {
    const cap = readPcap(path.join(PCAPS, 'pcapplusplus/example.pcap'));
    let seed = 99;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pkts: Uint8Array[] = [];
    for (let k = 0; k < 3000; k++) {
      const p = cap.packets[rnd(cap.packets.length)].slice(14);
      const kind = rnd(6);
      if (kind === 0) p[rnd(20)] ^= 1 << rnd(8);
      else if (kind === 1) p[rnd(4)] = rnd(256);
      else if (kind === 2) pkts.push(p.slice(0, rnd(40)));
      else if (kind === 3) p[0] = 0x40 | rnd(16);
      if (kind !== 2) pkts.push(rnd(4) === 0 ? withChecksum(p) : p);
    }
    const c = make(CheckIPHeader, [], 2);
    const out = c.process(batchOf(pkts));
    const expectedBad = pkts.map((p, i) => (referenceVerdict(p) === null ? -1 : i)).filter((i) => i >= 0);
    expect(ids(out[1])).toEqual(expectedBad);
    const byReason: Record<string, number> = Object.fromEntries(CHECK_IP_REASONS.map((r) => [r, 0]));
    for (const p of pkts) {
      const v = referenceVerdict(p);
      if (v !== null) byReason[v]++;
    }
    expect(c.dropDetails()).toEqual(byReason);
    expect(expectedBad.length).toBeGreaterThan(500);
  });

  it('rejects bad keywords with their location', () => {
    expect(() => CheckIPHeader.parseConfig(args('BADSRC 1.2.3'))).toThrow(/t\.click:1:10: bad BADSRC/);
    expect(() => CheckIPHeader.parseConfig(args('VERBOSE maybe'))).toThrow(/expected true or false/);
    expect(() => CheckIPHeader.parseConfig(args('OFFSET -2'))).toThrow(/bad OFFSET/);
  });
});
