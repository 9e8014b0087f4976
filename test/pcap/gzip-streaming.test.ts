/**
 * gzip captures are inflated as a stream: every packet of a good file, every packet before the
 * damage of a bad one (a cut, a flipped byte, a bad CRC, trailing garbage) with the damage
 * counted as a bad record naming the compressed offset, as many packets as tshark recovers,
 * and memory that does not grow with the inflated size.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { flatten, md5, PCAP_DIR, readBatches, tempDir, tsharkFrames, tsharkOrFail } from './pcap-test-support.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Digests of every packet, read with small windows so records cross window ends. */
function digests(reader: PcapReader): string[] {
  const out = flatten(readBatches(reader, 37)).map((p) => md5(p.bytes));
  reader.close();
  return out;
}

const cases = ['tcpdump/dns_tcp.pcap', 'pcapplusplus/pcapng-example.pcapng', 'pcapplusplus/example.pcap'];

describe('gzip captures', () => {
  for (const rel of cases) {
    const plain = new Uint8Array(fs.readFileSync(path.join(PCAP_DIR, rel)));
    const ref = digests(PcapReader.fromBytes(plain, rel));
    const gz = new Uint8Array(zlib.gzipSync(plain));
    const base = path.basename(rel);

    it(`reads ${rel} gzipped exactly as the plain file (from a file and from bytes, small windows)`, () => {
      const file = write(`${base}.gz`, gz);
      const r = PcapReader.open(file, { chunkBytes: 4096 });
      expect(digests(r)).toEqual(ref);
      expect(r.badRecordCount).toBe(0);
      expect(digests(PcapReader.fromBytes(gz, `${base}.gz`, { chunkBytes: 5000 }))).toEqual(ref);
      // Two passes read the same packets (REPEAT rewinds the stream).
      const again = PcapReader.open(file);
      const first = digests(again);
      const rr = PcapReader.open(file);
      readBatches(rr);
      rr.rewind();
      expect(digests(rr)).toEqual(first);
    });

    it(`keeps every packet of ${rel} when the gzip CRC is wrong or garbage follows, and counts the damage`, async () => {
      const badCrc = gz.slice();
      badCrc[badCrc.length - 8] ^= 0x55;
      const garbage = new Uint8Array([...gz, ...new TextEncoder().encode('trailing garbage, not gzip')]);
      for (const [what, bytes, reason] of [
        ['crc', badCrc, /^corrupt gzip data at compressed byte \d+ \(after \d+ bytes inflated\): incorrect data check/],
        ['garbage', garbage, /^corrupt gzip data at compressed byte \d+ \(after \d+ bytes inflated\): incorrect header check/],
      ] as const) {
        const file = write(`${base}.${what}.gz`, bytes);
        const r = PcapReader.open(file, { chunkBytes: 4096 });
        expect(digests(r), what).toEqual(ref);
        expect(r.badRecordCount, what).toBe(1);
        expect(r.badRecords[0].reason, what).toMatch(reason);
        expect(r.badRecords[0].index, what).toBe(ref.length);
        if (tsharkOrFail()) expect(ref.length, `${what}: tshark`).toBeGreaterThanOrEqual((await tsharkFrames(file)).length);
      }
    });

    it(`reads ${rel} gzipped and cut or damaged anywhere: a prefix of the packets, as many as tshark, the damage counted`, async () => {
      let seed = rel.length * 7919;
      const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
      for (let round = 0; round < 8; round++) {
        const cut = round % 2 === 0;
        const bytes = gz.slice(0, cut ? 20 + Math.floor(rand() * (gz.length - 20)) : gz.length);
        if (!cut) bytes[20 + Math.floor(rand() * (gz.length - 28))] ^= 1 + Math.floor(rand() * 255);
        const file = write(`${base}.${round}.gz`, bytes);
        let got: string[];
        let r: PcapReader;
        try {
          r = PcapReader.open(file, { chunkBytes: 4096 });
          got = digests(r);
        } catch (e) {
          // Damage inside the capture's own header: an error naming the file and the gzip damage.
          expect((e as Error).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*gzip`));
          continue;
        }
        // A flip may leave the stream valid (the CRC then catches it) or decode to other bytes:
        // what matters is that nothing is thrown, ids count on, and damage is counted.
        if (cut) {
          expect(ref.slice(0, got.length), `round ${round}`).toEqual(got);
          expect(r.badRecordCount, `round ${round}`).toBeGreaterThanOrEqual(1);
          expect(r.badRecords.some((b) => /gzip data cut short at compressed byte/.test(b.reason))).toBe(true);
          if (tsharkOrFail()) expect(got.length, `round ${round}: tshark`).toBeGreaterThanOrEqual((await tsharkFrames(file)).length);
        } else {
          expect(r.badRecordCount + got.length, `round ${round}`).toBeGreaterThan(0);
        }
        expect(r.nextId).toBe(got.length);
      }
    });
  }

  it('reads a capture inflating to 400 MB in bounded memory', async () => {
    // 1,500-byte zero packets compress ~1000:1: the file is ~0.4 MB, the capture 400 MB.
    const perChunk = 1000;
    const chunks = 264;
    const rec = 16 + 1500;
    const chunk = new Uint8Array(perChunk * rec);
    const v = new DataView(chunk.buffer);
    for (let i = 0; i < perChunk; i++) {
      v.setUint32(i * rec + 8, 1500, true);
      v.setUint32(i * rec + 12, 1500, true);
    }
    const header = new Uint8Array(24);
    const hv = new DataView(header.buffer);
    hv.setUint32(0, 0xa1b2c3d4, true);
    hv.setUint16(4, 2, true);
    hv.setUint16(6, 4, true);
    hv.setUint32(16, 65535, true);
    hv.setUint32(20, 1, true);
    const file = path.join(dir, 'huge.pcap.gz');
    await pipeline(
      Readable.from((function* () {
        yield header;
        for (let c = 0; c < chunks; c++) yield chunk;
      })()),
      zlib.createGzip({ level: 1 }),
      fs.createWriteStream(file),
    );
    const inflated = 24 + chunks * chunk.length;
    expect(fs.statSync(file).size * 100).toBeLessThan(inflated);
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakBuffers = before.arrayBuffers;
    const r = PcapReader.open(file);
    let packets = 0;
    let seq = 0;
    for (let b = r.nextBatch(seq, 1024); b !== null; b = r.nextBatch(++seq, 1024)) {
      packets += b.count;
      // As the scheduler does: batches that have left the graph free their windows.
      r.release(seq);
      if (seq % 64 === 0) {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
      }
    }
    r.close();
    expect(packets).toBe(perChunk * chunks);
    expect(r.badRecordCount).toBe(0);
    // Inflating whole held the 400 MB (and a copy); streaming holds a few 4 MiB windows.
    expect(peakBuffers - before.arrayBuffers).toBeLessThan(64 << 20);
    expect(peakRss - before.rss).toBeLessThan(160 << 20);
  }, 120_000);
});
