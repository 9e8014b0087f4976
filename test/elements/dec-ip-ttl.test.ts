import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { DecIPTTL } from '../../elements/dec-ip-ttl.js';
import { CheckIPHeader } from '../../elements/check-ip-header.js';
import { Strip } from '../../elements/strip.js';
import { internetChecksum } from '../../core/net/ip-checksum.js';
import { batchOf, contents, DATA, ids, ipv4Packet, make, readPcap } from './helpers.js';

function fullChecksum(p: Uint8Array): number {
  const q = p.slice(0, (p[0] & 15) * 4);
  q[10] = 0;
  q[11] = 0;
  return internetChecksum(q, 0, q.length);
}

describe('DecIPTTL', () => {
  it('incremental checksum equals a full recompute for all 256 TTLs x random headers', () => {
    let seed = 2024;
    const rnd = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed >>> 24;
    };
    const pkts: Uint8Array[] = [];
    for (let h = 0; h < 200; h++) {
      const base = ipv4Packet({ payload: 0 });
      const ihl = 5 + (h % 3 === 0 ? rnd() % 11 : 0);
      const p = new Uint8Array(ihl * 4);
      p.set(base);
      for (let k = 1; k < p.length; k++) if (k !== 8) p[k] = rnd();
      p[0] = 0x40 | ihl;
      p[2] = 0;
      p[3] = p.length;
      for (let ttl = 0; ttl < 256; ttl++) {
        const q = p.slice();
        q[8] = ttl;
        const c = fullChecksum(q);
        q[10] = c >> 8;
        q[11] = c & 0xff;
        pkts.push(q);
      }
    }
    const d = make(DecIPTTL, [], 2);
    const b = batchOf(pkts);
    const out = d.process(b);
    let k = 0;
    const wrong: string[] = [];
    pkts.forEach((orig, i) => {
      if (orig[8] <= 1) return;
      const got = out[0]!.bytes(k++);
      if (got[8] !== orig[8] - 1) wrong.push(`packet ${i}: ttl ${got[8]}, expected ${orig[8] - 1}`);
      if (((got[10] << 8) | got[11]) !== fullChecksum(got)) wrong.push(`packet ${i} ttl ${orig[8]}: checksum differs from a full recompute`);
    });
    expect(wrong).toEqual([]);
    expect(k).toBe(pkts.length - 400);
    // Expired packets leave unchanged on output 1.
    expect(contents(out[1])).toEqual(pkts.filter((p) => p[8] <= 1).map((p) => [...p]));
    expect(d.handlers().count.read!()).toBe(String(pkts.length - 400));
    expect(d.handlers().drops.read!()).toBe('400');
  });

  it('drops expired packets when output 1 is not connected, and short ones always', () => {
    const d = make(DecIPTTL);
    const out = d.process(batchOf([ipv4Packet({ ttl: 1 }), ipv4Packet({ ttl: 64 }), new Uint8Array(11), ipv4Packet({ ttl: 0 })]));
    expect(out.length).toBe(1);
    expect(ids(out[0])).toEqual([1]);
    expect(d.summary()).toEqual({ count: 1, drops: 2, truncated: 1 });
    d.handlers().reset_counts.write!('');
    expect(d.summary()).toEqual({ count: 0, drops: 0, truncated: 0 });
  });

  it('keeps real headers valid after Strip and CheckIPHeader (example.pcap)', () => {
    const cap = readPcap(path.join(DATA, 'pcaps/pcapplusplus/example.pcap'));
    const b = batchOf(cap.packets);
    make(Strip, ['14']).process(b);
    make(CheckIPHeader).process(b);
    const [out] = make(DecIPTTL).process(b);
    const recheck = make(CheckIPHeader);
    const [again] = recheck.process(out!);
    expect(again!.count).toBe(cap.packets.filter((p) => p[22] > 1).length);
    for (let i = 0; i < again!.count; i++) expect(again!.bytes(i)[8]).toBe(cap.packets[again!.id[i]][22] - 1);
  });

  it('honours OFFSET', () => {
    const p = new Uint8Array(34);
    p.set(ipv4Packet({ ttl: 9, payload: 0 }), 14);
    const [out] = make(DecIPTTL, ['14']).process(batchOf([p]));
    expect(out!.bytes(0)[22]).toBe(8);
    expect(fullChecksum(out!.bytes(0).subarray(14))).toBe((out!.bytes(0)[24] << 8) | out!.bytes(0)[25]);
  });
});
