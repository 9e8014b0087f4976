import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { PcapWriter } from '../../core/pcap/pcap-writer.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { FlowIPManager } from '../../elements/flow-ip-manager.js';
import { IPRewriter, parseRewriteSpec } from '../../elements/ip-rewriter.js';
import { parseIPv4 } from '../../core/net/ipv4.js';
import { tempDir, tsharkOrFail } from '../pcap/pcap-test-support.js';
import { batchOf, make, testEnv } from '../elements/helpers.js';
import { capturePackets, retuple, tsharkChecksums, tupleOf } from './nat-support.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const PUBLIC = parseIPv4('192.0.2.1')! >>> 0;

function one(p: { bytes: Uint8Array; sec: number; nsec: number }, id: number): PacketBatch {
  const b = batchOf([p.bytes], { seq: id, firstId: id });
  b.tsSec[0] = p.sec;
  b.tsNsec[0] = p.nsec;
  return b;
}

describe('IPRewriter (NAPT) on example.pcap', () => {
  it('maps every connection to a unique public port, rewrites replies back to the original bytes, checksums stay as valid as they were', () => {
    if (!tsharkOrFail()) return;
    const env = testEnv();
    // Timeouts longer than the capture: the test takes a 5-tuple for one connection throughout.
    const fm = make(FlowIPManager, ['TIMEOUT_TCP_CLOSED 3600', 'TIMEOUT_TCP_HANDSHAKE 3600', 'TIMEOUT_UDP 3600', 'TIMEOUT_TCP 3600'], 1, env);
    const nat = make(IPRewriter, ['pattern 192.0.2.1 20000-29999 - - 0 1'], 2, env);
    fm.initialize();
    const pkts = capturePackets('pcapplusplus/example.pcap');
    // The test's own view of connections: the first packet of a 5-tuple (either way) is the originator.
    const origOf = new Map<string, string>();
    const natOf = new Map<string, { src: number; sport: number }>();
    const fwdIn = PcapWriter.inMemory();
    const fwdOut = PcapWriter.inMemory();
    const replies: { original: Uint8Array; out: Uint8Array }[] = [];
    const used = new Set<string>();
    let id = 0;
    for (const p of pkts) {
      const t = tupleOf(p.bytes);
      if (t === null) continue;
      const fwdKey = `${t.proto} ${t.src}:${t.sport} ${t.dst}:${t.dport}`;
      const revKey = `${t.proto} ${t.dst}:${t.dport} ${t.src}:${t.sport}`;
      if (!origOf.has(fwdKey) && !origOf.has(revKey)) origOf.set(fwdKey, 'orig');
      const forward = origOf.has(fwdKey);
      let input = p.bytes;
      if (!forward) {
        // The server's real reply goes to the public tuple the NAT gave the connection.
        const m = natOf.get(revKey)!;
        input = retuple(p.bytes, t.src, m.src, t.sport, m.sport);
      }
      const b = one({ ...p, bytes: input }, id++);
      const [classified] = fm.processInline(b);
      const outs = nat.process(classified!);
      if (forward) {
        expect(outs[0]?.count, `packet ${id - 1} forward on output 0`).toBe(1);
        const o = outs[0]!.bytes(0).slice();
        const ot = tupleOf(o)!;
        expect(ot.src).toBe(PUBLIC);
        expect([ot.dst, ot.dport]).toEqual([t.dst, t.dport]);
        expect(ot.sport).toBeGreaterThanOrEqual(20000);
        expect(ot.sport).toBeLessThanOrEqual(29999);
        const prev = natOf.get(fwdKey);
        if (prev) expect(prev).toEqual({ src: ot.src, sport: ot.sport });
        else {
          const pub = `${t.proto} ${ot.sport} ${t.dst}:${t.dport}`;
          expect(used.has(pub), `public tuple ${pub} given twice`).toBe(false);
          used.add(pub);
          natOf.set(fwdKey, { src: ot.src, sport: ot.sport });
        }
        fwdIn.writePacket(p.bytes, 0, p.bytes.length, p.bytes.length, p.sec, p.nsec);
        fwdOut.writePacket(o, 0, o.length, o.length, p.sec, p.nsec);
      } else {
        expect(outs[1]?.count, `packet ${id - 1} reply on output 1`).toBe(1);
        replies.push({ original: p.bytes, out: outs[1]!.bytes(0).slice() });
      }
    }
    expect(natOf.size).toBeGreaterThan(10);
    expect(Number(nat.handlers().mappings.read!())).toBe(natOf.size);
    expect(replies.length).toBeGreaterThan(1000);
    // Replies come back to the original tuple: byte for byte the captured reply, checksums aside.
    const rIn = PcapWriter.inMemory();
    const rOut = PcapWriter.inMemory();
    for (const r of replies) {
      const t = tupleOf(r.original)!;
      const blank = (q: Uint8Array): Uint8Array => {
        const c = q.slice();
        c[24] = c[25] = 0;
        const at = t.l4 + (t.proto === 6 ? 16 : 6);
        c[at] = c[at + 1] = 0;
        return c;
      };
      expect(blank(r.out)).toEqual(blank(r.original));
      rIn.writePacket(r.original, 0, r.original.length, r.original.length, 0, 0);
      rOut.writePacket(r.out, 0, r.out.length, r.out.length, 0, 0);
    }
    // tshark: forward packets keep their checksum verdicts (incremental update preserves a bad
    // checksum, as RFC 1624 means it to); replies, rebuilt with good checksums, leave good.
    const files = { fi: fwdIn, fo: fwdOut, ro: rOut };
    const paths = Object.fromEntries(Object.entries(files).map(([k, w]) => {
      const f = path.join(dir, `${k}.pcap`);
      fs.writeFileSync(f, w.finish());
      return [k, f];
    }));
    expect(tsharkChecksums(paths.fo)).toEqual(tsharkChecksums(paths.fi));
    const ro = tsharkChecksums(paths.ro);
    expect(ro.every((v) => !v.split('\t').includes('0'))).toBe(true);
    expect(ro.filter((v) => v.includes('1')).length).toBe(replies.length);
  });

  it('parses the pattern subset and rejects bad specs with a reason', () => {
    expect(parseRewriteSpec('pattern - 1024-2048 10.0.0.1 80 0 1')).toMatchObject({ kind: 'pattern', saddr: null, sportLo: 1024, sportHi: 2048, dport: 80 });
    expect(parseRewriteSpec('pass 1')).toEqual({ kind: 'pass', output: 1 });
    expect(parseRewriteSpec('drop')).toEqual({ kind: 'drop' });
    expect(parseRewriteSpec('pattern 1.2.3.400 - - - 0 1')).toMatch(/SADDR/);
    expect(parseRewriteSpec('pattern - 9-3 - - 0 1')).toMatch(/SPORT/);
    expect(parseRewriteSpec('rewrite')).toMatch(/expected/);
  });

  it('counts packets it cannot map: ports exhausted', () => {
    const env = testEnv();
    const fm = make(FlowIPManager, [], 1, env);
    const nat = make(IPRewriter, ['pattern 192.0.2.1 5000-5001 - - 0 1'], 2, env);
    fm.initialize();
    const pkts = capturePackets('pcapplusplus/example.pcap').filter((p) => tupleOf(p.bytes) !== null);
    let id = 0;
    for (const p of pkts.slice(0, 3000)) nat.process(fm.processInline(one(p, id++))[0]!);
    expect(Number(nat.handlers().mappings.read!())).toBeLessThanOrEqual(2 * 50);
    expect(Number(nat.handlers().drops_no_ports.read!())).toBeGreaterThan(0);
  });
});
