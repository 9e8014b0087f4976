import { describe, expect, it } from 'vitest';
import type { PacketBatch } from '../../core/packet-batch.js';
import { FlowIPManager } from '../../elements/flow-ip-manager.js';
import { FlowIPLoadBalancer } from '../../elements/flow-ip-load-balancer.js';
import { maglevTable } from '../../core/flows/maglev.js';
import { parseIPv4 } from '../../core/net/ipv4.js';
import { setIPv4HeaderChecksum } from '../../core/net/ip-checksum.js';
import { tsharkOrFail } from '../pcap/pcap-test-support.js';
import { batchOf, make, testEnv } from '../elements/helpers.js';
import { capturePackets, retuple, tupleOf } from './nat-support.js';

const ip = (s: string): number => parseIPv4(s)! >>> 0;

describe('Maglev table', () => {
  it('balances entries and moves few of them when a backend goes', () => {
    const four = ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4'];
    const t4 = maglevTable(four, 65537);
    const counts = [0, 0, 0, 0];
    for (const b of t4) counts[b]++;
    for (const c of counts) expect(Math.abs(c - 65537 / 4)).toBeLessThanOrEqual(1);
    const t3 = maglevTable(four.slice(0, 3), 65537);
    let moved = 0;
    for (let i = 0; i < t4.length; i++) if (t4[i] !== 3 && t4[i] !== t3[i]) moved++;
    // Entries of the surviving backends that changed hands: a few percent at most (the paper's Figure 12).
    expect(moved / t4.length).toBeLessThan(0.05);
    expect(() => maglevTable(four, 65536)).toThrow(/prime/);
  });
});

/** A TCP SYN (or ACK) from client n to the VIP port 80. */
function tcpPacket(src: number, sport: number, dst: number, dport: number, flags: number): Uint8Array {
  const p = new Uint8Array(14 + 20 + 20);
  p[12] = 8;
  p[14] = 0x45;
  p[17] = 40;
  p[22] = 64;
  p[23] = 6;
  const w32 = (at: number, v: number): void => {
    p[at] = v >>> 24;
    p[at + 1] = (v >>> 16) & 255;
    p[at + 2] = (v >>> 8) & 255;
    p[at + 3] = v & 255;
  };
  w32(26, src);
  w32(30, dst);
  setIPv4HeaderChecksum(p, 14);
  p[34] = sport >> 8;
  p[35] = sport & 255;
  p[36] = dport >> 8;
  p[37] = dport & 255;
  p[46] = 0x50;
  p[47] = flags;
  return retuple(p, src, dst, sport, dport); // sets the TCP checksum
}

function runBatch(fm: FlowIPManager, lb: FlowIPLoadBalancer, pkts: Uint8Array[], seq: number, t: number): (PacketBatch | null)[] {
  const b = batchOf(pkts, { seq });
  b.tsSec.fill(t, 0, pkts.length);
  return lb.process(fm.processInline(b)[0]!);
}

describe('FlowIPLoadBalancer', () => {
  it('keeps established flows on their backend when the backend set changes; new flows use the new set only', () => {
    const env = testEnv();
    const fm = make(FlowIPManager, [], 1, env);
    const lb = make(FlowIPLoadBalancer, ['VIP 192.0.2.10', 'BACKENDS 10.1.0.1 10.1.0.2 10.1.0.3 10.1.0.4'], 2, env);
    fm.initialize();
    const vip = ip('192.0.2.10');
    const clients = Array.from({ length: 2000 }, (_, n) => [ip('198.51.100.0') + (n % 200), 10000 + n] as const);
    const first = runBatch(fm, lb, clients.map(([c, sp]) => tcpPacket(c, sp, vip, 80, 0x02)), 0, 1)[0]!;
    const backendOf = new Map<number, number>();
    for (let i = 0; i < first.count; i++) backendOf.set(clients[i][1], tupleOf(first.bytes(i))!.dst);
    const per = new Map<number, number>();
    for (const b of backendOf.values()) per.set(b, (per.get(b) ?? 0) + 1);
    expect(per.size).toBe(4);
    for (const c of per.values()) expect(c).toBeGreaterThan(350);
    lb.handlers().backends.write!('10.1.0.1 10.1.0.2 10.1.0.3 10.1.0.5');
    expect(lb.handlers().backends.read!()).toBe('10.1.0.1 10.1.0.2 10.1.0.3 10.1.0.5');
    const again = runBatch(fm, lb, clients.map(([c, sp]) => tcpPacket(c, sp, vip, 80, 0x10)), 1, 2)[0]!;
    for (let i = 0; i < again.count; i++) expect(tupleOf(again.bytes(i))!.dst).toBe(backendOf.get(clients[i][1]));
    const fresh = runBatch(fm, lb, clients.map(([c, sp]) => tcpPacket(c, sp + 20000, vip, 80, 0x02)), 2, 3)[0]!;
    const freshBackends = new Set<number>();
    for (let i = 0; i < fresh.count; i++) freshBackends.add(tupleOf(fresh.bytes(i))!.dst);
    expect([...freshBackends].sort()).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.5'].map(ip).sort());
  });

  it('on example.pcap: each connection to the VIP sticks to one backend, and backend replies come back from the VIP', () => {
    if (!tsharkOrFail()) return;
    const env = testEnv();
    const fm = make(FlowIPManager, ['TIMEOUT_TCP_CLOSED 3600', 'TIMEOUT_TCP_HANDSHAKE 3600'], 1, env);
    const lb = make(FlowIPLoadBalancer, ['VIP 212.199.202.9', 'BACKENDS 10.9.0.1 10.9.0.2 10.9.0.3'], 2, env);
    fm.initialize();
    const vip = ip('212.199.202.9');
    const backendOf = new Map<string, number>();
    let replies = 0;
    let seq = 0;
    for (const p of capturePackets('pcapplusplus/example.pcap')) {
      const t = tupleOf(p.bytes);
      if (t === null || (t.dst !== vip && t.src !== vip)) continue;
      const toVip = t.dst === vip;
      const conn = toVip ? `${t.src}:${t.sport}` : `${t.dst}:${t.dport}`;
      if (seq === 400) lb.handlers().backends.write!('10.9.0.4');
      // A backend's reply leaves the backend from its own address.
      const input = toVip ? p.bytes : retuple(p.bytes, backendOf.get(conn)!, t.dst, t.sport, t.dport);
      const b = batchOf([input], { seq });
      b.tsSec[0] = p.sec;
      b.tsNsec[0] = p.nsec;
      const outs = lb.process(fm.processInline(b)[0]!);
      seq++;
      if (toVip) {
        const o = tupleOf(outs[0]!.bytes(0))!;
        expect(backendOf.get(conn) ?? o.dst).toBe(o.dst);
        backendOf.set(conn, o.dst);
        expect([o.src, o.sport, o.dport]).toEqual([t.src, t.sport, t.dport]);
      } else {
        const o = outs[1]!.bytes(0);
        expect(tupleOf(o)!.src).toBe(vip);
        // Byte for byte the captured reply except the checksums (retuple made them valid).
        const blank = (q: Uint8Array): Uint8Array => {
          const c = q.slice();
          c[24] = c[25] = c[50] = c[51] = 0;
          return c;
        };
        expect(blank(o)).toEqual(blank(p.bytes));
        replies++;
      }
    }
    expect(backendOf.size).toBe(15);
    expect(replies).toBeGreaterThan(100);
    expect(new Set(backendOf.values()).size).toBeGreaterThan(1);
  });
});
