/**
 * PcapWriter: what it writes, tshark reads back identically (count, lengths, bytes,
 * timestamps), for the shared captures and for packets whose window an element moved.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { PcapWriter } from '../../core/pcap/pcap-writer.js';
import { LINKTYPE_LINUX_SLL, LINKTYPE_RAW } from '../../core/pcap/link-types.js';
import { DEFAULT_HEADROOM, PacketBatch } from '../../core/packet-batch.js';
import { fakeBytes } from './capture-builder.js';
import { epochString, flatten, mapLimited, md5, PCAP_DIR, readBatches, tempDir, tsharkFrames, tsharkOrFail } from './pcap-test-support.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Copy a capture through PcapReader and PcapWriter; returns the output path. */
function copyCapture(src: string, out: string, nano: boolean, batchSize = 100): string {
  const reader = PcapReader.open(src);
  const writer = PcapWriter.open(out, { nano, bufferBytes: 64 * 1024 });
  for (const b of readBatches(reader, batchSize)) expect(writer.writeBatch(b)).toBe(true);
  writer.close();
  reader.close();
  return out;
}

const classicSources = ['pcapplusplus/example.pcap', 'pcapplusplus/raw_ip.pcap', 'pcapplusplus/VlanPackets.pcap', 'tcpdump/tcp-handshake-nano.pcap', 'peafowl/truncated_tcp.pcap', 'community-id/pcaps/combined.pcap.gz'];

describe('PcapWriter round trips read back by tshark', () => {
  it('writes the shared captures so tshark sees the same packets, bytes and times', async () => {
    if (!tsharkOrFail()) return;
    const jobs = classicSources.map((rel) => {
      const src = path.join(PCAP_DIR, rel);
      const nano = rel.includes('nano');
      return { rel, src, out: copyCapture(src, path.join(dir, rel.replace(/[/.]/g, '_') + '.pcap'), nano) };
    });
    const views = await mapLimited(jobs, 2, async (j) => ({ before: await tsharkFrames(j.src), after: await tsharkFrames(j.out) }));
    jobs.forEach((j, k) => {
      const { before, after } = views[k];
      expect(after.length, j.rel).toBeGreaterThan(0);
      expect(after, j.rel).toEqual(before);
    });
    expect(PcapReader.open(jobs[3].out).precision).toBe(9);
    expect(PcapReader.open(jobs[1].out).linkType).toBe(LINKTYPE_RAW);
    expect(PcapReader.open(jobs[3].out).linkType).toBe(LINKTYPE_LINUX_SLL);
  });

  it('writes the pcapng example one link type per file, nanoseconds kept', async () => {
    if (!tsharkOrFail()) return;
    const src = path.join(PCAP_DIR, 'pcapplusplus/pcapng-example.pcapng');
    const byType = new Map<number, PcapWriter>();
    const paths = new Map<number, string>();
    for (const b of readBatches(PcapReader.open(src), 256)) {
      let w = byType.get(b.linkType);
      if (w === undefined) {
        paths.set(b.linkType, path.join(dir, `ng-${b.linkType}.pcap`));
        w = PcapWriter.open(paths.get(b.linkType)!, { nano: true });
        byType.set(b.linkType, w);
      }
      w.writeBatch(b);
    }
    for (const w of byType.values()) w.close();
    const original = await tsharkFrames(src);
    const eth = await tsharkFrames(paths.get(1)!);
    const sll = await tsharkFrames(paths.get(113)!);
    expect(eth.length + sll.length).toBe(original.length);
    // Interface 0 (Ethernet) has sane nanosecond times: identical. Interface 1's times are past
    // 2^32 seconds, which classic pcap cannot hold: compare bytes and lengths only.
    expect(eth).toEqual(original.filter((f) => f.encap === 1));
    expect(sll.map((f) => [f.md5, f.len, f.capLen])).toEqual(original.filter((f) => f.encap === 25).map((f) => [f.md5, f.len, f.capLen]));
  });

  it('writes each packet current window: a stripped Ethernet header reads back as raw IP', async () => {
    const src = path.join(PCAP_DIR, 'tcpdump/dns_udp.pcap');
    const batches = readBatches(PcapReader.open(src));
    const original = flatten(batches);
    for (const b of batches) {
      for (let i = 0; i < b.count; i++) {
        b.offset[i] += 14;
        b.length[i] -= 14;
        b.wireLength[i] -= 14;
      }
      b.linkType = LINKTYPE_RAW;
    }
    const out = path.join(dir, 'stripped.pcap');
    const w = PcapWriter.open(out);
    for (const b of batches) w.writeBatch(b);
    w.close();
    const back = flatten(readBatches(PcapReader.open(out)));
    expect(back.map((p) => md5(p.bytes))).toEqual(original.map((p) => md5(p.bytes.subarray(14))));
    expect(back.every((p) => p.linkType === LINKTYPE_RAW)).toBe(true);
    if (tsharkOrFail()) {
      const frames = await tsharkFrames(out);
      expect(frames.map((f) => [f.md5, f.len, f.encap])).toEqual(original.map((p) => [md5(p.bytes.subarray(14)), p.wireLength - 14, 7]));
    }
  });
});

function batchOf(packets: Uint8Array[], linkType = 1, tsSec = 1_700_000_000, tsNsec = 123_456_789): PacketBatch {
  const size = packets.reduce((s, p) => s + p.length + DEFAULT_HEADROOM, 0);
  const b = new PacketBatch({ seq: 0, capacity: packets.length, data: new Uint8Array(size), linkType });
  let o = 0;
  packets.forEach((p, i) => {
    b.base[i] = o;
    b.offset[i] = o + DEFAULT_HEADROOM;
    b.length[i] = p.length;
    b.wireLength[i] = p.length;
    b.data.set(p, o + DEFAULT_HEADROOM);
    b.tsSec[i] = tsSec + i;
    b.tsNsec[i] = tsNsec;
    b.id[i] = i;
    o += p.length + DEFAULT_HEADROOM;
  });
  b.count = packets.length;
  return b;
}

describe('PcapWriter details', () => {
  it('truncates nanoseconds to microseconds by default and keeps them with nano', () => {
    const pk = [fakeBytes(1, 60), fakeBytes(2, 61)];
    for (const nano of [false, true]) {
      const w = PcapWriter.inMemory({ nano });
      w.writeBatch(batchOf(pk));
      const got = flatten(readBatches(PcapReader.fromBytes(w.finish(), 'mem.pcap')));
      expect(got.map((p) => epochString(p.tsSec, p.tsNsec))).toEqual(nano ? ['1700000000.123456789', '1700000001.123456789'] : ['1700000000.123456000', '1700000001.123456000']);
    }
  });

  it('refuses a batch of another link type, writes a header for an empty file, honours snaplen', () => {
    const w = PcapWriter.inMemory({ snaplen: 50 });
    expect(w.writeBatch(batchOf([fakeBytes(3, 80)], LINKTYPE_RAW))).toBe(true);
    expect(w.writeBatch(batchOf([fakeBytes(4, 80)], 1))).toBe(false);
    const reader = PcapReader.fromBytes(w.finish(), 'mem.pcap');
    const got = flatten(readBatches(reader));
    expect(reader.linkType).toBe(LINKTYPE_RAW);
    expect(got.map((p) => [p.bytes.length, p.wireLength])).toEqual([[50, 80]]);
    expect(got[0].bytes).toEqual(fakeBytes(3, 80).subarray(0, 50));
    const empty = PcapWriter.inMemory().finish();
    expect(empty.length).toBe(24);
    expect(PcapReader.fromBytes(empty, 'empty.pcap').linkType).toBe(1);
  });

  it('writes packets larger than its buffer, and the file equals the in-memory bytes', () => {
    const pk = [fakeBytes(5, 100), fakeBytes(6, 200_000), fakeBytes(7, 70_000), fakeBytes(8, 64)];
    const out = path.join(dir, 'big.pcap');
    const w = PcapWriter.open(out, { bufferBytes: 65536 });
    w.writeBatch(batchOf(pk));
    w.close();
    const m = PcapWriter.inMemory({ bufferBytes: 65536 });
    m.writeBatch(batchOf(pk));
    const fileBytes = new Uint8Array(fs.readFileSync(out));
    expect(md5(fileBytes)).toBe(md5(m.finish()));
    const got = flatten(readBatches(PcapReader.open(out)));
    expect(got.map((p) => md5(p.bytes))).toEqual(pk.map(md5));
    expect(() => w.writeBatch(batchOf(pk))).toThrow(/write after close/);
  });

  it('names the file it cannot create', () => {
    expect(() => PcapWriter.open(path.join(dir, 'no/such/dir/x.pcap'))).toThrow(/no\/such\/dir\/x\.pcap: cannot create/);
  });
});
